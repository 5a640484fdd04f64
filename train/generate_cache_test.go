package train

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerateKVCache: decoding against the KV cache gives the greedy
// output of re-running the whole context per token, for the from-scratch
// decoder (learned positions and rope) and a pretrained LLaMA one, and
// neither output depends on the batch size (greedy and top-k; the batches
// mix 2D images, volumes and text).
func TestGenerateKVCache(t *testing.T) {
	lmDir, err := filepath.Abs("testdata/lm-medtok")
	if err != nil {
		t.Fatal(err)
	}
	base, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	manifest := writeCorpus(t, modelReady(t, 8, base), 8)
	for _, tc := range []struct {
		name, yaml string
	}{
		{"scratch-learned", ""},
		{"scratch-rope", "positions: rope\nnorm: rmsnorm\nmlp: swiglu\nbias: false\n"},
		{"pretrained", fmt.Sprintf("lm:\n  from: %s\n", lmDir)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgFile := filepath.Join(t.TempDir(), "config.yaml")
			y := tc.yaml + "steps: 3\nwarmup: 1\neval_every: 0\nckpt_every: 0\nlog_every: 0\n"
			if err := os.WriteFile(cfgFile, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if _, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: manifest, ConfigFile: cfgFile, Out: out}); err != nil {
				t.Fatal(err)
			}
			val := SliceSource(testSamples(5))
			run := func(o GenerateOptions) string {
				t.Helper()
				var buf bytes.Buffer
				o.Checkpoint, o.Source, o.Out, o.Backend, o.MaxNewTokens = out, val, &buf, testBackend(t), 24
				if _, err := Generate(t.Context(), o); err != nil {
					t.Fatal(err)
				}
				return buf.String()
			}
			ref := run(GenerateOptions{Batch: 3, NoCache: true})
			for _, o := range []GenerateOptions{{Batch: 3}, {Batch: 1}, {Batch: 5}} {
				if got := run(o); got != ref {
					t.Errorf("cached greedy, batch %d:\n%s\nre-run per token:\n%s", o.Batch, got, ref)
				}
			}
			sampled := run(GenerateOptions{Batch: 1, TopK: 20, Temperature: 3, Seed: 5})
			if got := run(GenerateOptions{Batch: 4, TopK: 20, Temperature: 3, Seed: 5}); got != sampled {
				t.Errorf("top-k, batch 4:\n%s\nbatch 1:\n%s", got, sampled)
			}
			if nc := run(GenerateOptions{Batch: 1, TopK: 20, Temperature: 3, Seed: 5, NoCache: true}); nc != sampled {
				t.Errorf("top-k, batch 1, re-run per token:\n%s\ncached:\n%s", nc, sampled)
			}
			if nc := run(GenerateOptions{Batch: 4, TopK: 20, Temperature: 3, Seed: 5, NoCache: true}); nc != sampled {
				t.Errorf("top-k, batch 4, re-run per token:\n%s\ncached, batch 1:\n%s", nc, sampled)
			}
			nucleus := run(GenerateOptions{Batch: 1, TopP: 0.9, Temperature: 2, Seed: 9})
			if got := run(GenerateOptions{Batch: 4, TopP: 0.9, Temperature: 2, Seed: 9}); got != nucleus {
				t.Errorf("top-p, batch 4:\n%s\nbatch 1:\n%s", got, nucleus)
			}
			if nc := run(GenerateOptions{Batch: 4, TopP: 0.9, Temperature: 2, Seed: 9, NoCache: true}); nc != nucleus {
				t.Errorf("top-p, batch 4, re-run per token:\n%s\ncached, batch 1:\n%s", nc, nucleus)
			}
			if nucleus == ref {
				t.Errorf("top-p at temperature 2 gave the greedy answers; is it sampling?")
			}
			t.Logf("%s", ref)
		})
	}
}
