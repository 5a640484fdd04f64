package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// readJSONL decodes every line of path into a new T.
func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHFParity checks ids and decoded text against Hugging Face
// `tokenizers` on testdata/hf/corpus.jsonl (references made by
// testdata/hf/make_reference.js).
func TestHFParity(t *testing.T) {
	corpus := readJSONL[string](t, "testdata/hf/corpus.jsonl")
	for _, tc := range []struct {
		name, file string
		variant    string // "": the file; else the Metaspace variant of metaspaceVariant
	}{
		{name: "llama3", file: "llama3.json.gz"},
		{name: "medmd", file: "medmd.json"},
		{name: "mistral", file: "mistral.json.gz"},
		{name: "mistral-metaspace", file: "mistral.json.gz", variant: "metaspace"},
		{name: "mistral-metaspace_split", file: "mistral.json.gz", variant: "metaspace_split"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(filepath.Join("testdata/hf", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.variant != "" {
				tok = metaspaceVariant(t, filepath.Join("testdata/hf", tc.file), tc.variant)
			}
			refs := readJSONL[struct {
				IDs     []int  `json:"ids"`
				Decoded string `json:"decoded"`
			}](t, filepath.Join("testdata/hf", tc.name+".ids.jsonl"))
			if len(refs) != len(corpus) {
				t.Fatalf("%d references for %d texts", len(refs), len(corpus))
			}
			bad := 0
			for i, text := range corpus {
				ids, spans := tok.Encode(text)
				if len(ids) == 0 {
					ids = []int{}
				}
				if !reflect.DeepEqual(ids, refs[i].IDs) {
					bad++
					if bad <= 5 {
						t.Errorf("text %d %q:\n got %v\nwant %v", i, text, ids, refs[i].IDs)
					}
					continue
				}
				if got := tok.Decode(ids); got != refs[i].Decoded {
					bad++
					if bad <= 5 {
						t.Errorf("decode %d: got %q want %q", i, got, refs[i].Decoded)
					}
				}
				// Spans tile the text; only a SentencePiece "▁" that was
				// prepended (no source bytes) may be empty.
				pos := 0
				for k, s := range spans {
					if s[0] != pos || s[1] < s[0] || (s[1] == s[0] && tok.Token(ids[k]) != "▁") {
						t.Fatalf("text %d: spans %v do not tile the text", i, spans)
					}
					pos = s[1]
				}
				if pos != len(text) {
					t.Fatalf("text %d: spans end at %d of %d", i, pos, len(text))
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d texts differ", bad, len(corpus))
			}
			// Saved and loaded again, the tokenizer gives the same ids
			// (every 7th text, to keep the test short).
			p := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := tok.Save(p); err != nil {
				t.Fatal(err)
			}
			again, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(corpus); i += 7 {
				a, _ := tok.Encode(corpus[i])
				b, _ := again.Encode(corpus[i])
				if !reflect.DeepEqual(a, b) {
					t.Fatalf("text %d %q: saved copy gives %v, want %v", i, corpus[i], b, a)
				}
			}
		})
	}
}

// metaspaceVariant is the tokenizer.json at path with its normalizer
// removed and a Metaspace pre-tokenizer in its place: "metaspace" is
// prepend_scheme "first" without split (how transformers writes a
// LLaMA-2-style tokenizer converted with legacy=False); "metaspace_split"
// is prepend_scheme "always" with split and a Metaspace decoder (older
// SentencePiece conversions). make_reference.js builds the same variants.
func metaspaceVariant(t *testing.T, path, variant string) *Tokenizer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if b, err = io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	f["normalizer"] = json.RawMessage("null")
	f["pre_tokenizer"] = json.RawMessage(`{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`)
	if variant == "metaspace_split" {
		f["pre_tokenizer"] = json.RawMessage(`{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`)
		f["decoder"] = f["pre_tokenizer"]
	}
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	tok, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
