package normalize

import (
	_ "embed"
	"fmt"
	"strings"
)

// The bundled list is shared by RadBench's term metrics (bench) and the
// trainer's term-weighted loss (train), so the terms the loss up-weights
// are exactly the terms RadBench scores. It lives here, below both, so
// neither imports the other.
//
//go:embed radiology_terms.txt
var defaultTermList string

// Words splits text into lower-cased runs of ASCII letters and digits,
// everything else separating: rouge-score's default tokenisation without
// stemming. Term lists match on it, and RadBench's ROUGE uses it, so a term
// is found exactly where the metrics see its words.
func Words(s string) []string {
	s = strings.ToLower(s)
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// TermList is a set of (possibly multi-word) medical terms matched on
// Words, longest term first. It is read-only after parsing and safe for
// concurrent use.
type TermList struct {
	terms  map[string]bool // space-joined words
	maxLen int             // longest term, in words
}

// DefaultTerms returns the bundled starter list (radiology_terms.txt).
func DefaultTerms() *TermList {
	t, err := ParseTermList(defaultTermList)
	if err != nil {
		panic(err) // the embedded list is tested; unreachable
	}
	return t
}

// ParseTermList reads one term per line; blank lines and lines starting
// with '#' are ignored. Terms are tokenised like the text they are matched
// against, so "Ground-glass opacity" and "ground glass opacity" are one term.
func ParseTermList(text string) (*TermList, error) {
	t := &TermList{terms: map[string]bool{}}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		toks := Words(line)
		if len(toks) == 0 {
			return nil, fmt.Errorf("term list line %d: %q has no letters or digits", i+1, line)
		}
		t.terms[strings.Join(toks, " ")] = true
		t.maxLen = max(t.maxLen, len(toks))
	}
	if len(t.terms) == 0 {
		return nil, fmt.Errorf("term list: no terms")
	}
	return t, nil
}

// Len returns the number of distinct terms.
func (t *TermList) Len() int { return len(t.terms) }

// Find returns the set of terms that occur in text, scanning left to right
// and taking the longest term at each position, so "pleural effusion" does
// not also count as "effusion".
func (t *TermList) Find(text string) map[string]bool {
	toks := Words(text)
	found := map[string]bool{}
	for i := 0; i < len(toks); {
		matched := 0
		for n := min(t.maxLen, len(toks)-i); n >= 1; n-- {
			if k := strings.Join(toks[i:i+n], " "); t.terms[k] {
				found[k] = true
				matched = n
				break
			}
		}
		i += max(matched, 1)
	}
	return found
}

// Spans returns the byte ranges [start, end) of text that terms cover,
// scanning left to right and taking the longest term at each word, as
// Find does. It scans ASCII letters and digits byte by byte, so the
// offsets index text itself (lower-casing first could change byte
// lengths); the words are those of Words for ASCII text.
func (t *TermList) Spans(text string) [][2]int {
	type word struct {
		s          string
		start, end int
	}
	var words []word
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for i := 0; i < len(text); {
		if !isAlnum(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		words = append(words, word{strings.ToLower(text[i:j]), i, j})
		i = j
	}
	var out [][2]int
	parts := make([]string, 0, t.maxLen)
	for i := 0; i < len(words); {
		matched := 0
		for n := min(t.maxLen, len(words)-i); n >= 1; n-- {
			parts = parts[:0]
			for _, w := range words[i : i+n] {
				parts = append(parts, w.s)
			}
			if t.terms[strings.Join(parts, " ")] {
				out = append(out, [2]int{words[i].start, words[i+n-1].end})
				matched = n
				break
			}
		}
		i += max(matched, 1)
	}
	return out
}
