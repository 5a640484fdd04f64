package bench

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/medmd/medmd/normalize"
)

type pair struct{ Reference, Prediction string }

type golden struct {
	Tokens13a []struct {
		Text   string
		Tokens []string
	} `json:"tokens_13a"`
	BLEUNLTK    []float64 `json:"bleu_nonempty_nltk"`
	BLEUAll     []float64 `json:"bleu_all_sacrebleu_rule"`
	RougeLPairs []float64 `json:"rouge_l_pairs"`
	RougeLMean  float64   `json:"rouge_l_mean"`
	Terms       struct {
		Precision, Recall, F1          float64
		Matched, Predicted, Referenced int
	} `json:"terms"`
	AccClosed    float64 `json:"accuracy_closed"`
	AccOpen      float64 `json:"accuracy_open"`
	AccDiagnosis float64 `json:"accuracy_diagnosis"`
	MacroF1      float64 `json:"macro_f1_diagnosis"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func split(ps []pair) (pred, ref []string) {
	for _, p := range ps {
		pred = append(pred, p.Prediction)
		ref = append(ref, p.Reference)
	}
	return
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// TestMetricsGolden compares every metric with the values computed by
// testdata/golden/make_metrics_golden.py (nltk corpus_bleu, scikit-learn
// f1_score, Python re-statements of 13a and rouge-score's LCS).
func TestMetricsGolden(t *testing.T) {
	var g golden
	readJSON(t, "testdata/golden/metrics_golden.json", &g)
	var reports []pair
	readJSON(t, "testdata/golden/report_pairs.json", &reports)
	var answers struct{ Closed, Open, Diagnosis []pair }
	readJSON(t, "testdata/golden/answer_pairs.json", &answers)

	for _, tc := range g.Tokens13a {
		if got := Tokenize13a(tc.Text); !reflect.DeepEqual(got, tc.Tokens) {
			t.Errorf("Tokenize13a(%q)\n got %q\nwant %q", tc.Text, got, tc.Tokens)
		}
	}
	pred, ref := split(reports)
	var np, nr []string
	for i := range pred {
		if pred[i] != "" {
			np, nr = append(np, pred[i]), append(nr, ref[i])
		}
	}
	bleuNE := CorpusBLEU(np, nr)
	bleu := CorpusBLEU(pred, ref)
	for n := range 4 {
		if !near(bleuNE[n], g.BLEUNLTK[n]) {
			t.Errorf("BLEU-%d = %.15f, nltk %.15f", n+1, bleuNE[n], g.BLEUNLTK[n])
		}
		if !near(bleu[n], g.BLEUAll[n]) {
			t.Errorf("BLEU-%d with empty = %.15f, sacrebleu rule %.15f", n+1, bleu[n], g.BLEUAll[n])
		}
	}
	for i := range pred {
		if _, _, f := RougeL(pred[i], ref[i]); !near(f, g.RougeLPairs[i]) {
			t.Errorf("pair %d: ROUGE-L %.15f, want %.15f", i, f, g.RougeLPairs[i])
		}
	}
	if got := MeanRougeL(pred, ref); !near(got, g.RougeLMean) {
		t.Errorf("mean ROUGE-L %v, want %v", got, g.RougeLMean)
	}
	ts := TermPRF(normalize.DefaultTerms(), pred, ref)
	if ts.Matched != g.Terms.Matched || ts.Predicted != g.Terms.Predicted || ts.Referenced != g.Terms.Referenced ||
		!near(ts.Precision, g.Terms.Precision) || !near(ts.Recall, g.Terms.Recall) || !near(ts.F1, g.Terms.F1) {
		t.Errorf("terms %+v, want %+v", ts, g.Terms)
	}
	for _, tc := range []struct {
		name string
		ps   []pair
		want float64
	}{{"closed", answers.Closed, g.AccClosed}, {"open", answers.Open, g.AccOpen}, {"diagnosis", answers.Diagnosis, g.AccDiagnosis}} {
		p, r := split(tc.ps)
		if got := Accuracy(p, r, nil); !near(got, tc.want) {
			t.Errorf("accuracy %s = %v, want %v", tc.name, got, tc.want)
		}
	}
	p, r := split(answers.Diagnosis)
	if got := MacroF1(p, r, nil); !near(got, g.MacroF1) {
		t.Errorf("macro-F1 = %v, sklearn %v", got, g.MacroF1)
	}
}

func TestTokenize13aCases(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello, world.", []string{"Hello", ",", "world", "."}},
		{"3.5 cm, 1,000 voxels", []string{"3.5", "cm", ",", "1,000", "voxels"}},
		{"C5-C6 and T2-weighted", []string{"C5", "-", "C6", "and", "T2", "-", "weighted"}},
		{"A &amp; B &lt;x&gt;", []string{"A", "&", "B", "<", "x", ">"}},
		{"end-\nline <skipped>ok  ", []string{"endline", "ok"}},
		{"", nil},
	} {
		got := Tokenize13a(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Tokenize13a(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAnswerMatch(t *testing.T) {
	for _, tc := range []struct {
		pred, ref string
		want      bool
	}{
		{"Yes.", "yes", true},
		{"yes, it is", "Yes", true},
		{"Nope", "no", true},
		{"The liver", "liver", true},
		{"an MRI", "MRI", true},
		{"no", "yes", false},
		{"left", "right", false},
		{"", "yes", false},
	} {
		if got := AnswerMatch(tc.pred, tc.ref); got != tc.want {
			t.Errorf("AnswerMatch(%q, %q) = %v", tc.pred, tc.ref, got)
		}
	}
}

func TestMissingPredictionsCountAsWrong(t *testing.T) {
	ref := []string{"a1", "b2", "a1", "b2"}
	pred := []string{"a1", "b2", "a1", "b2"}
	miss := []bool{false, false, false, true}
	if got := Accuracy(pred, ref, miss); got != 0.75 {
		t.Errorf("accuracy with one missing = %v", got)
	}
	if got := MacroF1(pred, ref, nil); got != 1 {
		t.Errorf("perfect macro-F1 = %v", got)
	}
	// b2: tp=1 fn=1 -> F1 2/3; a1: 1 -> mean 5/6.
	if got := MacroF1(pred, ref, miss); !near(got, 5.0/6) {
		t.Errorf("macro-F1 with one missing = %v", got)
	}
}

func TestBLEUEdgeCases(t *testing.T) {
	if b := CorpusBLEU([]string{""}, []string{"a b c d"}); b != [4]float64{} {
		t.Errorf("empty hypothesis BLEU = %v", b)
	}
	if b := CorpusBLEU([]string{"the cat sat on the mat"}, []string{"the cat sat on the mat"}); !near(b[3], 1) {
		t.Errorf("identical BLEU-4 = %v", b[3])
	}
}
