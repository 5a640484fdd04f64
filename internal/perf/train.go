package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/shards"
	"github.com/medmd/medmd/train"
	"github.com/medmd/medmd/train/tokenizer"
)

// dataPathGeometry is one image geometry of the small preset whose data
// path is measured, with its goal in samples/s on one core.
type dataPathGeometry struct {
	key        string
	d, h, w, n int
	goal       float64
}

// trainGroup measures the training data path on one loader worker —
// loader batch (a view, or the gather copy of a shuffled batch) → the
// host tensor the trainer uploads (train.HostBatch) — for the small
// preset's 2D (1×1×512² uint8) and 3D (1×64×256² uint8) geometry, against
// a memcpy of the images it delivered, in delivery order, into one
// batch-sized buffer in the same run (as the loader group's rows).
// The absolute goals (≥ 2,000 2D and ≥ 250 3D samples/s, the small
// preset's needs) are reported in Extra beside the ratio, whose goal is
// the loader's (0.5 of memcpy).
func trainGroup(ctx context.Context, o Options) ([]Result, error) {
	reps := max(o.Repeats, 1)
	geoms := []dataPathGeometry{
		{"2d_1x1x512x512_uint8", 1, 512, 512, 256, 2000},
		{"3d_1x64x256x256_uint8", 64, 256, 256, 32, 250},
	}
	if o.Quick {
		geoms[0].n, geoms[1].n, reps = 32, 16, min(reps, 2)
	}
	const batch = 8
	var out []Result
	for _, g := range geoms {
		m, err := perfLoaderCorpus(filepath.Join(o.TempDir, "train-"+g.key), g.n, 4, g.d, g.h, g.w, shards.Uint8)
		if err != nil {
			return nil, err
		}
		cfg := shards.LoaderConfig{Seed: 1, Shuffle: true, BatchSize2D: batch, BatchSize3D: batch, Workers: 1, Prefetch: 2}
		var ours, base []float64
		for r := 0; r < reps; r++ {
			rate, mc, err := dataPathRate(ctx, m, cfg)
			if err != nil {
				return nil, err
			}
			ours, base = append(ours, rate), append(base, mc)
		}
		res := Result{Name: "train/datapath/" + g.key, Unit: "samples/s", Value: stats.Median(ours),
			BaselineName: "memcpy of the same bytes in delivery order", BaselineValue: stats.Median(base), Goal: 0.5,
			Extra: map[string]float64{"goal_samples_per_s": g.goal, "meets_samples_goal": boolFloat(stats.Median(ours) >= g.goal),
				"batch": batch, "samples": float64(g.n)}}
		res.Finish(true)
		out = append(out, res)
	}
	st, err := startupResult(ctx, o)
	if err != nil {
		return nil, err
	}
	dw, err := dataWaitResult(ctx, o)
	if err != nil {
		return nil, err
	}
	return append(out, st, dw), nil
}

// dataWaitResult trains the tiny preset on a model-ready corpus (2D
// 1×1×16² uint8, 64 samples, tokenizer given) on the backend `medmd
// train` would use ($GOMLX_BACKEND, else the pure-Go CPU backend) and
// reports the median data_wait_s of metrics.jsonl against 5% of the
// median step_s — how much of a step waits for its batch. Step 1 is left
// out: it compiles the graph.
func dataWaitResult(ctx context.Context, o Options) (Result, error) {
	dir := filepath.Join(o.TempDir, "train-datawait")
	cfg, err := train.Preset("tiny")
	if err != nil {
		return Result{}, err
	}
	cfg.Steps, cfg.LogEvery = 40, 0
	if o.Quick {
		cfg.Steps = 8
	}
	m, err := perfLoaderCorpus(dir, 64, 2, 1, cfg.ImageHeight, cfg.ImageWidth, cfg.ModelInput.DType)
	if err != nil {
		return Result{}, err
	}
	manifest, tokPath, err := writeModelReady(dir, m, cfg)
	if err != nil {
		return Result{}, err
	}
	out := filepath.Join(dir, "run")
	if err := os.RemoveAll(out); err != nil { // a fresh run, not a resume
		return Result{}, err
	}
	if _, err := train.Run(ctx, train.Options{Config: cfg, TrainManifest: manifest, TokenizerPath: tokPath,
		Out: out, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		return Result{}, err
	}
	raw, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		return Result{}, err
	}
	var waits, steps []float64
	dec := json.NewDecoder(bytes.NewReader(raw))
	for dec.More() {
		var mt train.Metric
		if err := dec.Decode(&mt); err != nil {
			return Result{}, fmt.Errorf("metrics.jsonl: %w", err)
		}
		if mt.Step > 1 {
			waits, steps = append(waits, mt.DataWaitSec), append(steps, mt.StepSec)
		}
	}
	if len(steps) == 0 {
		return Result{}, fmt.Errorf("metrics.jsonl: no step after the first")
	}
	wait, step := stats.Median(waits), stats.Median(steps)
	// A wait below the clock's resolution reads 0; Finish would then
	// report no ratio at all rather than a met budget.
	res := Result{Name: "train/data_wait/tiny", Unit: "s", Value: max(wait, 1e-9), BaselineName: "5% of median step_s",
		BaselineValue: 0.05 * step, Goal: 1,
		Extra: map[string]float64{"median_step_s": step, "wait_fraction_of_step": wait / step, "steps": float64(len(steps))}}
	res.Finish(false)
	return res, nil
}

