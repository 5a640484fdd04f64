package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
)

// pretrainedConfig is the tiny preset with its decoder from an hf test
// folder.
func pretrainedConfig(t *testing.T, dir string, freeze bool) Config {
	t.Helper()
	cfg, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LM = LMSource{From: dir, Freeze: freeze}
	if err := cfg.applyLM(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPretrainedDecoderMatchesHF: the multimodal model's decoder, loaded
// from a Hugging Face folder, gives train/hf's text-only logits for the
// same weights (the appended rows of added tokens aside), untied and tied.
func TestPretrainedDecoderMatchesHF(t *testing.T) {
	ids := []int32{1, 17, 42, 5, 63, 8, 29, 77, 3, 50, 11, 64}
	for _, dir := range []string{"hf/testdata/llama-tiny", "hf/testdata/llama-tied-bf16"} {
		t.Run(dir, func(t *testing.T) {
			backend := testBackend(t)
			cfg := pretrainedConfig(t, dir, false)
			hv := cfg.Llama.Vocab
			vocab := hv + 2 // <image>, </image> appended
			ctx := newContext(cfg, vocab)
			if err := loadPretrainedLM(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			m := newModel(cfg, vocab)
			exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, tok, pos *Node) *Node {
				return m.logits(ctx, m.hidden(ctx, nil, tok, pos))
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Exec(tensors.FromFlatDataAndDimensions(ids, 1, len(ids)),
				tensors.FromFlatDataAndDimensions(make([]int32, len(ids)), 1, len(ids)))
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](out[0])
			if len(got) != len(ids)*vocab {
				t.Fatalf("%d logits, want %d", len(got), len(ids)*vocab)
			}
			dec, err := hf.Load(backend, dir)
			if err != nil {
				t.Fatal(err)
			}
			want, err := dec.Forward(dec.NewCache(1, len(ids)), [][]int32{ids})
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for p := range ids {
				for v := 0; v < hv; v++ {
					worst = math.Max(worst, math.Abs(float64(got[p*vocab+v]-want[p*hv+v])))
				}
			}
			if worst > 1e-4 {
				t.Errorf("max |logit difference| %g > 1e-4", worst)
			}
			t.Logf("max |logit difference| %.3g over %d positions × %d tokens", worst, len(ids), hv)
		})
	}
}

// TestTrainFromPretrainedLM: `medmd train` with lm.from (through the
// config file, as the CLI reads it) trains the multimodal model on a
// model-ready corpus with the folder's tokenizer, and the loss falls, with
// the decoder trained and with it frozen (lm.freeze: only the vision
// side and the appended rows train).
func TestTrainFromPretrainedLM(t *testing.T) {
	for _, tc := range []struct {
		name   string
		freeze bool
	}{{"trained", false}, {"frozen", true}} {
		t.Run(tc.name, func(t *testing.T) {
			base, err := Preset("tiny")
			if err != nil {
				t.Fatal(err)
			}
			manifest := writeCorpus(t, modelReady(t, 16, base), 8)
			dir, err := filepath.Abs("testdata/lm-medtok")
			if err != nil {
				t.Fatal(err)
			}
			cfgFile := filepath.Join(t.TempDir(), "config.yaml")
			y := fmt.Sprintf("lm:\n  from: %s\n  freeze: %v\nsteps: 12\nwarmup: 2\nlr: 0.01\neval_every: 0\nckpt_every: 0\nlog_every: 0\n", dir, tc.freeze)
			if err := os.WriteFile(cfgFile, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			res, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: manifest, ConfigFile: cfgFile, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			l := res.Losses
			if len(l) != 12 {
				t.Fatalf("%d steps, want 12", len(l))
			}
			first, last := (l[0]+l[1]+l[2])/3, (l[9]+l[10]+l[11])/3
			t.Logf("loss %.3f → %.3f", first, last)
			if !(last < first) {
				t.Errorf("loss did not fall: %v", l)
			}
		})
	}
}
