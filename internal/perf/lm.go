package perf

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/shards"
	"github.com/medmd/medmd/train"
	"github.com/medmd/medmd/train/hf"
)

// lmGroup measures the pretrained-LM path: loading a Hugging Face
// safetensors checkpoint into float32 host tensors against os.ReadFile of
// the same file (page cache warm, same run; goal ≥ 0.8×), and time per new
// token of KV-cache generation against re-running the whole sequence for
// every token (greedy, 256 new tokens; goal ≥ 10×) on a tiny and a
// mid-size CPU decoder with random weights, and on the multimodal model of
// the tiny preset (`medmd generate --checkpoint`). Times are the process's CPU
// time (user + system, every thread): on a machine shared with other
// builds, wall time swung the same row's ratio 5–18× between runs; the
// wall-clock ratio is kept in Extra.
func lmGroup(ctx context.Context, o Options) ([]Result, error) {
	reps := max(o.Repeats, 1)
	dir := filepath.Join(o.TempDir, "lm")
	// 252 MB of F32 weights (11 MB quick): 8 layers of width 1024.
	load := hf.Config{ModelType: "llama", VocabSize: 2048, HiddenSize: 1024, IntermediateSize: 1024, NumHiddenLayers: 8,
		NumAttentionHeads: 8, NumKeyValueHeads: 8, HeadDim: 128, RMSNormEps: 1e-5, RopeTheta: 10000,
		MaxPositionEmbeddings: 512, HiddenAct: "silu"}
	if o.Quick {
		load.NumHiddenLayers, load.HiddenSize, load.IntermediateSize, load.HeadDim = 2, 512, 512, 64
	}
	loadDir := filepath.Join(dir, "load")
	if err := writeRandomDecoder(loadDir, load); err != nil {
		return nil, err
	}
	r, err := safetensorsLoadResult(loadDir, load, reps)
	if err != nil {
		return nil, err
	}
	out := []Result{r}
	newTokens := 256
	if o.Quick {
		newTokens = 16
	}
	for _, m := range []struct {
		key string
		c   hf.Config
	}{
		// The shape of train/hf/testdata/llama-tiny (2 layers, width 32).
		{"tiny", hf.Config{ModelType: "llama", VocabSize: 96, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
			NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8, RMSNormEps: 1e-5, RopeTheta: 10000,
			MaxPositionEmbeddings: 512, HiddenAct: "silu"}},
		// BenchmarkGenerateMid's decoder (4 layers, width 256, GQA 8/4).
		{"mid", hf.Config{ModelType: "llama", VocabSize: 1000, HiddenSize: 256, IntermediateSize: 688, NumHiddenLayers: 4,
			NumAttentionHeads: 8, NumKeyValueHeads: 4, HeadDim: 32, RMSNormEps: 1e-5, RopeTheta: 10000,
			MaxPositionEmbeddings: 512, HiddenAct: "silu"}},
	} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := kvCacheResult(filepath.Join(dir, m.key), m.key, m.c, newTokens)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err = multimodalKVCacheResult(ctx, filepath.Join(dir, "multimodal"), newTokens)
	if err != nil {
		return nil, err
	}
	return append(out, r), nil
}

