package bench

import "github.com/medmd/medmd/normalize"

// TermScores are micro-averaged medical-term precision, recall and F1: the
// terms a prediction mentions against those its reference mentions,
// counted per sample and summed over the corpus.
type TermScores struct {
	Precision, Recall, F1 float64
	Matched, Predicted    int
	Referenced            int
}

// TermPRF scores predictions against references with the term list (see
// normalize.TermList: longest term first, on normalize.Words).
func TermPRF(terms *normalize.TermList, predictions, references []string) TermScores {
	var s TermScores
	for i := range references {
		ref := terms.Find(references[i])
		pred := terms.Find(predictions[i])
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
