package bench

import "strings"

// RougeTokens tokenises as rouge-score's default tokenizer does without a
// stemmer: lower-case, every run of characters outside [a-z0-9] becomes a
// separator, empty tokens are dropped.
func RougeTokens(s string) []string {
	s = strings.ToLower(s)
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

// lcsLen returns the length of the longest common subsequence of a and b
// using two rows of the classic dynamic programme (O(len(b)) memory).
func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RougeL returns ROUGE-L precision, recall and F1 of one prediction against
// one reference, as rouge-score's RougeScorer(["rougeL"]) computes them
// (sentence-level LCS, F1 = 2PR/(P+R), all 0 when either side is empty).
func RougeL(prediction, reference string) (p, r, f float64) {
	pt, rt := RougeTokens(prediction), RougeTokens(reference)
	if len(pt) == 0 || len(rt) == 0 {
		return 0, 0, 0
	}
	l := float64(lcsLen(pt, rt))
	p, r = l/float64(len(pt)), l/float64(len(rt))
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

// MeanRougeL returns the mean over pairs of the ROUGE-L F1, the usual
// corpus aggregate of rouge-score's per-pair scores.
func MeanRougeL(predictions, references []string) float64 {
	if len(references) == 0 {
		return 0
	}
	sum := 0.0
	for i := range references {
		_, _, f := RougeL(predictions[i], references[i])
		sum += f
	}
	return sum / float64(len(references))
}
