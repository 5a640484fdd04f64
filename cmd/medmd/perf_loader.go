package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/medmd/medmd/internal/perf"
	"github.com/medmd/medmd/shards"
)

func init() {
	perf.Register("loader", "training loader: 3D/2D bytes/s vs memcpy, time to first batch on 10 shards, batch latency shuffled vs sequential", perfLoader)
}

// loaderCorpus writes n samples of one image c×d×h×w uint8/int16 each,
// spread over nShards shards, into dir.
func perfLoaderCorpus(dir string, n, nShards, d, h, w int, dt shards.DType) (*shards.Manifest, error) {
	ss := make([]shards.Sample, n)
	for i := range ss {
		im := shards.Image{DType: dt, Channels: 1, Depth: d, Height: h, Width: w, Affine: shards.IdentityAffine()}
		im.Voxels = make([]byte, im.NumVoxels()*dt.Size())
		for j := 0; j < len(im.Voxels); j += 512 {
			im.Voxels[j] = byte(i ^ j>>9)
		}
		ss[i] = shards.Sample{ID: shards.MakeID("perf", fmt.Sprint(i)), Source: "perf", Task: shards.TaskCaption,
			Instruction: "Describe the image.", Response: "Synthetic.", Images: []shards.Image{im},
			Placements: []shards.Placement{{Image: 0, Field: shards.FieldInstruction}}}
	}
	per := (n + nShards - 1) / nShards
	return shards.WriteCorpus(dir, "perf", "perf", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: per})
}

// epochRunner serves whole epochs from one long-lived loader, as a
// trainer would: the lazy checksum of each part is paid once, in the
// warm-up epoch, not in the timed ones.
type epochRunner struct{ l *shards.Loader }

func newEpochRunner(m *shards.Manifest, cfg shards.LoaderConfig) (*epochRunner, error) {
	cfg.Epochs = 0
	l, err := shards.NewLoader([]*shards.Manifest{m}, cfg, nil)
	return &epochRunner{l}, err
}

// epoch serves one epoch and returns delivered voxel bytes, samples, wall
// time and per-batch latencies.
func (e *epochRunner) epoch(ctx context.Context) (int64, int, time.Duration, []time.Duration, error) {
	n := e.l.Len()
	var bytes int64
	samples := 0
	lat := make([]time.Duration, 0, n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		t := time.Now()
		b, err := e.l.Next(ctx)
		if err != nil {
			return 0, 0, 0, nil, err
		}
		lat = append(lat, time.Since(t))
		bytes += int64(len(b.Voxels))
		samples += len(b.IDs)
		b.Release()
	}
	return bytes, samples, time.Since(t0), lat, nil
}

func epochStats(ctx context.Context, m *shards.Manifest, cfg shards.LoaderConfig, epochs int) (int64, int, time.Duration, []time.Duration, error) {
	e, err := newEpochRunner(m, cfg)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer e.l.Close()
	if _, _, _, _, err := e.epoch(ctx); err != nil { // warm-up: page cache, checksums
		return 0, 0, 0, nil, err
	}
	var bytes int64
	var samples int
	var wall time.Duration
	var lat []time.Duration
	for i := 0; i < epochs; i++ {
		b, n, t, l, err := e.epoch(ctx)
		if err != nil {
			return 0, 0, 0, nil, err
		}
		bytes, samples, wall, lat = bytes+b, samples+n, wall+t, append(lat, l...)
	}
	return bytes, samples, wall, lat, nil
}

// memcpyRate copies every image of m once into a reused buffer of
// batchImages images and returns bytes/s: the baseline.
func memcpyRate(m *shards.Manifest, batchImages int) (float64, error) {
	return memcpyRateOrder(m, batchImages, false)
}

// memcpyRateOrder is memcpyRate, with the images visited in a random
// order when shuffled (as a shuffled loader visits them).
func memcpyRateOrder(m *shards.Manifest, batchImages int, shuffled bool) (float64, error) {
	var views [][]byte
	var open []*shards.Shard
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	for _, p := range m.ArrowPaths() {
		sh, err := shards.OpenShard(p)
		if err != nil {
			return 0, err
		}
		open = append(open, sh)
		for i := 0; i < sh.Len(); i++ {
			v, err := sh.Image(i, 0)
			if err != nil {
				return 0, err
			}
			views = append(views, v.Voxels)
		}
	}
	if shuffled {
		r := rand.New(rand.NewPCG(1, 2))
		r.Shuffle(len(views), func(i, j int) { views[i], views[j] = views[j], views[i] })
	}
	dst := make([]byte, batchImages*len(views[0]))
	var total int64
	var t time.Time
	// Pass 0 faults the fresh mapping in (the loader's mapping is warm
	// too); pass 1 is timed.
	for pass := 0; pass < 2; pass++ {
		total, t = 0, time.Now()
		for i, v := range views {
			k := i % batchImages
			copy(dst[k*len(v):], v)
			total += int64(len(v))
		}
	}
	return float64(total) / time.Since(t).Seconds(), nil
}

func pct(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1000
}

