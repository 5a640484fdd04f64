package shards

import (
	"runtime"
	"testing"
	"unsafe"
)

// inside reports whether b lies entirely inside m.
func inside(b, m []byte) bool {
	if len(b) == 0 {
		return true
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(m))
}

// TestZeroCopyRead opens a shard of large volumes, touches every voxel
// byte, and checks that the Go heap barely grows and that every voxel
// slice points into the mapping.
func TestZeroCopyRead(t *testing.T) {
	const n = 12 // 12 × 4 MiB = 48 MiB of voxels
	dir := t.TempDir()
	ss := make([]Sample, n)
	for i := range ss {
		ss[i] = testSample(i, 1, 16, 256, 256, Float32)
	}
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ss = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	sh, err := OpenShard(m.ArrowPaths()[0])
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	touched := 0
	for i := 0; i < sh.Len(); i++ {
		s, err := sh.Sample(i)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range s.Images {
			if !inside(im.Voxels, sh.Mapping()) {
				t.Fatalf("sample %d: voxels are not a view of the mapping", i)
			}
			for _, b := range im.Voxels {
				sum += uint64(b)
			}
			touched += len(im.Voxels)
		}
	}
	runtime.ReadMemStats(&after)
	sh.Close()
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("touched %d MiB of voxels (sum %d); Go heap allocated %d bytes", touched>>20, sum, grew)
	if touched != n*16*256*256*4 {
		t.Fatalf("touched %d bytes", touched)
	}
	if grew >= 1<<20 {
		t.Fatalf("reading allocated %d bytes of Go heap, want < 1 MiB", grew)
	}
}

func TestImageViewAllocs(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(8)), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sh, err := OpenShard(m.ArrowPaths()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < sh.Len(); i++ {
			k, _ := sh.NumImages(i)
			for j := 0; j < k; j++ {
				v, err := sh.Image(i, j)
				if err != nil || !inside(v.Voxels, sh.Mapping()) {
					t.Fatal("bad view", err)
				}
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("Image views allocate %v times per pass", allocs)
	}
}
