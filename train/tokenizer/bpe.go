// Package tokenizer is a byte-level BPE tokenizer that trains on corpus
// text and reads and writes Hugging Face tokenizer.json files.
//
// Why not github.com/sugarme/tokenizer: the module proxy this project builds
// from does not serve it, and the
// trainer needs only a small, dependency-free part of it — byte-level BPE
// training, encoding with byte offsets (for per-token loss weights) and the
// tokenizer.json layout — which this package implements in a few hundred
// lines. It also loads SentencePiece-style BPE tokenizer.json files
// (LLaMA-2: Metaspace "▁" words with byte fallback), so a user's LLaMA-family
// tokenizer can replace the trained one.
package tokenizer

import (
	"container/heap"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Special token strings. Trained tokenizers put them at ids 0..4.
const (
	Pad      = "<pad>"
	BOS      = "<s>"
	EOS      = "</s>"
	ImageTok = "<image>"
	ImageEnd = "</image>"
)

// Mode says how text is split into words and mapped to symbols.
type Mode int

const (
	// ByteLevel is GPT-2 / LLaMA-3 style: every byte maps to one printable
	// rune; words are split GPT-2 style.
	ByteLevel Mode = iota
	// Metaspace is SentencePiece style (LLaMA-2): spaces become "▁", a "▁"
	// is prepended, and characters missing from the vocabulary fall back
	// to <0xXX> byte tokens.
	Metaspace
)

// pretokKind names the regex that splits text into words before BPE.
type pretokKind int

const (
	pretokGPT2   pretokKind = iota // ByteLevel with use_regex (splitWords)
	pretokLlama3                   // Split(llama3Pattern) then ByteLevel without regex
)

// Tokenizer is a BPE tokenizer.
type Tokenizer struct {
	Mode   Mode
	vocab  map[string]int
	tokens []string // id → token ("" for holes)
	ranks  map[[2]string]int
	merges [][2]string
	// special ids
	PadID, BOSID, EOSID, ImageID, ImageEndID int
	special                                  map[int]bool
	addedTokens                              []addedToken
	// splitAdded indexes the added tokens of a loaded tokenizer.json by
	// their first byte; Encode matches them in the text before BPE.
	splitAdded   map[byte][]addedToken
	pretok       pretokKind
	ignoreMerges bool
	// SentencePiece-style files (Mode Metaspace): the normalizer and
	// pre-tokenizer steps, BPE merges by id, the byte-fallback tokens
	// (-1 when missing) and the decoder steps.
	ms           metaspaceSteps
	idMerges     map[[2]int][2]int
	byteIDs      [256]int
	byteFallback bool
	fuseUnk      bool
	unkID        int
	decoder      []hfStep
	// raw keeps a loaded file's normalizer, pre-tokenizer, post-processor
	// and decoder so that Save writes back the same behaviour.
	raw     *hfFile
	cache   map[string][]int
	cacheMu sync.Mutex // Encode may run on several goroutines
}

// VocabSize is one more than the largest id.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Token returns the string of id.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsSpecial reports whether id is a special (added) token.
func (t *Tokenizer) IsSpecial(id int) bool { return t.special[id] }

var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	// GPT-2's reversible byte → printable-rune table.
	var b2r [256]rune
	r2b := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()

// span is a word of the input: its byte range.
type span struct{ start, end int }

// splitWords splits text like GPT-2's pre-tokenizer regex
// ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+),
// written out by hand because Go's regexp has no lookahead. Returns byte
// ranges that cover all of text.
func splitWords(text string) []span {
	class := func(r rune) int {
		switch {
		case unicode.IsLetter(r):
			return 1
		case unicode.IsNumber(r):
			return 2
		case unicode.IsSpace(r):
			return 3
		}
		return 4
	}
	n := len(text)
	run := func(j, c int) int { // end of the run of class c starting at j
		for j < n {
			r, sz := utf8.DecodeRuneInString(text[j:])
			if class(r) != c {
				break
			}
			j += sz
		}
		return j
	}
	var out []span
	for i := 0; i < n; {
		r, sz := utf8.DecodeRuneInString(text[i:])
		if r == '\'' {
			matched := false
			for _, c := range []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"} {
				if strings.HasPrefix(text[i:], c) {
					out = append(out, span{i, i + len(c)})
					i += len(c)
					matched = true
					break
				}
			}
			if matched {
				continue
			}
		}
		c := class(r)
		if r == ' ' && i+1 < n {
			r2, _ := utf8.DecodeRuneInString(text[i+1:])
			if c2 := class(r2); c2 != 3 {
				j := run(i+1, c2)
				out = append(out, span{i, j})
				i = j
				continue
			}
		}
		if c != 3 {
			j := run(i, c)
			out = append(out, span{i, j})
			i = j
			continue
		}
		j := run(i, 3)
		if j < n {
			// leave the last whitespace rune to the following word
			_, lsz := utf8.DecodeLastRuneInString(text[i:j])
			if j-lsz > i {
				j -= lsz
			}
		}
		_ = sz
		out = append(out, span{i, j})
		i = j
	}
	return out
}

