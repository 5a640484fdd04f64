package train

import (
	"context"
	"math"
	"testing"
)

// The bfloat16 compute path (GPU presets) builds and trains: weights stay
// float32, the loss stays finite and moves.
func TestBFloat16Steps(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 3)
	cfg.DType = "bfloat16"
	cfg.Accum = 2
	res, err := Run(context.Background(), Options{Config: cfg, Train: SliceSource(testSamples(8)), Out: t.TempDir(), Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Losses {
		if math.IsNaN(l) || l <= 0 {
			t.Fatalf("losses %v", res.Losses)
		}
	}
	t.Logf("bf16 losses %v", res.Losses)
}

// Gradient accumulation is exact: 2 micro-batches of 2 give the loss and
// update of one batch of 4 (same samples, same order).
func TestAccumulationMatchesBigBatch(t *testing.T) {
	backend := testBackend(t)
	run := func(batch, accum int) []float64 {
		cfg := tinyConfig(t, 3)
		cfg.Batch, cfg.Accum = batch, accum
		res, err := Run(context.Background(), Options{Config: cfg, Train: SliceSource(testSamples(12)), Out: t.TempDir(), Backend: backend})
		if err != nil {
			t.Fatal(err)
		}
		return res.Losses
	}
	big, acc := run(4, 1), run(2, 2)
	for i := range big {
		if math.Abs(big[i]-acc[i]) > 1e-4*math.Abs(big[i]) {
			t.Errorf("step %d: batch 4 loss %v, 2×2 accumulated %v", i+1, big[i], acc[i])
		}
	}
}
