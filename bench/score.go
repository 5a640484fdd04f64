package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Item is one reference of a split: the sample's id, task and reference
// answer (its response).
type Item struct {
	ID, Task, Reference string
}

// MaxPredictionLine bounds one line of a predictions file (16 MiB), so a
// corrupt file cannot make the scorer allocate without limit.
const MaxPredictionLine = 16 << 20

// ReadPredictions reads JSONL lines {"id": …, "prediction": …}. Blank
// lines are skipped; a bad line, a missing id or an id given twice is an
// error naming the file and line.
func ReadPredictions(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadPredictionsFrom(f, path)
}

// ReadPredictionsFrom reads predictions like ReadPredictions from r; name
// is the file name errors carry ("-" for stdin).
func ReadPredictionsFrom(r io.Reader, path string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxPredictionLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var p struct {
			ID         *string `json:"id"`
			Prediction *string `json:"prediction"`
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if p.ID == nil || *p.ID == "" {
			return nil, fmt.Errorf("%s:%d: no \"id\"", path, n)
		}
		if p.Prediction == nil {
			return nil, fmt.Errorf("%s:%d: no \"prediction\" for %s", path, n, *p.ID)
		}
		if _, dup := out[*p.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %s given twice", path, n, *p.ID)
		}
		out[*p.ID] = *p.Prediction
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// TaskScore holds one task's metrics, all in [0, 1]. Missing predictions
// count as wrong (accuracy, F1) or as empty texts (BLEU, ROUGE, terms).
type TaskScore struct {
	Task    string             `json:"task"`
	N       int                `json:"n"`
	Missing int                `json:"missing"`
	Metrics map[string]float64 `json:"metrics"`
}

// Metric names, in table order.
var metricOrder = []string{
	"accuracy", "accuracy_closed", "accuracy_open", "macro_f1",
	"bleu1", "bleu2", "bleu3", "bleu4", "rouge_l",
	"term_precision", "term_recall", "term_f1",
}

// ScoreItems scores predictions against items grouped by task (tasks in
// sorted order). It is pure; Score wraps it with the file reading.
//
//   - vqa: accuracy (AnswerMatch), split into closed (yes/no reference)
//     and open questions, plus BLEU and ROUGE-L of the answers;
//   - diagnosis, modality: accuracy and macro-F1;
//   - report, rationale, caption, inline: corpus BLEU-1..4 (13a, exp
//     smoothing), mean ROUGE-L F1 and medical-term P/R/F1.
func ScoreItems(items []Item, preds map[string]string, terms *normalize.TermList) []TaskScore {
	byTask := map[string][]Item{}
	for _, it := range items {
		byTask[it.Task] = append(byTask[it.Task], it)
	}
	tasks := make([]string, 0, len(byTask))
	for t := range byTask {
		tasks = append(tasks, t)
	}
	sort.Strings(tasks)
	var out []TaskScore
	for _, t := range tasks {
		its := byTask[t]
		ts := TaskScore{Task: t, N: len(its), Metrics: map[string]float64{}}
		pred := make([]string, len(its))
		ref := make([]string, len(its))
		miss := make([]bool, len(its))
		for i, it := range its {
			p, ok := preds[it.ID]
			pred[i], ref[i], miss[i] = p, it.Reference, !ok
			if !ok {
				ts.Missing++
			}
		}
		switch t {
		case shards.TaskVQA:
			ts.Metrics["accuracy"] = Accuracy(pred, ref, miss)
			var cp, cr, op, or []string
			var cm, om []bool
			for i := range its {
				if IsClosed(ref[i]) {
					cp, cr, cm = append(cp, pred[i]), append(cr, ref[i]), append(cm, miss[i])
				} else {
					op, or, om = append(op, pred[i]), append(or, ref[i]), append(om, miss[i])
				}
			}
			if len(cr) > 0 {
				ts.Metrics["accuracy_closed"] = Accuracy(cp, cr, cm)
			}
			if len(or) > 0 {
				ts.Metrics["accuracy_open"] = Accuracy(op, or, om)
			}
			textMetrics(ts.Metrics, pred, ref, nil)
		case shards.TaskDiagnosis, shards.TaskModality:
			ts.Metrics["accuracy"] = Accuracy(pred, ref, miss)
			ts.Metrics["macro_f1"] = MacroF1(pred, ref, miss)
		default:
			textMetrics(ts.Metrics, pred, ref, terms)
		}
		out = append(out, ts)
	}
	return out
}

func textMetrics(m map[string]float64, pred, ref []string, terms *normalize.TermList) {
	b := CorpusBLEU(pred, ref)
	for n := range 4 {
		m[fmt.Sprintf("bleu%d", n+1)] = b[n]
	}
	m["rouge_l"] = MeanRougeL(pred, ref)
	if terms != nil {
		s := TermPRF(terms, pred, ref)
		m["term_precision"], m["term_recall"], m["term_f1"] = s.Precision, s.Recall, s.F1
	}
}

// ScoreReport is the result of scoring one split manifest.
type ScoreReport struct {
	Split       string      `json:"split"`
	Predictions string      `json:"predictions"`
	Tasks       []TaskScore `json:"tasks"`
	// Extra counts predictions whose id is not in the split (ignored).
	Extra int `json:"extra_predictions"`
}

// ScoreOptions are Score's settings; the zero value scores with the
// default terms and refuses missing predictions.
type ScoreOptions struct {
	// Terms is the medical term list (nil: normalize.DefaultTerms()).
	Terms *normalize.TermList
	// Stdin is read when the predictions path is "-".
	Stdin io.Reader
	// AllowMissing scores a split some samples of which have no
	// prediction (they count as wrong); without it that is an error
	// wrapping ErrMissingPredictions.
	AllowMissing bool
}

// Errors of Score that callers branch on; both are wrapped with the counts.
var (
	// ErrNothingToScore: the split is empty, or no prediction's id is in it
	// (the wrong split or the wrong predictions file).
	ErrNothingToScore = errors.New("bench: nothing to score")
	// ErrMissingPredictions: some samples of the split have no prediction.
	ErrMissingPredictions = errors.New("bench: samples without a prediction")
)

// Score reads the split manifest's samples (their responses are the
// references) and the predictions file ("-": o.Stdin), and scores them per
// task. An empty split, or predictions none of which is in the split, is
// an ErrNothingToScore error; samples without a prediction are an
// ErrMissingPredictions error unless o.AllowMissing.
func Score(ctx context.Context, splitManifest, predictionsPath string, o ScoreOptions) (*ScoreReport, error) {
	terms := o.Terms
	if terms == nil {
		terms = normalize.DefaultTerms()
	}
	m, err := shards.ReadManifest(splitManifest)
	if err != nil {
		return nil, err
	}
	var preds map[string]string
	if predictionsPath == "-" && o.Stdin != nil {
		preds, err = ReadPredictionsFrom(o.Stdin, "-")
	} else {
		preds, err = ReadPredictions(predictionsPath)
	}
	if err != nil {
		return nil, err
	}
	var items []Item
	seen := map[string]bool{}
	var missing []string
	for s, err := range m.Iter(ctx) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", splitManifest, err)
		}
		items = append(items, Item{ID: s.ID, Task: s.Task, Reference: s.Response})
		seen[s.ID] = true
		if _, ok := preds[s.ID]; !ok {
			missing = append(missing, s.ID)
		}
	}
	matched := len(items) - len(missing)
	switch {
	case len(items) == 0:
		return nil, fmt.Errorf("%s: the split has no samples: %w", splitManifest, ErrNothingToScore)
	case matched == 0:
		return nil, fmt.Errorf("%s: none of its %d predictions is a sample of %s (%d samples; first prediction id %q, first sample id %q): %w",
			predictionsPath, len(preds), splitManifest, len(items), firstKey(preds), items[0].ID, ErrNothingToScore)
	case len(missing) > 0 && !o.AllowMissing:
		return nil, fmt.Errorf("%s: %d of %d samples of %s have no prediction (first: %s): %w",
			predictionsPath, len(missing), len(items), splitManifest, missing[0], ErrMissingPredictions)
	}
	rep := &ScoreReport{Split: splitManifest, Predictions: predictionsPath, Tasks: ScoreItems(items, preds, terms)}
	for id := range preds {
		if !seen[id] {
			rep.Extra++
		}
	}
	return rep, nil
}

