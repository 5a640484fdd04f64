package train

import (
	"context"
	"math"
	"testing"

	"github.com/medmd/medmd/shards"
)

// radfmStyleTiny is tiny with the radfm preset's LM choices (RoPE, RMSNorm,
// SwiGLU, no biases), a projection (vis 32 → lm 48) and a deeper image grid
// (depth 8 = 2 patch slices) so 2D images exercise the position-grid
// adaptation.
func radfmStyleTiny(t testing.TB) Config {
	cfg := tinyConfig(t, 3)
	cfg.Positions, cfg.Norm, cfg.MLP, cfg.Bias = "rope", "rmsnorm", "swiglu", false
	cfg.LMDim, cfg.LMHeads, cfg.LMMLP = 48, 3, 96
	cfg.ImageDepth = 8
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRadFMStyleVariantTrains(t *testing.T) {
	backend := testBackend(t)
	cfg := radfmStyleTiny(t)
	got := graphVariables(t, backend, cfg, 300)
	var n int64
	for _, v := range got {
		n += v
	}
	if n != ParamCount(cfg, 300) || len(got) != len(ParamSpecs(cfg, 300)) {
		t.Fatalf("graph has %d params in %d variables; analytic %d in %d", n, len(got), ParamCount(cfg, 300), len(ParamSpecs(cfg, 300)))
	}
	for _, c := range []struct {
		name string
		keep func(s shards.Sample) bool
	}{
		{"2D only (grid 1x2x2 of 2x2x2)", func(s shards.Sample) bool { return len(s.Images) == 1 && s.Images[0].Depth == 1 }},
		{"3D only", func(s shards.Sample) bool { return len(s.Images) == 1 && s.Images[0].Depth > 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var smps SliceSource
			for _, s := range testSamples(16) {
				if c.keep(s) {
					smps = append(smps, s)
				}
			}
			res, err := Run(context.Background(), Options{Config: cfg, Train: smps, Out: t.TempDir(), Backend: backend})
			if err != nil {
				t.Fatal(err)
			}
			l := res.Losses
			if math.IsNaN(l[2]) || !(l[2] < l[0]) {
				t.Fatalf("losses %v", l)
			}
		})
	}
}
