package train

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
	"github.com/medmd/medmd/train/tokenizer"
)

// ExportLM writes the decoder of a medmd checkpoint (a run folder, its
// latest checkpoint, or a ckpt-N folder) as a Hugging Face LLaMA folder
// under out: model.safetensors, config.json and the run's tokenizer.json,
// so transformers (or `medmd generate --lm`) runs it text-only. The rows
// appended for added tokens (<image>, </image>…) become ordinary rows at
// the end of the embedding and head, and vocab_size counts them. Only a
// decoder with Hugging Face's LLaMA layout (trained with lm.from) can be
// written so.
func ExportLM(checkpoint, out string) error {
	dir, err := LatestCheckpoint(checkpoint)
	if err != nil {
		return err
	}
	if dir == "" {
		return fmt.Errorf("export-lm: %s holds no checkpoint (no 'latest' file or state.json)", checkpoint)
	}
	ctx, st, err := loadCheckpoint(dir)
	if err != nil {
		return err
	}
	// bos/eos come from the run's tokenizer, which goes beside the
	// weights (generation stops at its </s>).
	tp := checkpointTokenizer(dir)
	var tok *tokenizer.Tokenizer
	if fileExists(tp) {
		if tok, err = tokenizer.Load(tp); err != nil {
			return fmt.Errorf("export-lm: %w", err)
		}
	}
	if err := exportLM(ctx, st.Config, st.Vocab, tok, out); err != nil {
		return fmt.Errorf("export-lm: checkpoint %s: %w", dir, err)
	}
	if tok != nil {
		return copyFile(tp, filepath.Join(out, "tokenizer.json"))
	}
	return nil
}

// exportLM writes ctx's decoder (for cfg and a tokenizer of vocab tokens)
// as a Hugging Face folder; tok (nil: none) names bos and eos.
func exportLM(ctx *context.Context, cfg Config, vocab int, tok *tokenizer.Tokenizer, out string) error {
	if !cfg.pretrained() {
		return fmt.Errorf("the decoder was not built with lm.from (positions %s, norm %s, mlp %s): it has no LLaMA layout to write", cfg.Positions, cfg.Norm, cfg.MLP)
	}
	hc := cfg.hfConfig()
	hc.VocabSize = cfg.lmVocab(vocab)
	hc.MaxPositionEmbeddings = cfg.Context
	if hc.RopeScaling != nil && *hc.RopeScaling == (hf.RopeScaling{}) {
		hc.RopeScaling = nil // none: config.json leaves the key out, as LlamaConfig does
	}
	if tok != nil {
		hc.BOSTokenID, hc.EOSTokenID = tok.BOSID, tok.EOSID
	}
	lctx := ctx.InAbsPath("/lm")
	value := func(name string) (*tensors.Tensor, error) {
		v := lctx.GetVariable(name)
		if v == nil {
			return nil, fmt.Errorf("no variable /lm/%s", name)
		}
		return v.Value()
	}
	var ts []hf.Tensor
	for _, s := range hc.Specs() {
		extra := ""
		switch s.Name {
		case "model.embed_tokens.weight":
			extra = "added_embed"
		case "lm_head.weight":
			extra = "added_head"
		}
		t, err := value(s.Name)
		if err != nil {
			return err
		}
		data := tensors.MustCopyFlatData[float32](t)
		if extra != "" && lctx.GetVariable(extra) != nil {
			e, err := value(extra)
			if err != nil {
				return err
			}
			data = append(data, tensors.MustCopyFlatData[float32](e)...)
		}
		if n := shapeSize(s.Shape); len(data) != n {
			return fmt.Errorf("/lm/%s has %d values, %v needs %d", s.Name, len(data), s.Shape, n)
		}
		ts = append(ts, hf.Tensor{Name: s.Name, Shape: slices.Clone(s.Shape), Data: data})
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return hf.WriteFolder(out, hc, ts)
}

func shapeSize(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
