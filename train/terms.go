package train

import "github.com/medmd/medmd/normalize"

// termMatcher finds medical-term character spans in response text with the
// term list RadBench scores (normalize.DefaultTerms unless the trainer is
// given another) and its tokenisation, so the terms the loss up-weights
// are exactly the terms RadBench scores.
type termMatcher struct {
	list *normalize.TermList
}

func newTermMatcher(list *normalize.TermList) *termMatcher {
	if list == nil {
		list = normalize.DefaultTerms()
	}
	return &termMatcher{list: list}
}

// spans returns the byte ranges of text covered by terms, longest match
// first at each word, scanning left to right (as RadBench's Find does).
func (tm *termMatcher) spans(text string) [][2]int { return tm.list.Spans(text) }
