package shards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpenShard feeds mutated shard files to OpenShard: it must return
// an error or a shard whose every sample decodes, never panic or read
// outside the mapping.
func FuzzOpenShard(f *testing.F) {
	dir := f.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(5)), WriteOptions{BatchSamples: 2})
	if err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(m.ArrowPaths()[0])
	if err != nil {
		f.Fatal(err)
	}
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
