package hf

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"
	"github.com/medmd/medmd/train/tokenizer"
)

// TextResult is what GenerateText returns: the prompt's ids, the new ids
// and their text.
type TextResult struct {
	PromptIDs []int32 `json:"prompt_ids"`
	IDs       []int32 `json:"ids"`
	Text      string  `json:"text"`
}

// GenerateText continues each prompt with the decoder in dir, tokenised
// by dir/tokenizer.json with its BOS token first (as LLaMA tokenizers do),
// o.Batch prompts per forward pass. Without a tokenizer.json, promptIDs
// (one prompt) must be given and Text stays empty.
func GenerateText(backend backends.Backend, dir string, prompts []string, promptIDs []int32, o GenerateOptions) ([]*TextResult, error) {
	d, err := Load(backend, dir)
	if err != nil {
		return nil, err
	}
	var tok *tokenizer.Tokenizer
	if tp := filepath.Join(dir, "tokenizer.json"); fileExists(tp) {
		if tok, err = tokenizer.Load(tp); err != nil {
			return nil, err
		}
	}
	var all [][]int32
	if promptIDs != nil {
		all = [][]int32{promptIDs}
	} else {
		if tok == nil {
			return nil, fmt.Errorf("%s: no tokenizer.json to encode the prompt (give token ids instead)", dir)
		}
		for _, p := range prompts {
			ids, _ := tok.Encode(p)
			pi := []int32{int32(tok.BOSID)}
			for _, id := range ids {
				pi = append(pi, int32(id))
			}
			all = append(all, pi)
		}
	}
	out, err := d.Generate(all, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	rs := make([]*TextResult, len(all))
	for i := range all {
		rs[i] = &TextResult{PromptIDs: all[i], IDs: out[i]}
		if tok != nil {
			ids := make([]int, len(out[i]))
			for j, id := range out[i] {
				ids[j] = int(id)
			}
			rs[i].Text = tok.Decode(ids)
		}
	}
	return rs, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
