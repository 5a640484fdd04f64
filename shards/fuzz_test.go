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
