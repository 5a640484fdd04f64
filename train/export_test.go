package train

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
)

// TestExportLMMatchesMultimodal: a multimodal checkpoint's decoder
// (weights unlike lm.from's, plus the appended rows of two added tokens)
// written by ExportLM loads in train/hf and gives the multimodal model's
// text-only logits over the whole vocabulary, added tokens included,
// untied and tied.
func TestExportLMMatchesMultimodal(t *testing.T) {
	for _, dir := range []string{"hf/testdata/llama-tiny", "hf/testdata/llama-tied-bf16"} {
		t.Run(dir, func(t *testing.T) {
			backend := testBackend(t)
			cfg := pretrainedConfig(t, dir, false)
			hv := cfg.Llama.Vocab
			vocab := hv + 2
			// Fresh weights stand for a trained decoder: none equals the
			// folder's, so the export cannot pass by copying lm.from.
			gctx := newContext(cfg, vocab)
			run := t.TempDir()
			if _, err := saveCheckpoint(run, gctx, CheckpointState{Step: 1, Config: cfg, Vocab: vocab}, 1); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "hf")
			if err := ExportLM(run, out); err != nil {
				t.Fatal(err)
			}
			ids := []int32{1, 17, int32(hv), 42, 5, 63, int32(hv + 1), 8, 29, 3}
			m := newModel(cfg, vocab)
			exec, err := context.NewExec(backend, gctx, func(ctx *context.Context, tok, pos *Node) *Node {
				return m.logits(ctx, m.hidden(ctx, nil, tok, pos))
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := exec.Exec(tensors.FromFlatDataAndDimensions(ids, 1, len(ids)),
				tensors.FromFlatDataAndDimensions(make([]int32, len(ids)), 1, len(ids)))
			if err != nil {
				t.Fatal(err)
			}
			want := tensors.MustCopyFlatData[float32](res[0])
			dec, err := hf.Load(backend, out)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Config.VocabSize != vocab {
				t.Fatalf("exported vocab_size %d, want %d", dec.Config.VocabSize, vocab)
			}
			got, err := dec.Forward(dec.NewCache(1, len(ids)), [][]int32{ids})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d logits, want %d", len(got), len(want))
			}
			var worst float64
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 1e-4 {
				t.Errorf("max |logit difference| %g > 1e-4", worst)
			}
			t.Logf("max |logit difference| %.3g over %d positions × %d tokens", worst, len(ids), vocab)
		})
	}
}

// TestExportLMNeedsLlamaLayout: a decoder trained from scratch (learned
// positions, layernorm, gelu) is refused in one line.
func TestExportLMNeedsLlamaLayout(t *testing.T) {
	cfg := tinyConfig(t, 1)
	run := t.TempDir()
	if _, err := saveCheckpoint(run, newContext(cfg, 40), CheckpointState{Config: cfg, Vocab: 40}, 1); err != nil {
		t.Fatal(err)
	}
	err := ExportLM(run, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "lm.from") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line saying the decoder lacks lm.from's layout", err)
	}
}
