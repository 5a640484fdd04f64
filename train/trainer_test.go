package train

import (
	"context"
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
	res, err := Run(context.Background(), Options{Config: cfg, Train: SliceSource(testSamples(24)), Val: SliceSource(testSamples(6)), Out: out, Backend: backend})
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
}