func perfLoader(ctx context.Context, o perf.Options) ([]perf.Result, error) {
	scratch := o.TempDir
	if d, err := os.MkdirTemp("/dev/shm", "medmd-perf-loader-"); err == nil {
		scratch = d
		defer os.RemoveAll(d)
	}
	reps := max(o.Repeats, 1)
	n3, d3 := 24, 64 // 24 × 64×256×256 int16 = 192 MiB
	n2 := 20000      // 64×64 uint8
	if o.Quick {
		n3, d3, n2, reps = 8, 8, 2000, min(reps, 2)
	}
	var out []perf.Result

	// 3D: batches of 2 volumes, shuffled, so every batch is a gather.
	m3, err := perfLoaderCorpus(filepath.Join(scratch, "3d"), n3, 4, d3, 256, 256, shards.Int16)
	if err != nil {
		return nil, err
	}
	cfg3 := shards.LoaderConfig{Seed: 1, Shuffle: true, BatchSize3D: 2, Prefetch: 4, Workers: 1}
	var ours, base []float64
	run3, err := newEpochRunner(m3, cfg3)
	if err != nil {
		return nil, err
	}
	defer run3.l.Close()
	if _, _, _, _, err := run3.epoch(ctx); err != nil {
		return nil, err
	}
	for r := 0; r < reps; r++ {
		b, _, t, _, err := run3.epoch(ctx)
		if err != nil {
			return nil, err
		}
		ours = append(ours, float64(b)/t.Seconds()/1e9)
		mc, err := memcpyRate(m3, 2)
		if err != nil {
			return nil, err
		}
		base = append(base, mc/1e9)
	}
	viewCfg := cfg3
	viewCfg.BatchSize3D = 1
	vb, _, vt, _, err := epochStats(ctx, m3, viewCfg, 1)
	if err != nil {
		return nil, err
	}
	r3 := perf.Result{Name: "loader.3d_gather", Unit: "GB/s", Value: median(ours), BaselineName: "memcpy of the same volumes",
		BaselineValue: median(base), Goal: 0.8, Extra: map[string]float64{"batch1_view_GBps": float64(vb) / vt.Seconds() / 1e9}}
	r3.Finish(true)
	out = append(out, r3)

	// 2D: 64×64 uint8 images, batches of 4 (RadFM's). The goal is
	// measured shuffled (every batch a gather); sequential order, where
	// adjacent images are served as views, is reported beside it.
	m2, err := perfLoaderCorpus(filepath.Join(scratch, "2d"), n2, 10, 1, 64, 64, shards.Uint8)
	if err != nil {
		return nil, err
	}
	cfg2 := shards.LoaderConfig{Seed: 1, Shuffle: true, Prefetch: 64, Workers: 1}
	seq := cfg2
	seq.Shuffle = false
	ours, base = ours[:0], base[:0]
	var sps, baseRand []float64
	var latShuf []time.Duration
	run2, err := newEpochRunner(m2, cfg2)
	if err != nil {
		return nil, err
	}
	defer run2.l.Close()
	if _, _, _, _, err := run2.epoch(ctx); err != nil {
		return nil, err
	}
	for r := 0; r < reps; r++ {
		b, n, t, lat, err := run2.epoch(ctx)
		if err != nil {
			return nil, err
		}
		latShuf = append(latShuf, lat...)
		ours = append(ours, float64(b)/t.Seconds()/1e9)
		sps = append(sps, float64(n)/t.Seconds())
		mc, err := memcpyRate(m2, 4)
		if err != nil {
			return nil, err
		}
		base = append(base, mc/1e9)
		mr, err := memcpyRateOrder(m2, 4, true)
		if err != nil {
			return nil, err
		}
		baseRand = append(baseRand, mr/1e9)
	}
	seqBytes, _, seqTime, latSeq, err := epochStats(ctx, m2, seq, reps)
	if err != nil {
		return nil, err
	}
	r2 := perf.Result{Name: "loader.2d_small", Unit: "GB/s", Value: median(ours), BaselineName: "memcpy of the same images",
		BaselineValue: median(base), Goal: 0.5, Extra: map[string]float64{"samples_per_s": median(sps),
			// Sequential order serves adjacent images as views (no copy).
			"sequential_GBps": float64(seqBytes) / seqTime.Seconds() / 1e9,
			// memcpy visiting the images in random order, as a shuffled
			// epoch does: the cost of random page access itself.
			"memcpy_random_order_GBps": median(baseRand)}}
	r2.Finish(true)
	out = append(out, r2)

	lat := perf.Result{Name: "loader.batch_latency_p50", Unit: "us", Value: pct(latShuf, 0.5),
		BaselineName: "sequential order p50", BaselineValue: pct(latSeq, 0.5),
		Extra: map[string]float64{"shuffled_p99_us": pct(latShuf, 0.99), "sequential_p99_us": pct(latSeq, 0.99)}}
	lat.Finish(false)
	out = append(out, lat)

	// Time to first batch on the 10-shard 2D manifest, page cache warm:
	// open + map 10 shards, scan, plan, lazy checksum of the first part,
	// first batch.
	var ttfb []float64
	for r := 0; r < max(reps, 3); r++ {
		t := time.Now()
		l, err := shards.NewLoader([]*shards.Manifest{m2}, cfg2, nil)
		if err != nil {
			return nil, err
		}
		b, err := l.Next(ctx)
		if err != nil {
			l.Close()
			return nil, err
		}
		ttfb = append(ttfb, float64(time.Since(t).Microseconds())/1000)
		b.Release()
		l.Close()
	}
	tf := perf.Result{Name: "loader.time_to_first_batch", Unit: "ms", Value: median(ttfb),
		BaselineName: "50 ms budget", BaselineValue: 50, Goal: 1, Extra: map[string]float64{"shards": 10, "samples": float64(n2)}}
	tf.Finish(false)
	out = append(out, tf)
	return out, nil
}