// multimodalKVCacheResult is kvCacheResult for the multimodal model of
// the tiny preset (its own from-scratch decoder, context widened to fit
// the new tokens) after one training step on a few captions: `medmd
// generate --checkpoint` of one sample with an image, cached against the
// whole context re-run per token (NoCache), no stop token.
func multimodalKVCacheResult(ctx context.Context, dir string, newTokens int) (Result, error) {
	cfg, err := train.Preset("tiny")
	if err != nil {
		return Result{}, err
	}
	cfg.Steps, cfg.Warmup, cfg.LogEvery, cfg.EvalEvery = 1, 0, 0, 0
	cfg.Context = 64 + newTokens
	backend, err := train.NewBackend()
	if err != nil {
		return Result{}, err
	}
	caps := []string{"No acute cardiopulmonary abnormality.", "Small left pleural effusion with basal atelectasis.",
		"The liver is enlarged with a hypodense lesion in segment 4.", "Normal heart size; the lungs are clear."}
	var smps train.SliceSource
	for i := range 16 {
		im := shards.Image{Modality: "CR", DType: shards.Uint8, Channels: 1, Depth: 1, Height: 16, Width: 16, Voxels: make([]byte, 256)}
		for j := range im.Voxels {
			im.Voxels[j] = byte(i*7 + j)
		}
		smps = append(smps, shards.Sample{ID: fmt.Sprintf("s%02d", i), Source: "perf", Task: shards.TaskCaption,
			Group: fmt.Sprintf("g%d", i), Instruction: "Describe the image.", Response: caps[i%len(caps)],
			Images: []shards.Image{im}})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := train.Run(ctx, train.Options{Config: cfg, Train: smps, Out: dir, Backend: backend, Logger: quiet}); err != nil {
		return Result{}, err
	}
	// perToken returns CPU and wall seconds per new token: the time of
	// newTokens tokens less that of two, over newTokens-2, so loading the
	// checkpoint, compiling (the prefill graph and, from the second token,
	// the decoding step's), the vision encoder and the prefill (each
	// Generate call does them all) are not counted. Each time is the best
	// of at least two rounds, and of up to five while the difference is
	// not positive: with few new tokens (--quick) it is small beside the
	// noise in those fixed costs.
	perToken := func(noCache bool) (float64, float64, error) {
		run := func(n int) (float64, float64, error) {
			o := train.GenerateOptions{Checkpoint: dir, Source: smps[:1], Out: io.Discard, Backend: backend, Logger: quiet,
				MaxNewTokens: n, Batch: 1, StopTokens: []int{}, NoCache: noCache}
			t0, c0 := time.Now(), cpuTime()
			_, err := train.Generate(ctx, o)
			return (cpuTime() - c0).Seconds(), time.Since(t0).Seconds(), err
		}
		c1, w1, cn, wn := math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)
		for round := 0; round < 2 || (round < 5 && (cn <= c1 || wn <= w1)); round++ {
			c, w, err := run(2)
			if err != nil {
				return 0, 0, err
			}
			c1, w1 = min(c1, c), min(w1, w)
			if c, w, err = run(newTokens); err != nil {
				return 0, 0, err
			}
			cn, wn = min(cn, c), min(wn, w)
		}
		if cn <= c1 || wn <= w1 {
			return 0, 0, fmt.Errorf("kv cache: %d new tokens took no longer than 2 in five rounds; the machine is too noisy to time them", newTokens)
		}
		return (cn - c1) / float64(newTokens-2), (wn - w1) / float64(newTokens-2), nil
	}
	cached, cachedWall, err := perToken(false)
	if err != nil {
		return Result{}, err
	}
	full, fullWall, err := perToken(true)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: fmt.Sprintf("lm/kv_cache/multimodal_tiny_%d_tokens", newTokens), Unit: "CPU-s/token", Value: cached,
		BaselineName: "whole context re-run per token", BaselineValue: full, Goal: 10,
		Extra: map[string]float64{"context": float64(cfg.Context), "layers": float64(cfg.LMLayers), "hidden": float64(cfg.LMDim),
			"wall_s_per_token": cachedWall, "baseline_wall_s_per_token": fullWall, "wall_ratio": fullWall / cachedWall}}
	res.Finish(false)
	return res, nil
}

// writeRandomDecoder writes a Hugging Face folder of c with small
// deterministic weights (norm weights 1).
func writeRandomDecoder(dir string, c hf.Config) error {
	var ts []hf.Tensor
	seed := uint32(1)
	for _, s := range c.Specs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = 1
			if len(s.Shape) > 1 {
				seed = seed*1664525 + 1013904223 // an LCG: reproducible, fast to fill
				data[i] = (float32(seed>>8)/float32(1<<24) - 0.5) * 0.1
			}
		}
		ts = append(ts, hf.Tensor{Name: s.Name, Shape: s.Shape, Data: data})
	}
	return hf.WriteFolder(dir, c, ts)
}

