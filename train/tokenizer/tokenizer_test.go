package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var corpus = []string{
	"Axial CT of the chest shows a 3.2 cm mass in the right upper lobe.",
	"No acute intracranial abnormality. Mild cerebral atrophy.",
	"Chest radiograph: small left pleural effusion, no pneumothorax.",
	"MRI brain: T2 hyperintense lesion in the left frontal lobe.",
	"Ultrasound of the liver shows a hypoechoic lesion.",
	"Patient's CT didn't show pulmonary embolism; it's normal.",
	"Über-dense lesion ≥ 5mm — café au lait",
}

func TestSplitWordsMatchesGPT2Regex(t *testing.T) {
	b, err := os.ReadFile("testdata/pretok_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text  string
		Words []string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var got []string
		for _, s := range splitWords(c.Text) {
			got = append(got, c.Text[s.start:s.end])
		}
		if len(got) == 0 && len(c.Words) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.Words) {
			t.Errorf("%q:\n got %q\nwant %q", c.Text, got, c.Words)
		}
	}
}

func TestTrainRoundTripAndHFJSON(t *testing.T) {
	tok, err := Train(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() <= 261 || tok.VocabSize() > 400 {
		t.Fatalf("vocab size %d", tok.VocabSize())
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("tokenizer.json mode %v (%v), want 0644", fi.Mode(), err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	texts := append([]string{"unseen words: gadolinium-enhanced T1 😀", ""}, corpus...)
	for _, text := range texts {
		ids, spans := tok.Encode(text)
		if got := tok.Decode(ids); got != text {
			t.Errorf("round trip %q -> %q", text, got)
		}
		ids2, _ := loaded.Encode(text)
		if !reflect.DeepEqual(ids, ids2) {
			t.Errorf("loaded tokenizer encodes %q differently", text)
		}
		// spans tile the text in order
		pos := 0
		for i, s := range spans {
			if s[0] != pos || s[1] <= s[0] {
				t.Fatalf("%q: span %d = %v, want start %d", text, i, s, pos)
			}
			pos = s[1]
		}
		if pos != len(text) {
			t.Errorf("%q: spans end at %d, want %d", text, pos, len(text))
		}
	}
	// compression: trained merges make common words single tokens
	ids, _ := tok.Encode(" lesion")
	if len(ids) != 1 {
		t.Errorf("' lesion' -> %d tokens, want 1", len(ids))
	}
	for _, c := range []struct {
		id   int
		want string
	}{{tok.PadID, Pad}, {tok.BOSID, BOS}, {tok.EOSID, EOS}, {tok.ImageID, ImageTok}, {tok.ImageEndID, ImageEnd}} {
		if tok.Token(c.id) != c.want || !loaded.IsSpecial(c.id) || loaded.Token(c.id) != c.want {
			t.Errorf("special %s at %d: %q", c.want, c.id, loaded.Token(c.id))
		}
	}
	// Hugging Face structure.
	b, _ := os.ReadFile(path)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("tokenizer.json lacks %q", k)
		}
	}
	model := raw["model"].(map[string]any)
	if model["type"] != "BPE" {
		t.Errorf("model.type = %v", model["type"])
	}
	if v := model["vocab"].(map[string]any); len(v) != tok.VocabSize() || v["Ġ"] == nil {
		t.Errorf("model.vocab has %d entries (want %d) or lacks Ġ", len(v), tok.VocabSize())
	}
	if m := model["merges"].([]any); len(m) != tok.VocabSize()-261 || !strings.Contains(m[0].(string), " ") {
		t.Errorf("model.merges: %d", len(m))
	}
	if pt := raw["pre_tokenizer"].(map[string]any); pt["type"] != "ByteLevel" {
		t.Errorf("pre_tokenizer %v", pt)
	}
	added := raw["added_tokens"].([]any)
	if len(added) != 5 || added[3].(map[string]any)["content"] != ImageTok {
		t.Errorf("added_tokens %v", added)
	}
}

func TestTrainDeterministic(t *testing.T) {
	a, _ := Train(corpus, 350)
	b, _ := Train(corpus, 350)
	if !reflect.DeepEqual(a.merges, b.merges) {
		t.Fatal("two trainings on the same text differ")
	}
}

// A SentencePiece-style (LLaMA-2 layout) tokenizer.json: "▁" words, byte
// fallback, merges as pairs, no <image> tokens (they get appended).
const llamaStyle = `{
 "version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [
  {"id":0,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
  {"id":1,"content":"<s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},
  {"id":2,"content":"</s>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
 "normalizer": {"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
 "pre_tokenizer": null, "post_processor": null,
 "decoder": {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
 "model": {"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":null,"end_of_word_suffix":null,
  "fuse_unk":true,"byte_fallback":true,
  "vocab": {"<unk>":0,"<s>":1,"</s>":2,"<0x21>":3,"<0xC3>":4,"<0xA9>":5,"▁":6,"c":7,"t":8,"l":9,"u":10,"n":11,"g":12,"▁c":13,"▁l":14,"un":15,"ng":16,"▁lung":17,"▁ct":18,"lu":19,"▁lu":20,"▁lun":21},
  "merges": [["▁","c"],["▁","l"],["▁l","u"],["▁lu","n"],["▁lun","g"],["▁c","t"],["u","n"],["n","g"]]}
}`

func TestLoadLlamaStyle(t *testing.T) {
	tok, err := parse([]byte(llamaStyle))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Mode != Metaspace || tok.BOSID != 1 || tok.EOSID != 2 || tok.ImageID != 22 || tok.ImageEndID != 23 {
		t.Fatalf("mode %v bos %d eos %d image %d/%d", tok.Mode, tok.BOSID, tok.EOSID, tok.ImageID, tok.ImageEndID)
	}
	ids, spans := tok.Encode("lung ct!é")
	want := []int{17, 18, 3, 4, 5}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v want %v (tokens %q)", ids, want, tok.tokens)
	}
	if spans[0] != [2]int{0, 4} {
		t.Errorf("span of ▁lung = %v", spans[0])
	}
	if got := tok.Decode(ids); got != "lung ct!é" {
		t.Errorf("decode %q", got)
	}
	// A lone byte of a multi-byte character is U+FFFD, as in tokenizers.
	if got := tok.Decode([]int{17, 4}); got != "lung\uFFFD" {
		t.Errorf("decode of a broken byte run %q", got)
	}
	// Saved and loaded again, the legacy normalizer (a "▁" prepended to
	// every piece between added tokens) is kept.
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := tok.Save(p); err != nil {
		t.Fatal(err)
	}
	again, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"lung ct!é", "ct</s> lung", "  lung"} {
		a, _ := tok.Encode(text)
		b, _ := again.Encode(text)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q: saved copy gives %v, want %v", text, b, a)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(llamaStyle))
	tok, _ := Train(corpus[:2], 300)
	p := filepath.Join(f.TempDir(), "t.json")
	if err := tok.Save(p); err == nil {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parse(b)
		if err != nil {
			return
		}
		ids, _ := tok.Encode("chest ct ▁ é")
		_ = tok.Decode(ids)
	})
}
