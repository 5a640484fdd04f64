package radmd

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// englishStopwords are frequent English function words and report verbs.
// Radiology English is terse, but even "Axial CT shows a mass in the liver"
// has four of them; other languages written in Latin script have almost
// none (their articles and prepositions differ).
// "in" is left out: German, Dutch and Italian share it.
var englishStopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the of and with is are was were to on at for from by
	an a as or no not there this that these which be been has have had it its
	shows show showing shown demonstrates demonstrating reveals revealing seen
	after before into within without between left right than`) {
		englishStopwords[w] = true
	}
}

// EnglishCheck reports why text does not look English, or "" if it does.
// minLatin is the least fraction of letters in Latin script; minStop the
// least fraction of words that are English function words, tested only when
// the text has at least minWords words (short labels are not judged).
func EnglishCheck(text string, minLatin float64, minWords int, minStop float64) string {
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
	if minStop <= 0 || minWords <= 0 {
		return ""
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) })
	if len(words) < minWords {
		return ""
	}
	stop := 0
	for _, w := range words {
		if englishStopwords[w] {
			stop++
		}
	}
	if float64(stop) < minStop*float64(len(words)) {
		return fmt.Sprintf("%d of %d words are English function words (< %.0f%%)", stop, len(words), 100*minStop)
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