// symbols maps a word's bytes to BPE symbols (one per byte for ByteLevel).
func byteSymbols(word string) []string {
	s := make([]string, len(word))
	for i := 0; i < len(word); i++ {
		s[i] = string(byteToRune[word[i]])
	}
	return s
}

// bpe merges symbols by rank until no known pair remains.
func (t *Tokenizer) bpe(sym []string) []string {
	for len(sym) > 1 {
		best, bi := -1, -1
		for i := 0; i+1 < len(sym); i++ {
			if r, ok := t.ranks[[2]string{sym[i], sym[i+1]}]; ok && (best < 0 || r < best) {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		a, b := sym[bi], sym[bi+1]
		out := sym[:0:0]
		for i := 0; i < len(sym); i++ {
			if i+1 < len(sym) && sym[i] == a && sym[i+1] == b {
				out = append(out, a+b)
				i++
			} else {
				out = append(out, sym[i])
			}
		}
		sym = out
	}
	return sym
}

// Encode tokenizes text (no special tokens added) and returns each token's
// byte range [start, end) in text. Like Hugging Face `tokenizers`, the
// added tokens of a loaded tokenizer.json (<|begin_of_text|>, <s>, …) are
// matched in the text first, leftmost-longest, and the pieces between them
// go through the pre-tokenizer and BPE.
func (t *Tokenizer) Encode(text string) (ids []int, spans [][2]int) {
	if t.Mode == Metaspace {
		return t.encodeMetaspace(text)
	}
	pos := 0
	for pos <= len(text) {
		at, n, id := t.nextAdded(text, pos)
		ids, spans = t.encodeByteLevel(text, pos, at, ids, spans)
		if n == 0 {
			break
		}
		ids = append(ids, id)
		spans = append(spans, [2]int{at, at + n})
		pos = at + n
	}
	return ids, spans
}

// nextAdded finds the first added token in text at or after pos (the
// longest one starting there); n = 0 and at = len(text) when there is none.
func (t *Tokenizer) nextAdded(text string, pos int) (at, n, id int) {
	if len(t.splitAdded) == 0 {
		return len(text), 0, 0
	}
	for i := pos; i < len(text); i++ {
		for _, a := range t.splitAdded[text[i]] {
			if len(a.Content) > n && strings.HasPrefix(text[i:], a.Content) {
				n, id = len(a.Content), a.ID
			}
		}
		if n > 0 {
			return i, n, id
		}
	}
	return len(text), 0, 0
}

// encodeByteLevel appends the tokens of text[from:to] (no added tokens in
// it) with byte ranges in text.
func (t *Tokenizer) encodeByteLevel(text string, from, to int, ids []int, spans [][2]int) ([]int, [][2]int) {
	seg := text[from:to]
	var words []span
	if t.pretok == pretokLlama3 {
		words = splitLlama3(seg)
	} else {
		words = splitWords(seg)
	}
	for _, w := range words {
		word := seg[w.start:w.end]
		t.cacheMu.Lock()
		toks, ok := t.cache[word]
		t.cacheMu.Unlock()
		if !ok {
			toks = t.wordTokens(word)
			t.cacheMu.Lock()
			if t.cache == nil {
				t.cache = map[string][]int{}
			}
			if len(t.cache) < 1<<16 {
				t.cache[word] = toks
			}
			t.cacheMu.Unlock()
		}
		pos := from + w.start
		for _, id := range toks {
			n := utf8.RuneCountInString(t.tokens[id]) // one rune per byte
			ids = append(ids, id)
			spans = append(spans, [2]int{pos, min(pos+n, from+w.end)})
			pos += n
		}
	}
	return ids, spans
}

// wordTokens is BPE on one pre-tokenized word. With ignore_merges (LLaMA-3)
// a word that is itself in the vocabulary is one token, whatever the merges
// would make of it.
func (t *Tokenizer) wordTokens(word string) []int {
	sym := byteSymbols(word)
	if t.ignoreMerges {
		if id, ok := t.vocab[strings.Join(sym, "")]; ok {
			return []int{id}
		}
	}
	var toks []int
	for _, s := range t.bpe(sym) {
		id, ok := t.vocab[s]
		if !ok {
			// unmergeable symbol outside the vocab: split to bytes
			for _, r := range s {
				if id, ok := t.vocab[string(r)]; ok {
					toks = append(toks, id)
				}
			}
			continue
		}
		toks = append(toks, id)
	}
	return toks
}

// Decode turns ids back into text, skipping special tokens.
func (t *Tokenizer) Decode(ids []int) string {
	if t.Mode == Metaspace {
		toks := make([]string, 0, len(ids))
		for _, id := range ids {
			if id >= 0 && id < len(t.tokens) && !t.special[id] {
				toks = append(toks, t.tokens[id])
			}
		}
		return decodeSteps(t.decoder, toks)
	}
	var buf []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || t.special[id] {
			continue
		}
		s := t.tokens[id]
		for _, r := range s {
			if b, ok := runeToByte[r]; ok {
				buf = append(buf, b)
			}
		}
	}
	return string(buf)
}

// Train learns a byte-level BPE vocabulary of at most vocabSize tokens
// (5 specials + 256 bytes + merges) from texts. Deterministic: ties between
// equally frequent pairs go to the lexicographically smallest.
func Train(texts []string, vocabSize int) (*Tokenizer, error) {
	base := 5 + 256
	if vocabSize < base {
		return nil, fmt.Errorf("tokenizer: vocab size %d < %d (specials + bytes)", vocabSize, base)
	}
	t := newByteLevel()
	// Count words.
	counts := map[string]int{}
	for _, text := range texts {
		for _, w := range splitWords(text) {
			counts[text[w.start:w.end]]++
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Strings(words)
	syms := make([][]string, len(words))
	freq := make([]int, len(words))
	pairs := map[[2]string]int{}
	where := map[[2]string]map[int]bool{}
	addWord := func(wi, sign int) {
		s := syms[wi]
		for i := 0; i+1 < len(s); i++ {
			p := [2]string{s[i], s[i+1]}
			pairs[p] += sign * freq[wi]
			if sign > 0 {
				if where[p] == nil {
					where[p] = map[int]bool{}
				}
				where[p][wi] = true
			}
		}
	}
	for i, w := range words {
		syms[i] = byteSymbols(w)
		freq[i] = counts[w]
		addWord(i, 1)
	}
	// Most frequent pair first from a max-heap with lazy deletion: an entry
	// is live only while its count equals the pair's current count.
	h := &pairHeap{}
	for p, c := range pairs {
		heap.Push(h, pairCount{p, c})
	}
	touched := map[[2]string]bool{}
	for len(t.tokens) < vocabSize {
		var best [2]string
		bc := 0
		for h.Len() > 0 {
			top := heap.Pop(h).(pairCount)
			if c := pairs[top.p]; c == top.c && c > 0 {
				best, bc = top.p, c
				break
			}
		}
		if bc < 2 {
			break
		}
		merged := best[0] + best[1]
		t.addMerge(best)
		affected := make([]int, 0, len(where[best]))
		for wi := range where[best] {
			affected = append(affected, wi)
		}
		sort.Ints(affected)
		clear(touched)
		for _, wi := range affected {
			s := syms[wi]
			for i := 0; i+1 < len(s); i++ {
				touched[[2]string{s[i], s[i+1]}] = true
			}
			addWord(wi, -1)
			out := make([]string, 0, len(s))
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, merged)
					i++
				} else {
					out = append(out, s[i])
				}
			}
			syms[wi] = out
			addWord(wi, 1)
			for i := 0; i+1 < len(out); i++ {
				touched[[2]string{out[i], out[i+1]}] = true
			}
		}
		delete(pairs, best)
		delete(where, best)
		for p := range touched {
			if c := pairs[p]; c > 0 {
				heap.Push(h, pairCount{p, c})
			} else {
				delete(pairs, p)
			}
		}
	}
	return t, nil
}

