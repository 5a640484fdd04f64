package radfilter

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// englishWords are frequent English function words and report verbs;
// foreignWords are function words of the other languages PMC and public
// datasets carry most (German, French, Spanish, Portuguese, Italian,
// Dutch), none of which is also an English word. Terse English captions
// ("Contrast-enhanced CT: hypodense liver lesion") have few English
// function words but no foreign ones, so the test compares the two counts
// instead of asking for a share of English words.
var englishWords, foreignWords = map[string]bool{}, map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the of and with is are was were to on at for from by
	an a as or no not there this that these which be been has have had it its
	shows show showing shown demonstrates demonstrating reveals revealing seen
	after before into within without between than`) {
		englishWords[w] = true
	}
	for _, w := range strings.Fields(`der die das des dem den und mit eine einer eines ist sind zeigt
	bei nach von zur zum nicht auch wird le les des du une est avec dans sur pour
	par qui montre el los las del una con que muestra por para se lo es son
	os da do das dos uma com mostra não il della delle degli dei con una che
	mostra nella nel sono het een van zijn met toont niet`) {
		foreignWords[w] = true
	}
	// Words shared with English (or ambiguous) are not evidence either way.
	for w := range englishWords {
		delete(foreignWords, w)
	}
}

// EnglishCheck reports why text does not look English, or "" if it does.
// minLatin is the least fraction of letters in Latin script (0 disables
// it). A text of at least minWords words (0 disables this test) is not
// English when it has at least two foreign function words and more of them
// than English ones.
func EnglishCheck(text string, minLatin float64, minWords int) string {
	letters, latin := 0, 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			letters++
			if unicode.Is(unicode.Latin, r) {
				latin++
			}
		}
	}
	if minLatin > 0 && letters >= 10 && float64(latin) < minLatin*float64(letters) {
		return fmt.Sprintf("%.0f%% of letters are Latin script (< %.0f%%)", 100*float64(latin)/float64(letters), 100*minLatin)
	}
	if minWords <= 0 {
		return ""
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	if len(words) < minWords {
		return ""
	}
	en, foreign := 0, 0
	for _, w := range words {
		switch {
		case englishWords[w]:
			en++
		case foreignWords[w]:
			foreign++
		}
	}
	if foreign >= 2 && foreign > en {
		return fmt.Sprintf("%d foreign and %d English function words in %d words", foreign, en, len(words))
	}
	return ""
}

// wordCount counts white-space separated words that hold a letter or digit.
func wordCount(s string) int {
	n := 0
	for _, w := range strings.Fields(s) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

// compileBoilerplate anchors each pattern so that it must match the whole
// trimmed response, case-insensitively.
func compileBoilerplate(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		re, err := regexp.Compile(`(?is)^(?:` + p + `)$`)
		if err != nil {
			return nil, fmt.Errorf("boilerplate %q: %w", p, err)
		}
		out[i] = re
	}
	return out, nil
}
