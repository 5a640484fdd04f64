package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SentencePiece-style BPE (LLaMA-2, Mistral): text is normalised so that
// spaces become "▁" (and, depending on the file, one "▁" is prepended),
// BPE runs on the result, and characters outside the vocabulary become
// <0xXX> byte tokens. The steps are read from tokenizer.json and applied
// as Hugging Face `tokenizers` applies them:
//
//   - added tokens (<s>, </s>, …) are cut out of the raw text first, and
//     every piece between them is normalised on its own;
//   - the normalizer is nothing, or a Prepend and/or a Replace (LLaMA-2's
//     "legacy" files: Prepend "▁" to every non-empty piece, then " " → "▁");
//   - the pre-tokenizer is nothing, or Metaspace (newer files: " " → "▁",
//     a "▁" prepended to a piece not starting with one — always, or only
//     to the piece at the start of the text — and with split, words cut
//     before each "▁");
//   - without a splitting pre-tokenizer the whole piece is one BPE word, so
//     runs of spaces merge into "▁▁" tokens as SentencePiece does.

// metaspaceSteps is what Encode does to each piece of text between added
// tokens, read from the normalizer and pre_tokenizer of tokenizer.json.
type metaspaceSteps struct {
	prepend      string // normalizer Prepend ("" for none)
	replaceFrom  string // normalizer Replace pattern ("" for none)
	replaceTo    string
	metaspace    bool   // a Metaspace pre-tokenizer is present
	replacement  string // its replacement string ("▁")
	prependFirst bool   // prepend only to the piece at offset 0
	prependNever bool
	split        bool // cut words before each replacement
}

// hfStep is one normalizer, pre-tokenizer or decoder of tokenizer.json
// (the union of the fields this package reads).
type hfStep struct {
	Type          string   `json:"type"`
	Normalizers   []hfStep `json:"normalizers"`
	PreTokenizers []hfStep `json:"pretokenizers"`
	Decoders      []hfStep `json:"decoders"`
	Prepend       string   `json:"prepend"`
	Pattern       struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Content        string `json:"content"`
	Replacement    string `json:"replacement"`
	PrependScheme  string `json:"prepend_scheme"`
	AddPrefixSpace *bool  `json:"add_prefix_space"`
	Split          *bool  `json:"split"`
	Start          int    `json:"start"`
	Stop           int    `json:"stop"`
}

// flatten lists the steps of a (possibly nested) Sequence in order.
func (s hfStep) flatten() []hfStep {
	if s.Type != "Sequence" {
		return []hfStep{s}
	}
	var out []hfStep
	for _, l := range [][]hfStep{s.Normalizers, s.PreTokenizers, s.Decoders} {
		for _, c := range l {
			out = append(out, c.flatten()...)
		}
	}
	return out
}

// parseSteps decodes an optional step ("null" or absent gives none).
func parseSteps(raw json.RawMessage, what string) ([]hfStep, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s hfStep
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return s.flatten(), nil
}

// parseMetaspace reads the normalizer and pre-tokenizer of a
// SentencePiece-style file. Steps it does not implement are refused: they
// would change the ids silently.
func parseMetaspace(normalizer, preTokenizer json.RawMessage) (metaspaceSteps, error) {
	var m metaspaceSteps
	ns, err := parseSteps(normalizer, "normalizer")
	if err != nil {
		return m, err
	}
	for _, n := range ns {
		switch {
		case n.Type == "Prepend" && m.prepend == "" && m.replaceFrom == "":
			m.prepend = n.Prepend
		case n.Type == "Replace" && n.Pattern.String != nil && *n.Pattern.String != "" && m.replaceFrom == "":
			m.replaceFrom, m.replaceTo = *n.Pattern.String, n.Content
		default:
			return m, fmt.Errorf("unsupported normalizer %q in a SentencePiece-style tokenizer (want Prepend then Replace of a string)", n.Type)
		}
	}
	ps, err := parseSteps(preTokenizer, "pre_tokenizer")
	if err != nil {
		return m, err
	}
	for _, p := range ps {
		if p.Type != "Metaspace" || m.metaspace {
			return m, fmt.Errorf("unsupported pre_tokenizer %q in a SentencePiece-style tokenizer (want one Metaspace)", p.Type)
		}
		m.metaspace = true
		m.replacement = p.Replacement
		if m.replacement == "" {
			m.replacement = "▁"
		}
		switch p.PrependScheme {
		case "always":
		case "first":
			m.prependFirst = true
		case "never":
			m.prependNever = true
		case "":
			// Files older than prepend_scheme say add_prefix_space.
			m.prependNever = p.AddPrefixSpace != nil && !*p.AddPrefixSpace
		default:
			return m, fmt.Errorf("Metaspace prepend_scheme %q (want always, first or never)", p.PrependScheme)
		}
		m.split = p.Split == nil || *p.Split
	}
	return m, nil
}

