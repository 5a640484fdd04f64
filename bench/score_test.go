package bench_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/bench"
	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/shards"
)

type pair struct{ Reference, Prediction string }

func loadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestScoreReproducesReferenceValues writes the golden report pairs and
// answers as a split manifest plus a predictions file (the golden's empty
// prediction is left out of the file: a missing prediction scores as an
// empty one) and checks `score` against the reference values.
func TestScoreReproducesReferenceValues(t *testing.T) {
	var reports []pair
	loadJSON(t, "testdata/golden/report_pairs.json", &reports)
	var answers struct{ Closed, Open, Diagnosis []pair }
	loadJSON(t, "testdata/golden/answer_pairs.json", &answers)
	var g struct {
		BLEU  []float64 `json:"bleu_all_sacrebleu_rule"`
		Rouge float64   `json:"rouge_l_mean"`
		Terms struct{ Precision, Recall, F1 float64 }
		AccC  float64 `json:"accuracy_closed"`
		AccO  float64 `json:"accuracy_open"`
		AccD  float64 `json:"accuracy_diagnosis"`
		F1    float64 `json:"macro_f1_diagnosis"`
	}
	loadJSON(t, "testdata/golden/metrics_golden.json", &g)

	img := benchtest.Phantom(1, 8, 8, 0.5, 0.5, 0.2, 0, 0, 1)
	var ss []shards.Sample
	var lines []string
	add := func(task string, i int, p pair) {
		id := fmt.Sprintf("%s-%02d", task, i)
		ss = append(ss, shards.Sample{ID: id, Source: "golden", Task: task, Group: id, Split: "test", Response: p.Reference, Images: []shards.Image{img}})
		if p.Prediction != "" {
			b, _ := json.Marshal(map[string]string{"id": id, "prediction": p.Prediction})
			lines = append(lines, string(b))
		}
	}
	for i, p := range reports {
		add(shards.TaskReport, i, p)
	}
	for i, p := range append(answers.Closed, answers.Open...) {
		add(shards.TaskVQA, i, p)
	}
	for i, p := range answers.Diagnosis {
		add(shards.TaskDiagnosis, i, p)
	}
	tmp := t.TempDir()
	split := writeCorpus(t, filepath.Join(tmp, "split"), ss)
	lines = append(lines, `{"id": "not-in-split", "prediction": "x"}`)
	predPath := filepath.Join(tmp, "pred.jsonl")
	os.WriteFile(predPath, []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	rep, err := bench.Score(context.Background(), split, predPath, bench.ScoreOptions{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bench.TaskScore{}
	for _, ts := range rep.Tasks {
		got[ts.Task] = ts
	}
	nAns := len(answers.Closed) + len(answers.Open)
	accAll := (g.AccC*float64(len(answers.Closed)) + g.AccO*float64(len(answers.Open))) / float64(nAns)
	for _, c := range []struct {
		task, metric string
		want         float64
	}{
		{"report", "bleu1", g.BLEU[0]}, {"report", "bleu2", g.BLEU[1]}, {"report", "bleu3", g.BLEU[2]}, {"report", "bleu4", g.BLEU[3]},
		{"report", "rouge_l", g.Rouge},
		{"report", "term_precision", g.Terms.Precision}, {"report", "term_recall", g.Terms.Recall}, {"report", "term_f1", g.Terms.F1},
		{"vqa", "accuracy_closed", g.AccC}, {"vqa", "accuracy_open", g.AccO}, {"vqa", "accuracy", accAll},
		{"diagnosis", "accuracy", g.AccD}, {"diagnosis", "macro_f1", g.F1},
	} {
		if v, ok := got[c.task].Metrics[c.metric]; !ok || math.Abs(v-c.want) > 1e-12 {
			t.Errorf("%s %s = %.15f, reference %.15f", c.task, c.metric, v, c.want)
		}
	}
	if got["report"].Missing != 1 || rep.Extra != 1 {
		t.Errorf("missing %d, extra %d", got["report"].Missing, rep.Extra)
	}
	md := rep.Markdown()
	if !strings.Contains(md, "| report | 14 | 1 |") || !strings.Contains(md, "bleu4") {
		t.Errorf("table:\n%s", md)
	}
	if n := strings.Count(rep.JSONLines(), "\n"); n != 3 {
		t.Errorf("%d JSON lines", n)
	}
}

func TestReadPredictionsErrors(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct{ body, want string }{
		{`{"id": "a", "prediction": "x"}` + "\n" + `{"id": "a", "prediction": "y"}`, ":2: id a given twice"},
		{`{"prediction": "x"}`, ":1: no \"id\""},
		{`{"id": "a"}`, "no \"prediction\""},
		{"\n\n{not json", ":3:"},
	} {
		p := filepath.Join(tmp, "p.jsonl")
		os.WriteFile(p, []byte(tc.body), 0o644)
		if _, err := bench.ReadPredictions(p); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p.jsonl") {
			t.Errorf("%q: %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestScoreRefusesNothingToScore: an empty split, predictions that match
// no sample, and (without AllowMissing) a split only partly predicted are
// errors carrying the counts; predictions can come from a reader ("-").
func TestScoreRefusesNothingToScore(t *testing.T) {
	tmp := t.TempDir()
	ss := []shards.Sample{
		{ID: "a", Source: "s", Task: shards.TaskVQA, Group: "g1", Response: "yes"},
		{ID: "b", Source: "s", Task: shards.TaskVQA, Group: "g2", Response: "no"},
	}
	split := writeCorpus(t, filepath.Join(tmp, "split"), ss)
	empty := writeCorpus(t, filepath.Join(tmp, "empty"), nil)
	for _, tc := range []struct {
		name, split, preds string
		allowMissing       bool
		wantErr            error
		want               string
	}{
		{"empty split", empty, `{"id":"a","prediction":"yes"}`, true, bench.ErrNothingToScore, "the split has no samples"},
		{"no id matches", split, `{"id":"x","prediction":"yes"}` + "\n" + `{"id":"y","prediction":"no"}`, true, bench.ErrNothingToScore, "none of its 2 predictions is a sample of"},
		{"partial", split, `{"id":"a","prediction":"yes"}`, false, bench.ErrMissingPredictions, "1 of 2 samples"},
		{"partial allowed", split, `{"id":"a","prediction":"yes"}`, true, nil, ""},
		{"complete", split, `{"id":"a","prediction":"yes"}` + "\n" + `{"id":"b","prediction":"no"}`, false, nil, ""},
	} {
		rep, err := bench.Score(context.Background(), tc.split, "-", bench.ScoreOptions{Stdin: strings.NewReader(tc.preds), AllowMissing: tc.allowMissing})
		switch {
		case tc.wantErr == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %v with %q", tc.name, err, tc.wantErr, tc.want)
		case tc.wantErr == nil && rep.Tasks[0].N != 2:
			t.Errorf("%s: scored %+v", tc.name, rep.Tasks)
		}
	}
}
