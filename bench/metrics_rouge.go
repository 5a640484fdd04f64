package bench

import "github.com/medmd/medmd/normalize"

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
	// normalize.Words is rouge-score's default tokenisation without a
	// stemmer, the one the term lists match on too.
	pt, rt := normalize.Words(prediction), normalize.Words(reference)
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