// safetensorsLoadResult times hf.ReadWeights (map, check, convert into
// float32 tensors) against os.ReadFile of model.safetensors, alternating,
// after one warm-up of each; MB/s of the file's size.
func safetensorsLoadResult(dir string, c hf.Config, reps int) (Result, error) {
	path := filepath.Join(dir, "model.safetensors")
	fi, err := os.Stat(path)
	if err != nil {
		return Result{}, err
	}
	mb := float64(fi.Size()) / 1e6
	var ours, base, oursWall, baseWall []float64
	// A round takes ~0.1 s; more of them than other rows, as the page
	// cache and the other processes make single rounds vary 2×.
	reps = 2*reps + 3
	for r := 0; r <= reps; r++ {
		t0, c0 := time.Now(), cpuTime()
		var kept []*tensors.Tensor
		if err := hf.ReadWeights(dir, c, func(_ string, t *tensors.Tensor) { kept = append(kept, t) }); err != nil {
			return Result{}, err
		}
		tl, cl := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
		for _, t := range kept {
			t.FinalizeAll()
		}
		t0, c0 = time.Now(), cpuTime()
		b, err := os.ReadFile(path)
		if err != nil {
			return Result{}, err
		}
		tr, cr := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
		_ = b
		if r > 0 { // the first round warms the page cache
			ours, base = append(ours, mb/cl), append(base, mb/cr)
			oursWall, baseWall = append(oursWall, mb/tl), append(baseWall, mb/tr)
		}
	}
	res := Result{Name: fmt.Sprintf("lm/safetensors_load/f32_%.0fmb", mb), Unit: "MB/CPU-s", Value: stats.Median(ours),
		BaselineName: "os.ReadFile of the same file", BaselineValue: stats.Median(base), Goal: 0.8,
		Extra: map[string]float64{"bytes": float64(fi.Size()), "tensors": float64(len(c.Specs())),
			"wall_mb_per_s": stats.Median(oursWall), "baseline_wall_mb_per_s": stats.Median(baseWall)}}
	res.Finish(true)
	return res, nil
}

// kvCacheResult generates newTokens greedy tokens after a 4-token prompt
// with the KV cache and without it (the whole sequence re-run per token),
// each once to compile its graphs and once timed; s per new token.
func kvCacheResult(dir, key string, c hf.Config, newTokens int) (Result, error) {
	if err := writeRandomDecoder(dir, c); err != nil {
		return Result{}, err
	}
	backend, err := train.NewBackend()
	if err != nil {
		return Result{}, err
	}
	d, err := hf.Load(backend, dir)
	if err != nil {
		return Result{}, err
	}
	prompt := [][]int32{{1, 9, 33, 20}}
	// perToken returns CPU and wall seconds per new token.
	perToken := func(noCache bool) (float64, float64, error) {
		o := hf.GenerateOptions{MaxNewTokens: newTokens, NoCache: noCache, StopTokens: []int32{}}
		if _, err := d.Generate(prompt, o); err != nil { // compiles
			return 0, 0, err
		}
		t0, c0 := time.Now(), cpuTime()
		if _, err := d.Generate(prompt, o); err != nil {
			return 0, 0, err
		}
		return (cpuTime() - c0).Seconds() / float64(newTokens), time.Since(t0).Seconds() / float64(newTokens), nil
	}
	cached, cachedWall, err := perToken(false)
	if err != nil {
		return Result{}, err
	}
	full, fullWall, err := perToken(true)
	if err != nil {
		return Result{}, err
	}
	res := Result{Name: fmt.Sprintf("lm/kv_cache/%s_%d_tokens", key, newTokens), Unit: "CPU-s/token", Value: cached,
		BaselineName: "whole sequence re-run per token", BaselineValue: full, Goal: 10,
		Extra: map[string]float64{"layers": float64(c.NumHiddenLayers), "hidden": float64(c.HiddenSize),
			"wall_s_per_token": cachedWall, "baseline_wall_s_per_token": fullWall, "wall_ratio": fullWall / cachedWall}}
	res.Finish(false)
	return res, nil
}
