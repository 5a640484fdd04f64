package shards

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// corpus2D writes n 2D samples of one h×w uint8 image each.
func corpus2D(t testing.TB, dir string, n, h, w int) *Manifest {
	t.Helper()
	ss := make([]Sample, n)
	for i := range ss {
		ss[i] = testSample(i, 1, 1, h, w, Uint8)
	}
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: n / 4, BatchSamples: 64})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoaderSteadyStateAllocs checks that serving a batch allocates
// nothing once the loader is warm: Batches, their slices and gather
// buffers, and the pipeline's group slices are recycled, and strings are
// views. The window stays inside one epoch (a new epoch's plan is built
// once per epoch, not per batch).
func TestLoaderSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items on purpose)")
	}
	m := corpus2D(t, t.TempDir(), 3200, 8, 8) // 800 batches of 4
	for _, tc := range []struct {
		shuffle  bool
		workers  int
		prefetch int
	}{{true, 1, 2}, {true, 2, 8}, {false, 1, 4}, {true, 1, 64}} {
		t.Run(fmt.Sprintf("shuffle=%v/workers=%d/prefetch=%d", tc.shuffle, tc.workers, tc.prefetch), func(t *testing.T) {
			l, err := NewLoader([]*Manifest{m}, LoaderConfig{Seed: 3, Shuffle: tc.shuffle, Workers: tc.workers, Prefetch: tc.prefetch}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			next := func() {
				b, err := l.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				b.Release()
			}
			// Fill the free lists. The producer may run up to Prefetch
			// batches ahead, and on a loaded machine it only gets there
			// when the consumer pauses: pause, so the loader reaches its
			// full working set before allocations are counted.
			for round := 0; round < 3; round++ {
				for i := 0; i < 100; i++ {
					next()
				}
				time.Sleep(20 * time.Millisecond)
			}
			if got := testing.AllocsPerRun(200, next); got != 0 {
				t.Errorf("%v allocations per batch in steady state, want 0", got)
			}
		})
	}
}

// BenchmarkLoaderShuffled2D serves shuffled 2D batches of 4 (gathers) of
// 64×64 (per-sample overhead) and 512×512 (RadFM size, bandwidth) uint8
// images, beside a memcpy of the same images in the same order.
func BenchmarkLoaderShuffled2D(b *testing.B) {
	for _, side := range []int{64, 512} {
		n := 4000
		if side == 512 {
			n = 800
		}
		m := corpus2D(b, benchDir(b), n, side, side)
		l, err := NewLoader([]*Manifest{m}, LoaderConfig{Seed: 1, Shuffle: true, Workers: 1, Prefetch: 8}, nil)
		if err != nil {
			b.Fatal(err)
		}
		var views [][]byte
		for _, p := range l.planOf(0).batches {
			for _, r := range p {
				v, _ := l.parts[r.part].shard.Image(int(r.row), 0)
				views = append(views, v.Voxels)
			}
		}
		img := side * side
		b.Run(fmt.Sprintf("loader/%dx%d", side, side), func(b *testing.B) {
			b.SetBytes(int64(4 * img))
			b.ReportAllocs()
			for b.Loop() {
				bt, err := l.Next(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				bt.Release()
			}
			b.ReportMetric(4*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
		b.Run(fmt.Sprintf("memcpy/%dx%d", side, side), func(b *testing.B) {
			b.SetBytes(int64(4 * img))
			dst := make([]byte, 4*img)
			i := 0
			for b.Loop() {
				for k := 0; k < 4; k++ {
					copy(dst[k*img:], views[(4*i+k)%len(views)])
				}
				i++
			}
		})
		l.Close()
	}
}
