package hf

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ParseIDs parses comma-separated token ids ("1, 2,3"), as `medmd
// generate --prompt-ids` takes them; "" is nil (no ids given).
func ParseIDs(s string) ([]int32, error) {
	if s == "" {
		return nil, nil
	}
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, err
		}
		ids = append(ids, int32(v))
	}
	return ids, nil
}

// WriteText prints the generated text on one line, or the generated ids
// when there was no tokenizer to decode them.
func (r *TextResult) WriteText(w io.Writer) error {
	if r.Text == "" {
		_, err := fmt.Fprintln(w, r.IDs)
		return err
	}
	_, err := fmt.Fprintln(w, r.Text)
	return err
}
