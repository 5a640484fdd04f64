package train

import (
	"strings"

	"github.com/medmd/medmd/bench"
)

// termMatcher finds medical-term character spans in response text, using
// RadBench's term list (bench/radiology_terms.txt) and its tokenisation
// (lower-cased runs of a–z and 0–9), so the terms the loss up-weights are
// exactly the terms RadBench scores.
type termMatcher struct {
	list   *bench.TermList
	maxLen int
}

func newTermMatcher(list *bench.TermList) *termMatcher {
	if list == nil {
		list = bench.DefaultTerms()
	}
	return &termMatcher{list: list, maxLen: 6}
}

// spans returns the byte ranges of text covered by terms, longest match
// first at each word, scanning left to right (as RadBench's Find does).
func (tm *termMatcher) spans(text string) [][2]int {
	type word struct {
		s     string
		start int
		end   int
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
	for i := 0; i < len(words); {
		matched := 0
		for n := min(tm.maxLen, len(words)-i); n >= 1; n-- {
			parts := make([]string, n)
			for k := range parts {
				parts[k] = words[i+k].s
			}
			phrase := strings.Join(parts, " ")
			if tm.list.Find(phrase)[phrase] {
				out = append(out, [2]int{words[i].start, words[i+n-1].end})
				matched = n
				break
			}
		}
		i += max(matched, 1)
	}
	return out
}