// msRune is one rune of a normalised piece and the byte range of text it
// came from (empty for a prepended "▁").
type msRune struct {
	r          rune
	start, end int
}

// normalize applies the normalizer and pre-tokenizer to text[from:to] and
// returns its words.
func (m *metaspaceSteps) normalize(text string, from, to int) [][]msRune {
	if from == to {
		return nil
	}
	var rs []msRune
	// Normalizer: Prepend (to a non-empty piece), then Replace.
	if m.prepend != "" {
		for _, r := range m.prepend {
			rs = append(rs, msRune{r, from, from})
		}
	}
	for i := from; i < to; {
		if m.replaceFrom != "" && strings.HasPrefix(text[i:to], m.replaceFrom) {
			n := len(m.replaceFrom)
			for _, r := range m.replaceTo {
				rs = append(rs, msRune{r, i, i + n})
				i += n
				n = 0 // the rest of the replacement takes no source bytes
			}
			i += n
			continue
		}
		r, sz := utf8.DecodeRuneInString(text[i:to])
		rs = append(rs, msRune{r, i, i + sz})
		i += sz
	}
	if !m.metaspace {
		return [][]msRune{rs}
	}
	rep, _ := utf8.DecodeRuneInString(m.replacement)
	for k := range rs {
		if rs[k].r == ' ' {
			rs[k].r = rep
		}
	}
	if !m.prependNever && (len(rs) == 0 || rs[0].r != rep) && (!m.prependFirst || from == 0) {
		rs = append([]msRune{{rep, from, from}}, rs...)
	}
	if !m.split {
		return [][]msRune{rs}
	}
	var words [][]msRune
	start := 0
	for k := 1; k <= len(rs); k++ {
		if k == len(rs) || rs[k].r == rep {
			words = append(words, rs[start:k])
			start = k
		}
	}
	return words
}

// msMerge is a BPE merge of the symbols at pos and its right neighbour.
type msMerge struct{ pos, rank, id int }

// msHeap pops the lowest rank first, then the leftmost position — the
// order of Hugging Face's BPE word merge.
type msHeap []msMerge

func (h msHeap) Len() int { return len(h) }
func (h msHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h msHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *msHeap) Push(x any)   { *h = append(*h, x.(msMerge)) }
func (h *msHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// msSym is a symbol of a word being merged: its id, the runes it covers
// (start, n) and its neighbours in the linked list (-1 for none).
type msSym struct {
	id, start, n, prev, next int
	byteTok                  int // byte index for a byte-fallback symbol, -1 otherwise
}

// idMerges maps a pair of ids to (rank, merged id); built from the merges
// on load.
func (t *Tokenizer) buildIDMerges() error {
	t.idMerges = make(map[[2]int][2]int, len(t.merges))
	for rank, p := range t.merges {
		a, okA := t.vocab[p[0]]
		b, okB := t.vocab[p[1]]
		c, okC := t.vocab[p[0]+p[1]]
		if !okA || !okB || !okC {
			return fmt.Errorf("merge %d %q %q: a token missing from the vocabulary", rank, p[0], p[1])
		}
		if _, dup := t.idMerges[[2]int{a, b}]; !dup {
			t.idMerges[[2]int{a, b}] = [2]int{rank, c}
		}
	}
	for b := 0; b < 256; b++ {
		if id, ok := t.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			t.byteIDs[b] = id
		} else {
			t.byteIDs[b] = -1
		}
	}
	return nil
}

// encodeMetaspace tokenizes text: added tokens first, then each piece
// between them normalised, split into words and merged.
func (t *Tokenizer) encodeMetaspace(text string) (ids []int, spans [][2]int) {
	pos := 0
	for pos <= len(text) {
		at, n, id := t.nextAdded(text, pos)
		for _, w := range t.ms.normalize(text, pos, at) {
			ids, spans = t.mergeWord(w, ids, spans)
		}
		if n == 0 {
			break
		}
		ids = append(ids, id)
		spans = append(spans, [2]int{at, at + n})
		pos = at + n
	}
	return ids, spans
}

