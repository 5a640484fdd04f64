package hf

import (
	"encoding/json"
	"math"
	"math/rand/v2"
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

// TestGenerateBatchIndependent decodes prompts of different lengths one
// by one and in batches (cached and not, greedy and sampled): each
// prompt's continuation must not depend on the batch it ran in.
func TestGenerateBatchIndependent(t *testing.T) {
	d, err := Load(testBackend(t), "testdata/llama-tiny")
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int32{{1, 9, 33, 20}, {1, 5}, {1, 70, 71, 72, 73, 74, 75}, {1, 2}, {1, 40, 41}}
	for _, tc := range []struct {
		name string
		o    GenerateOptions
	}{
		{"greedy", GenerateOptions{MaxNewTokens: 12, StopTokens: []int32{}}},
		{"greedy-stop", GenerateOptions{MaxNewTokens: 12}},
		{"greedy-uncached", GenerateOptions{MaxNewTokens: 6, StopTokens: []int32{}, NoCache: true}},
		{"sampled", GenerateOptions{MaxNewTokens: 12, StopTokens: []int32{}, Temperature: 1.5, TopK: 20, TopP: 0.9, Seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one := tc.o
			one.Batch = 1
			want, err := d.Generate(prompts, one)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []int{2, 0} {
				o := tc.o
				o.Batch = b
				got, err := d.Generate(prompts, o)
				if err != nil {
					t.Fatal(err)
				}
				for i := range prompts {
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("batch %d, prompt %d: %v, one by one %v", b, i, got[i], want[i])
					}
				}
			}
			if tc.name == "greedy" {
				for i, g := range want {
					if len(g) != tc.o.MaxNewTokens {
						t.Errorf("prompt %d: %d new tokens, want %d", i, len(g), tc.o.MaxNewTokens)
					}
				}
			}
		})
	}
}

func TestSamplingPick(t *testing.T) {
	logits := []float32{1, 3, 3, 0.5, 2}
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name    string
		s       Sampling
		allowed func(int) bool
		can     []int
	}{
		{"greedy takes the first highest", Sampling{}, nil, []int{1}},
		{"greedy among the allowed", Sampling{}, func(i int) bool { return i != 1 && i != 2 }, []int{4}},
		{"top-k 2 keeps the two 3s", Sampling{Temperature: 1, TopK: 2}, nil, []int{1, 2}},
		{"top-p keeps the smallest set reaching p", Sampling{Temperature: 1, TopP: 0.5}, nil, []int{1, 2}},
		{"nothing allowed", Sampling{Temperature: 1}, func(int) bool { return false }, []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				if got := tc.s.Pick(logits, tc.allowed, rng); !slices.Contains(tc.can, got) {
					t.Fatalf("Pick = %d, want one of %v", got, tc.can)
				}
			}
		})
	}
}
