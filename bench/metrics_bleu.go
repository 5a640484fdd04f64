package bench

import (
	"math"
	"regexp"
	"strings"
)

// The four substitutions of sacrebleu's "13a" tokenizer (TokenizerRegexp,
// itself mteval-v13a's language-independent tokenisation), applied in
// order; Go's regexp and Python's re agree on these patterns (leftmost,
// non-overlapping matches, ASCII classes).
var tok13a = []struct {
	re   *regexp.Regexp
	repl string
}{
	// punctuation and symbols: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
	{regexp.MustCompile("([\\{-\\~\\[-\\` -\\&\\(-\\+\\:-\\@\\/])"), " $1 "},
	// period and comma unless preceded by a digit
	{regexp.MustCompile(`([^0-9])([\.,])`), "$1 $2 "},
	// period and comma unless followed by a digit
	{regexp.MustCompile(`([\.,])([^0-9])`), " $1 $2"},
	// dash when preceded by a digit
	{regexp.MustCompile(`([0-9])(-)`), "$1 $2 "},
}

// Tokenize13a splits line exactly as sacrebleu's default BLEU tokenizer
// ("13a") does, including its right-strip of the segment, the removal of
// "<skipped>" and hyphenated line breaks, and the unescaping of four HTML
// entities. Case is kept (sacrebleu's default is case-sensitive).
func Tokenize13a(line string) []string {
	line = strings.TrimRightFunc(line, isPySpace)
	line = strings.ReplaceAll(line, "<skipped>", "")
	line = strings.ReplaceAll(line, "-\n", "")
	line = strings.ReplaceAll(line, "\n", " ")
	if strings.Contains(line, "&") {
		line = strings.ReplaceAll(line, "&quot;", `"`)
		line = strings.ReplaceAll(line, "&amp;", "&")
		line = strings.ReplaceAll(line, "&lt;", "<")
		line = strings.ReplaceAll(line, "&gt;", ">")
	}
	line = " " + line + " "
	for _, t := range tok13a {
		line = t.re.ReplaceAllString(line, t.repl)
	}
	return strings.FieldsFunc(line, isPySpace)
}

// isPySpace matches what Python's str.split()/rstrip() treat as white space
// for the characters that occur in text (Unicode White_Space plus the
// ASCII separators 0x1c–0x1f).
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0,
		0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// BLEUStats are the corpus-level sufficient statistics of BLEU: clipped
// n-gram matches and hypothesis n-gram totals for n = 1..4, and the summed
// hypothesis and reference lengths.
type BLEUStats struct {
	Correct, Total [4]int
	HypLen, RefLen int
}

// Add accumulates one (hypothesis, reference) pair of token lists.
func (s *BLEUStats) Add(hyp, ref []string) {
	s.HypLen += len(hyp)
	s.RefLen += len(ref)
	for n := 1; n <= 4; n++ {
		refCounts := ngramCounts(ref, n)
		for g, c := range ngramCounts(hyp, n) {
			s.Total[n-1] += c
			s.Correct[n-1] += min(c, refCounts[g])
		}
	}
}

func ngramCounts(toks []string, n int) map[string]int {
	m := make(map[string]int, len(toks))
	for i := 0; i+n <= len(toks); i++ {
		// U+0001 cannot occur inside a 13a token, so the join is unambiguous.
		m[strings.Join(toks[i:i+n], "\x01")]++
	}
	return m
}

// BLEU returns corpus BLEU-maxN (1 ≤ maxN ≤ 4) in [0, 1] with uniform
// weights, the standard brevity penalty, and sacrebleu's default "exp"
// smoothing: the k-th n-gram order with zero matches gets precision
// 1/(2^k · total) (identical to nltk's SmoothingFunction().method3).
// As in sacrebleu, orders with no hypothesis n-grams at all end the product
// early and a zero precision makes the score 0. Multiply by 100 for
// sacrebleu's scale.
func (s *BLEUStats) BLEU(maxN int) float64 {
	if s.HypLen == 0 {
		return 0
	}
	logSum := 0.0
	smooth := 1.0
	for n := 0; n < maxN; n++ {
		if s.Total[n] == 0 {
			// sacrebleu leaves the precision at 0, i.e. log ≈ −1e10.
			return 0
		}
		var p float64
		if s.Correct[n] == 0 {
			smooth *= 2
			p = 1 / (smooth * float64(s.Total[n]))
		} else {
			p = float64(s.Correct[n]) / float64(s.Total[n])
		}
		logSum += math.Log(p)
	}
	bp := 1.0
	if s.HypLen < s.RefLen {
		bp = math.Exp(1 - float64(s.RefLen)/float64(s.HypLen))
	}
	return bp * math.Exp(logSum/float64(maxN))
}

// CorpusBLEU tokenises every pair with Tokenize13a and returns BLEU-1..4.
func CorpusBLEU(hypotheses, references []string) [4]float64 {
	var st BLEUStats
	for i := range references {
		st.Add(Tokenize13a(hypotheses[i]), Tokenize13a(references[i]))
	}
	var out [4]float64
	for n := 1; n <= 4; n++ {
		out[n-1] = st.BLEU(n)
	}
	return out
}
