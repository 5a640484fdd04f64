package train

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func tinyConfig(t testing.TB, steps int) Config {
	cfg, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Steps = steps
	cfg.LogEvery = 0
	return cfg
}

func TestTrainLossDrops(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 40)
	cfg.EvalEvery = 20
	out := t.TempDir()
	// A real model-ready corpus on disk (2D, 3D and text-only buckets in
	// one run), served by the shards.Loader.
	manifest := writeCorpus(t, modelReady(t, 24, cfg), 10)
	res, err := Run(context.Background(), Options{Config: cfg, TrainManifest: manifest, Val: SliceSource(testSamples(6)), Out: out, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.Losses[0], res.Losses[len(res.Losses)-1]
	t.Logf("loss %.3f -> %.3f, val %.3f, median step %.3fs, %d params", first, last, res.ValLoss, res.StepSeconds, res.Params)
	if !(last < 0.5*first) {
		t.Errorf("loss did not drop well below its start: %.3f -> %.3f", first, last)
	}
	for _, f := range []string{"tokenizer.json", "metrics.jsonl", "loss.png", "config.json", "latest"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Generation from the trained checkpoint: one JSON line per sample.
	var buf bytes.Buffer
	val := SliceSource(testSamples(5))
	n, err := Generate(context.Background(), GenerateOptions{Checkpoint: out, Source: val, Out: &buf, Backend: backend, MaxNewTokens: 8, Batch: 4})
	if err != nil || n != 5 {
		t.Fatalf("generate: %d, %v", n, err)
	}
	dec := json.NewDecoder(&buf)
	nonEmpty := 0
	for i := 0; i < 5; i++ {
		var p Prediction
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.ID != val[i].ID {
			t.Errorf("prediction %d id %q, want %q", i, p.ID, val[i].ID)
		}
		if p.Prediction != "" {
			nonEmpty++
		}
		t.Logf("%s: %q", p.ID, p.Prediction)
	}
	if nonEmpty == 0 {
		t.Error("every prediction is empty")
	}
	// Top-k sampling depends on the seed and the sample only: not on the
	// batch size (that is, on which samples share a forward pass).
	var topk []string
	for _, b := range []int{1, 3} {
		var buf bytes.Buffer
		if _, err := Generate(context.Background(), GenerateOptions{Checkpoint: out, Source: val, Out: &buf, Backend: backend, MaxNewTokens: 8, Batch: b, TopK: 20, Temperature: 3, Seed: 5}); err != nil {
			t.Fatal(err)
		}
		topk = append(topk, buf.String())
	}
	if topk[0] != topk[1] {
		t.Errorf("top-k predictions depend on the batch size:\nbatch 1:\n%s\nbatch 3:\n%s", topk[0], topk[1])
	}
}

// Resume is exact: 2 steps, stop (checkpoint), resume for 2 more gives the
// same losses, bit for bit, as 4 uninterrupted steps — with batches from
// the shards.Loader (its state in the checkpoint) and from the in-memory
// permutation batcher.
func TestResumeExact(t *testing.T) {
	manifest := writeCorpus(t, modelReady(t, 10, tinyConfig(t, 4)), 4)
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"shards.Loader", Options{TrainManifest: manifest}},
		{"permutation", Options{Train: SliceSource(testSamples(10))}},
	} {
		t.Run(c.name, func(t *testing.T) { testResumeExact(t, c.opt) })
	}
}

func testResumeExact(t *testing.T, base Options) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 4)
	cfg.CkptEvery, cfg.EvalEvery = 0, 0
	opts := func(out string, stop int) Options {
		o := base
		o.Config, o.Out, o.Backend, o.StopAfter = cfg, out, backend, stop
		return o
	}
	full, err := Run(context.Background(), opts(t.TempDir(), 0))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	first, err := Run(context.Background(), opts(out, 2))
	if err != nil {
		t.Fatal(err)
	}
	if first.Step != 2 || !first.Interrupted {
		t.Fatalf("first run stopped at %d", first.Step)
	}
	second, err := Run(context.Background(), opts(out, 0))
	if err != nil {
		t.Fatal(err)
	}
	if second.StartStep != 2 || second.Step != 4 {
		t.Fatalf("resumed %d..%d", second.StartStep, second.Step)
	}
	got := append(append([]float64{}, first.Losses...), second.Losses...)
	for i := range full.Losses {
		if got[i] != full.Losses[i] {
			t.Errorf("step %d: resumed loss %v, uninterrupted %v", i+1, got[i], full.Losses[i])
		}
	}
	ms, err := readMetrics(filepath.Join(out, "metrics.jsonl"), 1<<30)
	if err != nil || len(ms) != 4 {
		t.Errorf("metrics.jsonl: %d lines, %v", len(ms), err)
	}
}

// Cancelling the context stops training after a step with a checkpoint.
func TestCancelWritesCheckpoint(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	res, err := Run(ctx, Options{Config: cfg, Train: SliceSource(testSamples(4)), Out: out, Backend: backend})
	if err == nil || !res.Interrupted {
		t.Fatalf("err %v", err)
	}
	if dir, _ := LatestCheckpoint(out); dir == "" {
		t.Fatal("no checkpoint after cancel")
	}
}
