package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// EncodeLines reads text lines from r and writes one JSON array of token
// ids per line to w (no special tokens added, as Hugging Face
// `tokenizers`' encode(text, add_special_tokens=False)). A trailing "\r"
// is part of the line's text; only "\n" ends a line.
func (t *Tokenizer) EncodeLines(r io.Reader, w io.Writer) error {
	br, bw := bufio.NewReader(r), bufio.NewWriter(w)
	for {
		s, err := br.ReadString('\n')
		if s == "" && err != nil {
			if err == io.EOF {
				return bw.Flush()
			}
			return err
		}
		ids, _ := t.Encode(strings.TrimSuffix(s, "\n"))
		if ids == nil {
			ids = []int{}
		}
		b, _ := json.Marshal(ids)
		bw.Write(append(b, '\n'))
	}
}

// DecodeLines reads one JSON array of ids per line from r and writes the
// decoded text (special tokens skipped) as one line per array to w.
func (t *Tokenizer) DecodeLines(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<26)
	bw := bufio.NewWriter(w)
	for line := 1; sc.Scan(); line++ {
		var ids []int
		if err := json.Unmarshal(sc.Bytes(), &ids); err != nil {
			return fmt.Errorf("line %d: want a JSON array of ids: %w", line, err)
		}
		for _, id := range ids {
			if id < 0 || id >= t.VocabSize() {
				return fmt.Errorf("line %d: id %d outside the vocabulary (0…%d)", line, id, t.VocabSize()-1)
			}
		}
		bw.WriteString(t.Decode(ids))
		bw.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}
