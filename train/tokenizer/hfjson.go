package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/medmd/medmd/shards"
)

// addedToken is one entry of tokenizer.json's "added_tokens".
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// hfFile is the part of Hugging Face's tokenizer.json this package reads
// and writes. Field order follows what the `tokenizers` library writes.
type hfFile struct {
	Version       string          `json:"version"`
	Truncation    any             `json:"truncation"`
	Padding       any             `json:"padding"`
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor any             `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         hfModel         `json:"model"`
}

type hfModel struct {
	Type                    string          `json:"type"`
	Dropout                 any             `json:"dropout"`
	UnkToken                any             `json:"unk_token"`
	ContinuingSubwordPrefix any             `json:"continuing_subword_prefix"`
	EndOfWordSuffix         any             `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   orderedVocab    `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// orderedVocab marshals token → id sorted by id, as `tokenizers` does.
type orderedVocab map[string]int

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return v[keys[i]] < v[keys[j]] })
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		fmt.Fprintf(&b, "%s:%d", kb, v[k])
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

const byteLevelJSON = `{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}`

// Save writes the tokenizer as a Hugging Face tokenizer.json (atomically:
// a temporary file renamed into place).
func (t *Tokenizer) Save(path string) error {
	f := hfFile{
		Version:     "1.0",
		AddedTokens: t.addedTokens,
		Normalizer:  json.RawMessage("null"),
		Model: hfModel{
			Type:    "BPE",
			Vocab:   orderedVocab(t.vocab),
			FuseUnk: false,
		},
	}
	if t.raw != nil {
		// A loaded file: the same steps and model flags, so that the saved
		// copy gives the same ids (LLaMA-3's Split regex, LLaMA-2's legacy
		// normalizer, which differs from a Metaspace pre-tokenizer after
		// added tokens).
		f.Normalizer, f.PreTokenizer, f.Decoder = t.raw.Normalizer, t.raw.PreTokenizer, t.raw.Decoder
		f.PostProcessor, f.Truncation, f.Padding = t.raw.PostProcessor, t.raw.Truncation, t.raw.Padding
		m := t.raw.Model
		m.Vocab = f.Model.Vocab
		f.Model = m
	} else if t.Mode == ByteLevel {
		f.PreTokenizer = json.RawMessage(byteLevelJSON)
		f.Decoder = json.RawMessage(byteLevelJSON)
	} else {
		f.PreTokenizer = json.RawMessage(`{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`)
		f.Decoder = json.RawMessage(`{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]}`)
		f.Model.ByteFallback = true
	}
	merges := make([]string, len(t.merges))
	for i, m := range t.merges {
		merges[i] = m[0] + " " + m[1]
	}
	mb, _ := json.Marshal(merges)
	f.Model.Merges = mb
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return shards.PublishBytes(nil, path, b)
}

// maxTokenizerJSON bounds a gzipped tokenizer.json's uncompressed size
// (LLaMA-3's is 9 MB; Gemma's, among the largest, 34 MB).
const maxTokenizerJSON = 256 << 20

// Load reads a Hugging Face tokenizer.json holding a BPE model: byte-level
// (GPT-2, LLaMA-3, this package's own) or SentencePiece-style with "▁" and
// byte fallback (LLaMA-2, Mistral: the legacy Prepend+Replace normalizer or
// a Metaspace pre-tokenizer). Special tokens are found by their usual names;
// <image> and </image> are appended to the vocabulary when missing.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		// gzip (tokenizer.json.gz): LLaMA-3's 9 MB file is 2 MB gzipped.
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err == nil {
			b, err = io.ReadAll(io.LimitReader(zr, maxTokenizerJSON+1))
		}
		if err != nil {
			return nil, fmt.Errorf("tokenizer %s: %w", path, err)
		}
		if len(b) > maxTokenizerJSON {
			return nil, fmt.Errorf("tokenizer %s: more than %d bytes uncompressed", path, maxTokenizerJSON)
		}
	}
	t, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// preTokenizer is the part of a tokenizer.json pre_tokenizer that selects
// the word-splitting regex.
type preTokenizer struct {
	Type          string                          `json:"type"`
	UseRegex      *bool                           `json:"use_regex"`
	Pattern       struct{ Regex, String *string } `json:"pattern"`
	Behavior      string                          `json:"behavior"`
	Invert        bool                            `json:"invert"`
	PreTokenizers []preTokenizer                  `json:"pretokenizers"`
}

// byteLevelPretok recognises the two byte-level layouts: a ByteLevel
// pre-tokenizer with its GPT-2 regex, or a Sequence of Split(LLaMA-3
// regex, Isolated) and ByteLevel without regex. Anything else would split
// words differently from Hugging Face, so it is refused.
func byteLevelPretok(raw json.RawMessage) (pretokKind, error) {
	var p preTokenizer
	if err := json.Unmarshal(raw, &p); err != nil {
		return 0, fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch {
	case p.Type == "ByteLevel" && (p.UseRegex == nil || *p.UseRegex):
		return pretokGPT2, nil
	case p.Type == "Sequence" && len(p.PreTokenizers) == 2:
		s, bl := p.PreTokenizers[0], p.PreTokenizers[1]
		if s.Type == "Split" && s.Pattern.Regex != nil && *s.Pattern.Regex == llama3Pattern &&
			s.Behavior == "Isolated" && !s.Invert &&
			bl.Type == "ByteLevel" && bl.UseRegex != nil && !*bl.UseRegex {
			return pretokLlama3, nil
		}
	}
	return 0, fmt.Errorf("unsupported byte-level pre_tokenizer (want ByteLevel with its regex, or Split with the LLaMA-3 regex then ByteLevel): %s", raw)
}

func parse(b []byte) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Model.Type != "BPE" && f.Model.Type != "" {
		return nil, fmt.Errorf("model type %q: only BPE is supported", f.Model.Type)
	}
	if len(f.Model.Vocab) == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	t := &Tokenizer{vocab: map[string]int{}, ranks: map[[2]string]int{}, special: map[int]bool{}}
	pre := string(f.PreTokenizer) + string(f.Normalizer)
	if strings.Contains(pre, "ByteLevel") {
		t.Mode = ByteLevel
		kind, err := byteLevelPretok(f.PreTokenizer)
		if err != nil {
			return nil, err
		}
		t.pretok = kind
	} else if strings.Contains(pre, "▁") || f.Model.ByteFallback {
		t.Mode = Metaspace
		ms, err := parseMetaspace(f.Normalizer, f.PreTokenizer)
		if err != nil {
			return nil, err
		}
		t.ms = ms
		if t.decoder, err = parseSteps(f.Decoder, "decoder"); err != nil {
			return nil, err
		}
		for _, d := range t.decoder {
			switch d.Type {
			case "Replace", "ByteFallback", "Fuse", "Strip", "Metaspace":
			default:
				return nil, fmt.Errorf("unsupported decoder %q in a SentencePiece-style tokenizer (want Replace, ByteFallback, Fuse, Strip or Metaspace)", d.Type)
			}
		}
		t.byteFallback, t.fuseUnk = f.Model.ByteFallback, f.Model.FuseUnk
	} else {
		return nil, fmt.Errorf("unsupported pre-tokenizer/normalizer (want ByteLevel or Metaspace): %s", pre)
	}
	t.ignoreMerges = f.Model.IgnoreMerges
	// Save writes a loaded file's steps and model flags back as they were.
	raw := f
	raw.AddedTokens, raw.Model.Vocab, raw.Model.Merges = nil, nil, nil
	t.raw = &raw
	maxID := -1
	for tok, id := range f.Model.Vocab {
		if id < 0 || id > 2_000_000 {
			return nil, fmt.Errorf("token %q has id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID > 2_000_000 {
			return nil, fmt.Errorf("added token %q has id %d", a.Content, a.ID)
		}
		maxID = max(maxID, a.ID)
	}
	t.tokens = make([]string, maxID+1)
	for tok, id := range f.Model.Vocab {
		t.vocab[tok] = id
		t.tokens[id] = tok
	}
	for _, a := range f.AddedTokens {
		t.vocab[a.Content] = a.ID
		t.tokens[a.ID] = a.Content
		if a.Special {
			t.special[a.ID] = true
		}
		t.addedTokens = append(t.addedTokens, a)
		if a.Content != "" {
			if t.splitAdded == nil {
				t.splitAdded = map[byte][]addedToken{}
			}
			t.splitAdded[a.Content[0]] = append(t.splitAdded[a.Content[0]], a)
		}
	}
	// merges: ["a b", ...] (classic) or [["a","b"], ...] (tokenizers ≥ 0.20).
	var ms []string
	var mp [][2]string
	if len(f.Model.Merges) > 0 && string(f.Model.Merges) != "null" {
		if err := json.Unmarshal(f.Model.Merges, &ms); err != nil {
			ms = nil
			if err2 := json.Unmarshal(f.Model.Merges, &mp); err2 != nil {
				return nil, fmt.Errorf("merges: %v", err)
			}
		}
	}
	for i, m := range ms {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("merge %d %q has no space", i, m)
		}
		mp = append(mp, [2]string{a, b})
	}
	for _, p := range mp {
		if _, dup := t.ranks[p]; !dup {
			t.ranks[p] = len(t.merges)
			t.merges = append(t.merges, p)
		}
	}
	if t.Mode == Metaspace {
		t.unkID = -1
		if u, ok := f.Model.UnkToken.(string); ok {
			id, found := t.vocab[u]
			if !found {
				return nil, fmt.Errorf("unk_token %q is not in the vocabulary", u)
			}
			t.unkID = id
		}
		if err := t.buildIDMerges(); err != nil {
			return nil, err
		}
	}
	find := func(names ...string) int {
		for _, n := range names {
			if id, ok := t.vocab[n]; ok {
				return id
			}
		}
		return -1
	}
	t.BOSID = find(BOS, "<|begin_of_text|>", "<|startoftext|>", "<|endoftext|>", "<bos>")
	t.EOSID = find(EOS, "<|end_of_text|>", "<|endoftext|>", "<|eot_id|>", "<eos>")
	t.PadID = find(Pad, "<|pad|>", "[PAD]", "<unk>")
	if t.EOSID < 0 {
		return nil, fmt.Errorf("no end-of-sequence token (looked for %s, <|end_of_text|>, <|endoftext|>)", EOS)
	}
	if t.BOSID < 0 {
		t.BOSID = t.EOSID
	}
	if t.PadID < 0 {
		t.PadID = t.EOSID
	}
	for _, s := range []string{ImageTok, ImageEnd} {
		if _, ok := t.vocab[s]; !ok {
			id := len(t.tokens)
			t.vocab[s] = id
			t.tokens = append(t.tokens, s)
			t.addedTokens = append(t.addedTokens, addedToken{ID: id, Content: s, Special: true})
		}
		t.special[t.vocab[s]] = true
	}
	t.ImageID, t.ImageEndID = t.vocab[ImageTok], t.vocab[ImageEnd]
	for _, id := range []int{t.PadID, t.BOSID, t.EOSID} {
		t.special[id] = true
	}
	return t, nil
}
