package bench

import (
	"strings"
	"unicode"
)

// articles are dropped by NormalizeAnswer, as in the SQuAD/VQA answer
// normalisation that closed-question accuracy is usually reported with.
var articles = map[string]bool{"a": true, "an": true, "the": true}

// yesWords and noWords are first words that make an answer a "yes" or "no"
// when the reference answer is itself yes or no ("Yes, there is." ⇒ yes;
// "No evidence of fracture" ⇒ no).
var (
	yesWords = map[string]bool{"yes": true, "y": true, "yeah": true, "yep": true, "true": true, "correct": true, "affirmative": true, "present": true}
	noWords  = map[string]bool{"no": true, "n": true, "nope": true, "false": true, "incorrect": true, "negative": true, "absent": true, "none": true, "not": true}
)

// NormalizeAnswer lower-cases s, replaces every punctuation or symbol rune
// with a space, drops the articles a/an/the and collapses white space.
// It does not collapse yes/no synonyms; see CanonicalYesNo.
func NormalizeAnswer(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return ' '
		}
		return r
	}, s)
	words := strings.Fields(s)
	out := words[:0]
	for _, w := range words {
		if !articles[w] {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// CanonicalYesNo maps a normalised answer to "yes" or "no" when its first
// word is a yes/no synonym, and reports whether it did.
func CanonicalYesNo(norm string) (string, bool) {
	first, _, _ := strings.Cut(norm, " ")
	switch {
	case yesWords[first]:
		return "yes", true
	case noWords[first]:
		return "no", true
	}
	return norm, false
}

// IsClosed reports whether a reference answer is a closed (yes/no) answer.
func IsClosed(reference string) bool {
	n := NormalizeAnswer(reference)
	return n == "yes" || n == "no"
}

// AnswerMatch reports whether prediction answers the question the way
// reference does after normalisation. When the reference is yes/no the
// prediction is reduced to yes/no by its first word (CanonicalYesNo).
func AnswerMatch(prediction, reference string) bool {
	r := NormalizeAnswer(reference)
	p := NormalizeAnswer(prediction)
	if r == "yes" || r == "no" {
		c, ok := CanonicalYesNo(p)
		return ok && c == r
	}
	return p == r
}

// Accuracy returns the fraction of pairs whose prediction matches the
// reference under AnswerMatch; missing[i] marks a prediction that was not
// given, which counts as wrong. It returns 0 for no pairs.
func Accuracy(predictions, references []string, missing []bool) float64 {
	if len(references) == 0 {
		return 0
	}
	correct := 0
	for i := range references {
		if missing != nil && missing[i] {
			continue
		}
		if AnswerMatch(predictions[i], references[i]) {
			correct++
		}
	}
	return float64(correct) / float64(len(references))
}