func newByteLevel() *Tokenizer {
	t := &Tokenizer{Mode: ByteLevel, vocab: map[string]int{}, ranks: map[[2]string]int{}, special: map[int]bool{}}
	for _, s := range []string{Pad, BOS, EOS, ImageTok, ImageEnd} {
		id := t.add(s)
		t.special[id] = true
		t.addedTokens = append(t.addedTokens, addedToken{ID: id, Content: s, Special: true})
	}
	t.PadID, t.BOSID, t.EOSID, t.ImageID, t.ImageEndID = 0, 1, 2, 3, 4
	for b := 0; b < 256; b++ {
		t.add(string(byteToRune[b]))
	}
	return t
}

func (t *Tokenizer) add(tok string) int {
	if id, ok := t.vocab[tok]; ok {
		return id
	}
	id := len(t.tokens)
	t.vocab[tok] = id
	t.tokens = append(t.tokens, tok)
	return id
}

func (t *Tokenizer) addMerge(p [2]string) {
	t.ranks[p] = len(t.merges)
	t.merges = append(t.merges, p)
	t.add(p[0] + p[1])
}

type pairCount struct {
	p [2]string
	c int
}

// pairHeap orders by count, then by the pair's text (deterministic ties).
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].c != h[j].c {
		return h[i].c > h[j].c
	}
	if h[i].p[0] != h[j].p[0] {
		return h[i].p[0] < h[j].p[0]
	}
	return h[i].p[1] < h[j].p[1]
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
