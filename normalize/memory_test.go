package normalize

import (
	"runtime"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestResizeAllocations checks there is no per-voxel allocation: a volume
// 64× larger costs the same number of allocations (buffers, kernels,
// goroutines), and the bytes allocated beyond the output stay within one
// input-sized float32 buffer when downsampling.
func TestResizeAllocations(t *testing.T) {
	small := benchVolume(8, 16, 16)
	large := benchVolume(32, 64, 64)
	run := func(src *shards.Image) func() {
		return func() {
			im := *src
			if err := Resize(&im, ResizeOptions{Depth: src.Depth / 2, Height: src.Height / 2, Width: src.Width / 3, Mode: Linear}); err != nil {
				t.Fatal(err)
			}
		}
	}
	as, al := testing.AllocsPerRun(5, run(small)), testing.AllocsPerRun(5, run(large))
	if al > as+8 {
		t.Errorf("allocations grow with size: %v for 8×16×16, %v for 32×64×64", as, al)
	}

	// Bytes: the perf shape scaled down by 4 per axis (79×92×75 int16 → 16×64×64).
	src := benchVolume(79, 92, 75)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	im := *src
	if err := Resize(&im, ResizeOptions{Depth: 16, Height: 64, Width: 64, Mode: Linear}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	extra := int64(m1.TotalAlloc-m0.TotalAlloc) - int64(len(im.Voxels))
	if budget := int64(4 * src.NumVoxels()); extra > budget {
		t.Errorf("allocated %d bytes beyond the output, budget (one float32 input) %d", extra, budget)
	}
	// Intensity reads the float32 result in place: output + small tables.
	runtime.ReadMemStats(&m0)
	if err := Intensity(&im, IntensityOptions{}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	if extra := int64(m1.TotalAlloc-m0.TotalAlloc) - int64(len(im.Voxels)); extra > 8<<20+int64(runtime.GOMAXPROCS(0))*(5*256<<10) {
		t.Errorf("intensity allocated %d bytes beyond its output", extra)
	}
}
