package shards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedPart returns the Arrow part of a corpus of five test samples in
// batches of two: the fuzzers' seed.
func seedPart(f *testing.F, layout ParquetLayout) []byte {
	m, err := WriteCorpus(f.TempDir(), "p", "h", SamplesOf(testSamples(5)), WriteOptions{BatchSamples: 2, Parquet: layout})
	if err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(m.ArrowPaths()[0])
	if err != nil {
		f.Fatal(err)
	}
	return seed
}

// FuzzOpenShard feeds mutated shard files to OpenShard: it must return
// an error or a shard whose every sample decodes, never panic or read
// outside the mapping.
func FuzzOpenShard(f *testing.F) {
	seed := seedPart(f, ParquetMetadata)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("ARROW1\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		path := filepath.Join(t.TempDir(), "x.arrow")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sh, err := OpenShard(path)
		if err != nil {
			return
		}
		defer sh.Close()
		// The tree digest walks the voxel runs the file's metadata claims.
		if _, err := mappedDigest(sh, FileStats{Digest: DigestVoxelTree}); err != nil && !strings.Contains(err.Error(), "image value") {
			t.Fatalf("digest: %v", err)
		}
		for i := 0; i < sh.Len(); i++ {
			s, err := sh.Sample(i)
			if err != nil {
				continue
			}
			for _, im := range s.Images {
				if !inside(im.Voxels, sh.Mapping()) {
					t.Fatalf("sample %d: voxels outside the mapping", i)
				}
			}
		}
	})
}

// FuzzParseManifest feeds mutated manifests to the parser that reads one
// from a bucket (ReadManifestFS) or a folder: it must return an error or
// a manifest whose every shard and file name stays inside its folder,
// never panic.
func FuzzParseManifest(f *testing.F) {
	dir := f.TempDir()
	if _, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(3)), WriteOptions{MaxSamples: 2}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"schema_version":3,"shards":[{"name":"../x","parts":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data, "c/manifest.json")
		if err != nil {
			return
		}
		for _, s := range m.Shards {
			for _, name := range append([]string{StatsFile(s.Name)}, fileNames(&s)...) {
				if p := m.Path(name); filepath.Dir(p) != "c" {
					t.Fatalf("name %q of shard %q lands at %q, outside the manifest's folder", name, s.Name, p)
				}
			}
		}
	})
}

func fileNames(s *ShardStats) []string {
	var out []string
	for _, p := range s.Parts {
		for _, f := range p.Files() {
			out = append(out, f.File)
		}
	}
	return out
}

// FuzzReadShardStats feeds mutated stats files to the reader that a rerun
// or a merge uses on a bucket's objects (ReadShardStatsFS): it must
// return an error or stats whose file names stay inside the folder, never
// panic.
func FuzzReadShardStats(f *testing.F) {
	dir := f.TempDir()
	if _, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(2)), WriteOptions{}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, StatsFile("shard-00000")))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"name":"shard-00000","schema_version":3,"parquet":"metadata","parts":[{"arrow":{"file":"../x"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, StatsFile("shard-00000")), data, 0o644); err != nil {
			t.Fatal(err)
		}
		st, done, err := ReadShardStats(d, "shard-00000")
		if err != nil || !done {
			return
		}
		for _, name := range fileNames(st) {
			if p := filepath.Join(d, name); filepath.Dir(p) != d {
				t.Fatalf("file %q lands at %q, outside the folder", name, p)
			}
		}
	})
}

// FuzzPartIDs feeds mutated Arrow parts to PartIDs, which reads the parts
// of a corpus in a bucket by ranges to find a sample: it must return an
// error or ids, never panic, read outside the part or allocate more than
// its limits allow.
func FuzzPartIDs(f *testing.F) {
	seed := seedPart(f, ParquetNone)
	f.Add(seed)
	f.Add(seed[len(seed)/2:])
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &boundedReaderAt{t: t, data: data}
		PartIDs(r, int64(len(data)), func(string) bool { return true })
	})
}

// boundedReaderAt fails the test on a read outside data.
type boundedReaderAt struct {
	t    *testing.T
	data []byte
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(b.data)) {
		b.t.Fatalf("read of %d bytes at %d in a part of %d", len(p), off, len(b.data))
	}
	return copy(p, b.data[off:]), nil
}
