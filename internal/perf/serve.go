package perf

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/serve"
	"github.com/medmd/medmd/shards"
)

// serveGroup measures `medmd serve` on a synthetic corpus of 1,000,000
// samples (20,000 with Quick) against the budgets the browser is built
// to: the index builds at ≥ 50,000 samples/s, a filtered list page is
// served in < 300 ms, a slice PNG of a 256×256×64 volume in < 50 ms.
// These are budgets, not a second program doing the same work: no other
// tool indexes this format. The sample page (whose near-duplicate links
// scan every image hash of the index) is held to the list page's budget.
// The index row carries the memory it took: the Go heap it keeps, the
// peak the runtime held while building it, and its file's size. Every row
// carries the CPU time beside the wall time (Extra), because on a shared
// machine the wall time is mostly the wait for a core.
func serveGroup(ctx context.Context, o Options) ([]Result, error) {
	n, reps := 1_000_000, max(o.Repeats, 3)
	if o.Quick {
		n, reps = 20_000, 2
	}
	dir := filepath.Join(o.TempDir, "serve", "synth")
	if err := writeServeCorpus(dir, n); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	manifest := filepath.Join(dir, shards.ManifestFile)
	m, err := shards.ReadManifest(manifest)
	if err != nil {
		return nil, err
	}
	key := strconv.Itoa(n) + "_samples"

	// The build runs on several goroutines: its CPU time is the process'.
	build, buildCPU, err := medianWallCPU(reps, selfCPU, func() error {
		_, err := serve.BuildIndex(ctx, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Memory of a first start (index built and saved, ids mapped), then
	// what the server keeps once the build's garbage is collected.
	runtime.GC()
	before := heapBytes()
	var s *serve.Server
	peak, err := peakGoMemory(func() error {
		var err error
		s, err = serve.New(ctx, []string{manifest}, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		return err
	})
	if err != nil {
		return nil, err
	}
	runtime.GC()
	kept := heapBytes() - before
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, serve.IndexFile))
	if err != nil {
		return nil, err
	}
	reopen, err := MedianTime(reps, func() error {
		s, err := serve.New(ctx, []string{manifest}, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return err
		}
		return s.Close()
	})
	if err != nil {
		return nil, err
	}
	const mb = 1 << 20
	idx := Result{Name: "serve/index_build/" + key, Unit: "samples/s", Value: float64(n) / build,
		BaselineName: "50,000 samples/s budget", BaselineValue: 50_000, Goal: 1,
		Extra: map[string]float64{"index_heap_mb": float64(kept) / mb, "peak_go_memory_mb": float64(peak) / mb,
			"index_file_mb": float64(fi.Size()) / mb, "reopen_saved_index_s": reopen,
			"cpu_s": buildCPU, "samples_per_cpu_s": float64(n) / buildCPU}}
	idx.Finish(true)

	s, err = serve.New(ctx, []string{manifest}, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	get := func(target string) error {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("GET %s: %d %.200s", target, rec.Code, rec.Body.String())
		}
		return nil
	}
	// A request is served on the calling goroutine: its CPU time is the
	// thread's, which a shared machine's load does not inflate.
	page := func(name, target string) (Result, error) {
		t, cpu, err := medianWallCPU(reps, threadCPU, func() error { return get(target) })
		r := Result{Name: "serve/" + name + "/" + key, Unit: "ms", Value: t * 1000,
			BaselineName: "300 ms budget", BaselineValue: 300, Goal: 1, Extra: map[string]float64{"cpu_ms": cpu * 1000}}
		r.Finish(false)
		return r, err
	}
	out := []Result{idx}
	for _, p := range []struct{ name, target string }{
		// A third of the corpus matches: every row of the source is
		// scanned for the phrase, and the total counts all of them.
		{"list_page_filtered", "/samples?q=opacity+in+the+left&source=dicom&page=3"},
		// One sample matches: every text of the corpus is scanned.
		{"list_page_rare_text", "/samples?q=" + serveSampleID(n/2)},
		{"sample_page_near_duplicates", "/samples/" + serveSampleID(n/2)},
	} {
		r, err := page(p.name, p.target)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	// Distinct slices and windows, so that the PNG cache never answers.
	windows := []string{"soft", "lung", "mediastinum", "bone", "brain", "liver"}
	i := 0
	png, pngCPU, err := medianWallCPU(max(reps, 20), threadCPU, func() error {
		i++
		return get(fmt.Sprintf("/samples/%s/images/0.png?axis=z&slice=%d&window=%s", serveSampleID(0), i%64, windows[(i/64)%len(windows)]))
	})
	if err != nil {
		return nil, err
	}
	r := Result{Name: "serve/slice_png/256x256x64_int16", Unit: "ms", Value: png * 1000,
		BaselineName: "50 ms budget", BaselineValue: 50, Goal: 1, Extra: map[string]float64{"cpu_ms": pngCPU * 1000}}
	r.Finish(false)
	return append(out, r), ctx.Err()
}

func serveSampleID(i int) string { return fmt.Sprintf("synth-%08d", i) }

// writeServeCorpus writes n samples: ~180 bytes of text each, one 8×8
// image sharing a single voxel buffer (the index reads headers and one
// slice, so image size barely matters to it), sample 0 with a 256×256×64
// int16 CT-like volume instead. Parquet is skipped: serve reads the Arrow
// parts.
func writeServeCorpus(dir string, n int) error {
	tiny := shards.Image{Modality: "CR", DType: shards.Uint8, Channels: 1, Depth: 1, Height: 8, Width: 8,
		Voxels: make([]byte, 64), Affine: shards.IdentityAffine()}
	for i := range tiny.Voxels {
		tiny.Voxels[i] = byte(i * 4)
	}
	const w, h, d = 256, 256, 64
	vol := shards.Image{Modality: "CT", DType: shards.Int16, Channels: 1, Depth: d, Height: h, Width: w,
		Voxels: make([]byte, 2*w*h*d), Spacing: [3]float64{0.8, 0.8, 2.5}, Affine: shards.IdentityAffine()}
	for k := range d {
		for y := range h {
			for x := range w {
				v := -1000
				if dx, dy, dz := x-w/2, y-h/2, (k-d/2)*4; dx*dx+dy*dy+dz*dz < w*w/9 {
					v = 40 + 10*(x%7)
				}
				binary.LittleEndian.PutUint16(vol.Voxels[2*((k*h+y)*w+x):], uint16(int16(v)))
			}
		}
	}
	sources := []string{"pmc-oa", "dicom", "vqa-rad"}
	tasks := []string{"caption", "report", "vqa"}
	seq := func(yield func(*shards.Sample) bool) {
		for i := range n {
			s := shards.Sample{ID: serveSampleID(i), Source: sources[i%3], Task: tasks[i%3], Group: strconv.Itoa(i / 4),
				License: "CC-BY-4.0", Instruction: "Describe the image.",
				Response: fmt.Sprintf("Finding %d: a small opacity in the left lower lobe, no effusion, heart size normal, %s of the synthetic corpus.", i%97, serveSampleID(i)),
				Images:   []shards.Image{tiny}}
			if i == 0 {
				s.Images = []shards.Image{vol}
			}
			if !yield(&s) {
				return
			}
		}
	}
	_, err := shards.WriteCorpus(dir, "perf-serve", "0", seq, shards.WriteOptions{Parquet: shards.ParquetNone})
	return err
}

// medianWallCPU runs f once to warm up, then reps times on one locked OS
// thread, and returns the median wall and CPU seconds, CPU as cpu counts
// it. On a shared machine the wall time includes waiting for a core; the
// CPU time is what the work itself took.
func medianWallCPU(reps int, cpu func() time.Duration, f func() error) (float64, float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := f(); err != nil {
		return 0, 0, err
	}
	wall, cpus := make([]float64, max(reps, 1)), make([]float64, max(reps, 1))
	for i := range wall {
		t0, c0 := time.Now(), cpu()
		if err := f(); err != nil {
			return 0, 0, err
		}
		wall[i], cpus[i] = time.Since(t0).Seconds(), (cpu() - c0).Seconds()
	}
	return stats.Median(wall), stats.Median(cpus), nil
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID:
// nanoseconds, where getrusage's per-thread times move in scheduler ticks).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// selfCPU is the process' CPU time, every thread's.
func selfCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// heapBytes is the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// goMemory is the memory the Go runtime holds from the OS (all its
// classes less what it has released): the process' RSS less mappings.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// peakGoMemory runs f while sampling goMemory every 2 ms and returns the
// largest value seen.
func peakGoMemory(f func() error) (uint64, error) {
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, goMemory())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	err := f()
	close(stop)
	wg.Wait()
	return max(peak, goMemory()), err
}
