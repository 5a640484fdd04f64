package bench

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed radiology_terms.txt
var defaultTermList string

// TermList is a set of (possibly multi-word) medical terms matched on
// RougeTokens, longest term first.
type TermList struct {
	terms  map[string]bool // space-joined tokens
	maxLen int             // longest term, in tokens
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
		toks := RougeTokens(line)
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
	toks := RougeTokens(text)
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

// TermScores are micro-averaged medical-term precision, recall and F1: the
// terms a prediction mentions against those its reference mentions,
// counted per sample and summed over the corpus.
type TermScores struct {
	Precision, Recall, F1 float64
	Matched, Predicted    int
	Referenced            int
}

// TermPRF scores predictions against references with the term list.
func (t *TermList) TermPRF(predictions, references []string) TermScores {
	var s TermScores
	for i := range references {
		ref := t.Find(references[i])
		pred := t.Find(predictions[i])
		s.Referenced += len(ref)
		s.Predicted += len(pred)
		for k := range pred {
			if ref[k] {
				s.Matched++
			}
		}
	}
	if s.Predicted > 0 {
		s.Precision = float64(s.Matched) / float64(s.Predicted)
	}
	if s.Referenced > 0 {
		s.Recall = float64(s.Matched) / float64(s.Referenced)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}
