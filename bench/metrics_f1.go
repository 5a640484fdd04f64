package bench

import "sort"

// MacroF1 returns the unweighted mean over classes of the per-class F1 of
// normalised labels (NormalizeAnswer), with the classes being every label
// that occurs as a reference or as a given prediction — scikit-learn's
// f1_score(average="macro") with zero_division=0.
//
// Where the reference is yes or no, the prediction is reduced to yes/no by
// its first word as Accuracy does (CanonicalYesNo), so "Yes, there is."
// scores as the class "yes" in both metrics instead of a class of its own.
// A missing prediction (missing[i]) counts as a false negative for the
// reference class and creates no class of its own, so leaving answers out
// can only lower the score.
func MacroF1(predictions, references []string, missing []bool) float64 {
	tp := map[string]int{}
	fp := map[string]int{}
	fn := map[string]int{}
	classes := map[string]bool{}
	for i := range references {
		r := NormalizeAnswer(references[i])
		classes[r] = true
		if missing != nil && missing[i] {
			fn[r]++
			continue
		}
		p := NormalizeAnswer(predictions[i])
		if r == "yes" || r == "no" {
			if c, ok := CanonicalYesNo(p); ok {
				p = c
			}
		}
		classes[p] = true
		if p == r {
			tp[r]++
		} else {
			fp[p]++
			fn[r]++
		}
	}
	if len(classes) == 0 {
		return 0
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	sort.Strings(names) // fixed summation order ⇒ reproducible float result
	sum := 0.0
	for _, c := range names {
		d := 2*tp[c] + fp[c] + fn[c]
		if d > 0 {
			sum += 2 * float64(tp[c]) / float64(d)
		}
	}
	return sum / float64(len(names))
}