// startupSamples is the corpus size of the time-to-first-step row, quick
// or not: the point is a corpus too large to scan at start-up.
const startupSamples = 100_000

// startupResult measures `medmd train`'s start-up on a model-ready
// 100,000-sample corpus of the tiny preset (2D 1×1×16² uint8, 20
// shards), page cache warm, with a tokenizer given (training one reads
// the corpus's text by design): from the start of the run to the first
// batch ready for the device, before anything compiles. The baseline is
// the 2 s budget, so the ratio is budget/time (goal ≥ 1).
func startupResult(ctx context.Context, o Options) (Result, error) {
	dir := filepath.Join(o.TempDir, "train-startup")
	cfg, err := train.Preset("tiny")
	if err != nil {
		return Result{}, err
	}
	cfg.Steps, cfg.LogEvery = 1, 0
	t0 := time.Now()
	m, err := perfLoaderCorpus(dir, startupSamples, 20, 1, cfg.ImageHeight, cfg.ImageWidth, cfg.ModelInput.DType)
	if err != nil {
		return Result{}, err
	}
	writeS := time.Since(t0).Seconds()
	manifest, tokPath, err := writeModelReady(dir, m, cfg)
	if err != nil {
		return Result{}, err
	}
	var times []float64
	for r := 0; r < max(o.Repeats, 1)+1; r++ { // the first run warms the page cache
		s, err := train.MeasureStartup(ctx, train.Options{Config: cfg, TrainManifest: manifest, TokenizerPath: tokPath,
			Out: filepath.Join(dir, fmt.Sprintf("run-%d", r)), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return Result{}, err
		}
		if r > 0 {
			times = append(times, s)
		}
	}
	// The loader's part of it: opening the 20 mapped parts and indexing
	// each sample's image shape from the metadata columns (no voxel is
	// read) to batch by shape.
	t1 := time.Now()
	l, err := shards.NewLoader([]*shards.Manifest{m}, shards.LoaderConfig{Seed: 1, Shuffle: true}, nil)
	if err != nil {
		return Result{}, err
	}
	indexS := time.Since(t1).Seconds()
	l.Close()
	res := Result{Name: "train/startup/100k", Unit: "s", Value: stats.Median(times), BaselineName: "2 s budget", BaselineValue: 2, Goal: 1,
		Extra: map[string]float64{"samples": startupSamples, "shards": 20, "corpus_write_s": writeS, "loader_index_s": indexS}}
	res.Finish(false)
	return res, nil
}

// dataPathBytes is the least a timed pass of dataPathRate delivers: tens
// of milliseconds of copying, so one preemption is not a tenth of it.
const dataPathBytes = 512 << 20

// dataPathRate serves one warm-up pass (page cache, checksums) and then
// times one pass of batches turned into host tensors, at least an epoch
// and dataPathBytes; it returns samples/s, and the samples/s of a memcpy
// of the very images the timed pass delivered, in delivery order, into
// one batch-sized buffer (memcpyViews: the loader's own copy without the
// loader, from the same mapped pages).
func dataPathRate(ctx context.Context, m *shards.Manifest, cfg shards.LoaderConfig) (ours, memcpy float64, err error) {
	l, err := shards.NewLoader([]*shards.Manifest{m}, cfg, nil)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	nb := l.Len()
	var views [][]byte
	batchBytes := 0
	for pass := 0; pass < 2; pass++ {
		views = views[:0]
		t0 := time.Now()
		var delivered int64
		for i := 0; i < nb; i++ {
			b, err := l.Next(ctx)
			if err != nil {
				return 0, 0, err
			}
			if _, _, err := train.HostBatch(b); err != nil {
				b.Release()
				return 0, 0, fmt.Errorf("batch %d: %w", i, err)
			}
			for _, vs := range b.Views {
				views = append(views, vs...)
			}
			delivered += int64(len(b.Voxels))
			batchBytes = max(batchBytes, len(b.Voxels))
			b.Release()
		}
		ours = float64(len(views)) / time.Since(t0).Seconds()
		if pass == 0 && delivered > 0 { // enough batches for dataPathBytes
			nb = max(nb, int((dataPathBytes+delivered-1)/delivered)*nb)
		}
	}
	mc, err := memcpyViews(views, batchBytes)
	if err != nil {
		return 0, 0, err
	}
	return ours, float64(len(views)) / (float64(mc.bytes) / mc.rate), nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// writeModelReady writes m's manifest into dir as a model_input stage's
// pipeline records it (cfg's geometry) and a small tokenizer beside it;
// it returns both paths.
func writeModelReady(dir string, m *shards.Manifest, cfg train.Config) (manifest, tokPath string, err error) {
	mi := shards.ModelInput(cfg.ModelInput)
	m.ModelInput = &mi
	manifest = filepath.Join(dir, shards.ManifestFile)
	if err := m.Write(manifest); err != nil {
		return "", "", err
	}
	tok, err := tokenizer.Train([]string{"Describe the image.", "Synthetic."}, cfg.TokenizerVocab)
	if err != nil {
		return "", "", err
	}
	tokPath = filepath.Join(dir, "tokenizer.json")
	return manifest, tokPath, tok.Save(tokPath)
}