// mergeWord runs BPE on one word and appends its tokens. Each rune starts
// as its own token or, when the vocabulary lacks it, as one <0xXX> token
// per UTF-8 byte (byte fallback) or <unk> (consecutive ones fused when
// fuse_unk). Spans: a token covers the source bytes of its runes; a byte
// token covers its one byte; a prepended "▁" alone covers nothing.
func (t *Tokenizer) mergeWord(w []msRune, ids []int, spans [][2]int) ([]int, [][2]int) {
	syms := make([]msSym, 0, len(w))
	var buf [utf8.UTFMax]byte
	for k, x := range w {
		if id, ok := t.vocab[string(x.r)]; ok {
			syms = append(syms, msSym{id: id, start: k, n: 1, byteTok: -1})
			continue
		}
		nb := utf8.EncodeRune(buf[:], x.r)
		all := t.byteFallback
		for _, b := range buf[:nb] {
			all = all && t.byteIDs[b] >= 0
		}
		if all {
			for j, b := range buf[:nb] {
				syms = append(syms, msSym{id: t.byteIDs[b], start: k, n: 1, byteTok: j})
			}
			continue
		}
		if t.unkID < 0 {
			// No byte token and no <unk>: `tokenizers` refuses the text;
			// here the character is left out rather than given no id.
			continue
		}
		if t.fuseUnk && len(syms) > 0 && syms[len(syms)-1].id == t.unkID {
			syms[len(syms)-1].n++
			continue
		}
		syms = append(syms, msSym{id: t.unkID, start: k, n: 1, byteTok: -1})
	}
	for i := range syms {
		syms[i].prev, syms[i].next = i-1, i+1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	h := make(msHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if m, ok := t.idMerges[[2]int{syms[i].id, syms[i+1].id}]; ok {
			h = append(h, msMerge{i, m[0], m[1]})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		top := heap.Pop(&h).(msMerge)
		s := &syms[top.pos]
		if s.n == 0 || s.next < 0 {
			continue // merged away, or no right neighbour any more
		}
		r := &syms[s.next]
		if m, ok := t.idMerges[[2]int{s.id, r.id}]; !ok || m[1] != top.id {
			continue // the pair changed since this merge was queued
		}
		s.id, s.n, s.byteTok = top.id, s.n+r.n, -1
		r.n = 0
		s.next = r.next
		if s.next >= 0 {
			syms[s.next].prev = top.pos
			if m, ok := t.idMerges[[2]int{s.id, syms[s.next].id}]; ok {
				heap.Push(&h, msMerge{top.pos, m[0], m[1]})
			}
		}
		if s.prev >= 0 {
			if m, ok := t.idMerges[[2]int{syms[s.prev].id, s.id}]; ok {
				heap.Push(&h, msMerge{s.prev, m[0], m[1]})
			}
		}
	}
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := syms[i]
		a, b := w[s.start].start, w[s.start+s.n-1].end
		if s.byteTok >= 0 {
			a = min(a+s.byteTok, b)
			b = min(a+1, b)
			if s.byteTok == utf8.RuneLen(w[s.start].r)-1 {
				b = w[s.start].end // the last byte token takes the rest
			}
		}
		ids = append(ids, s.id)
		spans = append(spans, [2]int{a, b})
	}
	return ids, spans
}

// decodeSteps applies a SentencePiece-style decoder (Replace, ByteFallback,
// Fuse, Strip, Metaspace) to the tokens, as Hugging Face's decode does.
func decodeSteps(steps []hfStep, toks []string) string {
	for _, d := range steps {
		switch d.Type {
		case "Replace":
			if d.Pattern.String != nil && *d.Pattern.String != "" {
				for i := range toks {
					toks[i] = strings.ReplaceAll(toks[i], *d.Pattern.String, d.Content)
				}
			}
		case "ByteFallback":
			toks = byteFallbackDecode(toks)
		case "Fuse":
			toks = []string{strings.Join(toks, "")}
		case "Strip":
			c, _ := utf8.DecodeRuneInString(d.Content)
			for i := range toks {
				toks[i] = stripRune(toks[i], c, d.Start, d.Stop)
			}
		case "Metaspace":
			rep := d.Replacement
			if rep == "" {
				rep = "▁"
			}
			never := d.PrependScheme == "never" || (d.PrependScheme == "" && d.AddPrefixSpace != nil && !*d.AddPrefixSpace)
			// As `tokenizers` does: every replacement in the first token
			// is dropped (the prepended one), elsewhere it is a space.
			for i := range toks {
				with := " "
				if i == 0 && !never {
					with = ""
				}
				toks[i] = strings.ReplaceAll(toks[i], rep, with)
			}
		}
	}
	return strings.Join(toks, "")
}

// byteFallbackDecode turns each run of <0xXX> tokens into its bytes as
// text, or into one U+FFFD per byte when they are not valid UTF-8.
func byteFallbackDecode(toks []string) []string {
	var out []string
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, s := range toks {
		if len(s) == 6 && strings.HasPrefix(s, "<0x") && s[5] == '>' {
			if b, err := strconv.ParseUint(s[3:5], 16, 8); err == nil {
				run = append(run, byte(b))
				continue
			}
		}
		flush()
		out = append(out, s)
	}
	flush()
	return out
}

// stripRune removes up to start leading and stop trailing c runes.
func stripRune(s string, c rune, start, stop int) string {
	for ; start > 0; start-- {
		r, sz := utf8.DecodeRuneInString(s)
		if r != c || sz == 0 {
			break
		}
		s = s[sz:]
	}
	for ; stop > 0; stop-- {
		r, sz := utf8.DecodeLastRuneInString(s)
		if r != c || sz == 0 {
			break
		}
		s = s[:len(s)-sz]
	}
	return s
}
