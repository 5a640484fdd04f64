package radmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/bench/benchtest"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		skipped  int
	}{
		{"last wins", `{"id":"a","label":"keep"}` + "\n" + `{"id":"a","label":"drop"}` + "\n", map[string]string{"a": "drop"}, 0},
		{"cut short by a crash", `{"id":"a","label":"keep"}` + "\n" + `{"id":"b","lab`, map[string]string{"a": "keep"}, 1},
		{"bad label", `{"id":"a","label":"maybe"}` + "\n" + `{"label":"keep"}` + "\n", map[string]string{}, 2},
		{"blank lines", "\n\n" + `{"id":"a","label":"unsure","corpus":"x","time":"t"}` + "\n\n", map[string]string{"a": "unsure"}, 0},
	} {
		l, err := ParseLabels("labels.jsonl", strings.NewReader(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(l.ByID) != fmt.Sprint(tc.want) || len(l.Skipped) != tc.skipped {
			t.Errorf("%s: got %v skipped %v, want %v and %d skipped", tc.name, l.ByID, l.Skipped, tc.want, tc.skipped)
		}
	}
}

func TestEval(t *testing.T) {
	excl := []Exclusion{
		{ID: "d1", Reason: "short-response"}, {ID: "d2", Reason: "short-response"},
		{ID: "d3", Reason: "not-radiology"}, {ID: "d4", Reason: "not-radiology"},
	}
	kept := map[string]bool{"k1": true, "k2": true}
	labels := &Labels{ByID: map[string]string{
		"d1": LabelDrop, "d2": LabelKeep, // short-response: 1 TP, 1 FP
		"d3": LabelDrop, "d4": LabelUnsure, // not-radiology: 1 TP
		"k1": LabelDrop, "k2": LabelKeep, // one false negative
		"zz": LabelDrop, // unknown
	}}
	rep := Eval(labels, excl, kept)
	if len(rep.Rules) != 2 || rep.Unknown != 1 {
		t.Fatalf("report %+v", rep)
	}
	for _, tc := range []struct {
		got                   RuleScore
		rule                  string
		dropped, labelled, tp int
		fp, fn                int
		precision, recall     float64
	}{
		{rep.Rules[0], "not-radiology", 2, 1, 1, 0, 0, 1, 1.0 / 3},
		{rep.Rules[1], "short-response", 2, 2, 1, 1, 0, 0.5, 1.0 / 3},
		{rep.Filter, "filter", 4, 3, 2, 1, 1, 2.0 / 3, 2.0 / 3},
	} {
		g := tc.got
		if g.Rule != tc.rule || g.Dropped != tc.dropped || g.Labelled != tc.labelled || g.TP != tc.tp || g.FP != tc.fp || g.FN != tc.fn ||
			fmt.Sprintf("%.4f %.4f", g.Precision, g.Recall) != fmt.Sprintf("%.4f %.4f", tc.precision, tc.recall) {
			t.Errorf("%s: %+v", tc.rule, g)
		}
	}
	if empty := Eval(&Labels{ByID: map[string]string{}}, nil, nil); empty.Filter.Precision != -1 || empty.Filter.Recall != -1 {
		t.Errorf("no labels: %+v", empty.Filter)
	}
}

// TestOverridesAndEvalDir runs RadMD with a labels file that keeps one
// dropped sample and drops one kept sample, checks the outputs say so, and
// scores the first run against the same labels.
func TestOverridesAndEvalDir(t *testing.T) {
	tmp := t.TempDir()
	in := benchtest.MedMD(6)
	inPath := writeMedMD(t, filepath.Join(tmp, "medmd"), in)
	plain := filepath.Join(tmp, "plain")
	res, err := Run(context.Background(), inPath, plain, Options{})
	if err != nil {
		t.Fatal(err)
	}
	excl, err := ReadExclusions(t.Context(), ReportPath(plain, ExclusionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(excl) != res.Summary.Dropped || len(excl) == 0 {
		t.Fatalf("%d exclusions read, %d dropped", len(excl), res.Summary.Dropped)
	}
	dropped := excl[0]
	m, err := os.ReadFile(filepath.Join(plain, "manifest.json"))
	if err != nil || len(m) == 0 {
		t.Fatal(err)
	}
	var keptID string
	for _, s := range in {
		isDropped := false
		for _, e := range excl {
			isDropped = isDropped || e.ID == s.ID
		}
		if !isDropped {
			keptID = s.ID
			break
		}
	}
	labels := filepath.Join(tmp, "labels.jsonl")
	body := fmt.Sprintf("{\"id\":%q,\"label\":\"keep\"}\n{\"id\":%q,\"label\":\"drop\"}\n{\"id\":\"x\",\"la", dropped.ID, keptID)
	if err := os.WriteFile(labels, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}

	rep, err := EvalDir(context.Background(), labels, plain)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Filter.FP != 1 || rep.Filter.FN != 1 || rep.Filter.TP != 0 || len(rep.Skipped) != 1 {
		t.Errorf("eval %+v", rep.Filter)
	}

	over := filepath.Join(tmp, "over")
	res2, err := Run(context.Background(), inPath, over, Options{Overrides: labels})
	if err != nil {
		t.Fatal(err)
	}
	o := res2.Summary.Overrides
	if o == nil || len(o.Kept) != 1 || o.Kept[0].ID != dropped.ID || o.Kept[0].Rule != dropped.Reason ||
		len(o.Dropped) != 1 || o.Dropped[0].ID != keptID {
		t.Fatalf("overrides %+v", o)
	}
	if res2.Summary.Kept != res.Summary.Kept || res2.Manifest.Samples != res.Summary.Kept {
		t.Errorf("kept %d, want %d (one in, one out)", res2.Summary.Kept, res.Summary.Kept)
	}
	md, _ := os.ReadFile(filepath.Join(over, ReportsDir, SummaryMDFile))
	if !strings.Contains(string(md), "Curator overrides") || !strings.Contains(string(md), dropped.ID) {
		t.Errorf("summary.md does not list the overrides:\n%s", md)
	}
	excl2, err := ReadExclusions(t.Context(), ReportPath(over, ExclusionsFile))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range excl2 {
		reasons[e.ID] = e.Reason
	}
	if _, ok := reasons[dropped.ID]; ok || reasons[keptID] != ReasonCurator {
		t.Errorf("exclusions after overrides: %v", reasons)
	}
}
