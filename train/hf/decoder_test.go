package hf

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
)

type golden struct {
	IDs    []int32   `json:"ids"`
	Logits []float32 `json:"logits"`
	Prompt []int32   `json:"prompt"`
	Greedy []int32   `json:"greedy"`
}

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	if _, ok := os.LookupEnv(backends.ConfigEnvVar); ok {
		return backends.MustNew()
	}
	b, err := backends.NewWithConfig("go:parallelism=-1")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readGolden(t testing.TB) map[string]golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestLogitsMatchPyTorch loads the tiny LLaMA folders make_llama.py wrote
// and compares logits with the PyTorch reference (float32, ≤ 1e-4) and the
// greedy continuation token for token, cached and uncached.
func TestLogitsMatchPyTorch(t *testing.T) {
	backend := testBackend(t)
	for name, g := range readGolden(t) {
		t.Run(name, func(t *testing.T) {
			d, err := Load(backend, filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			logits, err := d.Forward(d.NewCache(1, len(g.IDs)), [][]int32{g.IDs})
			if err != nil {
				t.Fatal(err)
			}
			if len(logits) != len(g.Logits) {
				t.Fatalf("%d logits, want %d", len(logits), len(g.Logits))
			}
			worst := 0.0
			for i := range logits {
				worst = math.Max(worst, math.Abs(float64(logits[i]-g.Logits[i])))
			}
			if worst > 1e-4 {
				t.Errorf("max |logit - PyTorch| = %g > 1e-4", worst)
			}
			for _, cached := range []bool{true, false} {
				got, err := d.Generate([][]int32{g.Prompt}, GenerateOptions{MaxNewTokens: len(g.Greedy), NoCache: !cached})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got[0], g.Greedy) {
					t.Errorf("cached=%v greedy %v, want %v", cached, got[0], g.Greedy)
				}
			}
		})
	}
}