// firstKey is the smallest key of m ("" for an empty map), so messages do
// not depend on map order.
func firstKey(m map[string]string) string {
	first := ""
	for k := range m {
		if first == "" || k < first {
			first = k
		}
	}
	return first
}

// JSONLines renders one JSON object per task per line.
func (r *ScoreReport) JSONLines() string {
	var sb strings.Builder
	for _, t := range r.Tasks {
		b, _ := json.Marshal(struct {
			Split string `json:"split"`
			TaskScore
		}{r.Split, t})
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Markdown renders a table: one row per task, one column per metric that
// any task has (in metricOrder), "–" where a task lacks it.
func (r *ScoreReport) Markdown() string {
	var cols []string
	for _, name := range metricOrder {
		for _, t := range r.Tasks {
			if _, ok := t.Metrics[name]; ok {
				cols = append(cols, name)
				break
			}
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# RadBench scores\n\nsplit %s, predictions %s (all metrics in [0, 1]; BLEU ×100 is sacrebleu's scale)\n\n", r.Split, r.Predictions)
	sb.WriteString("| task | n | missing |")
	for _, c := range cols {
		sb.WriteString(" " + c + " |")
	}
	sb.WriteString("\n|---|---:|---:|" + strings.Repeat("---:|", len(cols)) + "\n")
	for _, t := range r.Tasks {
		fmt.Fprintf(&sb, "| %s | %d | %d |", t.Task, t.N, t.Missing)
		for _, c := range cols {
			if v, ok := t.Metrics[c]; ok {
				fmt.Fprintf(&sb, " %.4f |", v)
			} else {
				sb.WriteString(" – |")
			}
		}
		sb.WriteString("\n")
	}
	if r.Extra > 0 {
		fmt.Fprintf(&sb, "\n%d predictions name ids that are not in the split; they were ignored.\n", r.Extra)
	}
	return sb.String()
}
