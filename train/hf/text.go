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

// GenerateText continues prompt with the decoder in dir, tokenised by
// dir/tokenizer.json with its BOS token first (as LLaMA tokenizers do).
// Without a tokenizer.json, promptIDs must be given and Text stays empty.
func GenerateText(backend backends.Backend, dir, prompt string, promptIDs []int32, o GenerateOptions) (*TextResult, error) {
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
	if promptIDs == nil {
		if tok == nil {
			return nil, fmt.Errorf("%s: no tokenizer.json to encode the prompt (give token ids instead)", dir)
		}
		ids, _ := tok.Encode(prompt)
		promptIDs = []int32{int32(tok.BOSID)}
		for _, id := range ids {
			promptIDs = append(promptIDs, int32(id))
		}
	}
	out, err := d.Generate([][]int32{promptIDs}, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	r := &TextResult{PromptIDs: promptIDs, IDs: out[0]}
	if tok != nil {
		ids := make([]int, len(out[0]))
		for i, id := range out[0] {
			ids[i] = int(id)
		}
		r.Text = tok.Decode(ids)
	}
	return r, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
