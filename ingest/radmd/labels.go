package radmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medmd/medmd/shards"
)

// Curator labels are what a curator decided about a sample while looking
// at it (medmd serve --labels FILE): one JSON object per line,
//
//	{"id":"pmc-oa-…","label":"drop","corpus":"medmd","time":"2026-12-04T10:00:00Z"}
//
// label is keep, drop or unsure. The file is only ever appended to, so a
// curator's change of mind is a later line for the same id: the last line
// wins. A line that is not a whole JSON object (the one a crash cut short)
// is skipped and reported, never fatal.
const (
	LabelKeep   = "keep"
	LabelDrop   = "drop"
	LabelUnsure = "unsure"
)

// ReasonCurator is the exclusion reason of a sample the rules kept and a
// curator's label (Options.Overrides) dropped.
const ReasonCurator = "curator-drop"

// Label is one line of a labels file.
type Label struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	Corpus string `json:"corpus,omitempty"`
	Time   string `json:"time,omitempty"`
}

// ValidLabel reports whether s is keep, drop or unsure.
func ValidLabel(s string) bool { return s == LabelKeep || s == LabelDrop || s == LabelUnsure }

// Labels are the curator's latest label per sample id.
type Labels struct {
	ByID map[string]string
	// Skipped names the lines that were not read ("labels.jsonl:7: reason").
	Skipped []string
}

// ParseLabels reads a labels stream (see Label); name is used in Skipped.
func ParseLabels(name string, r io.Reader) (*Labels, error) {
	out := &Labels{ByID: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var l Label
		if err := json.Unmarshal(line, &l); err != nil {
			out.Skipped = append(out.Skipped, fmt.Sprintf("%s:%d: %v", name, n, err))
			continue
		}
		if l.ID == "" || !ValidLabel(l.Label) {
			out.Skipped = append(out.Skipped, fmt.Sprintf("%s:%d: want an id and a label keep, drop or unsure", name, n))
			continue
		}
		out.ByID[l.ID] = l.Label
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ReadLabels reads a labels file (see ParseLabels).
func ReadLabels(path string) (*Labels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	return ParseLabels(path, f)
}

// ReportPath returns where report file name of the RadMD folder dir is:
// dir/reports/name when that exists, else dir/name (older folders keep
// their reports beside manifest.json).
func ReportPath(dir, name string) string {
	p := filepath.Join(dir, "reports", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join(dir, name)
}

// ReadExclusions reads an exclusion report written by WriteExclusions.
func ReadExclusions(ctx context.Context, path string) ([]Exclusion, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("exclusion report %s: %w", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("exclusion report %s: %w", path, err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("exclusion report %s: %w", path, err)
	}
	defer tbl.Release()
	cols := map[string]int{}
	for i, f := range tbl.Schema().Fields() {
		cols[f.Name] = i
	}
	for _, c := range []string{"id", "source", "task", "reason", "detail", "kept_id"} {
		if _, ok := cols[c]; !ok {
			return nil, fmt.Errorf("exclusion report %s: no column %q", path, c)
		}
	}
	out := make([]Exclusion, tbl.NumRows())
	for name, c := range cols {
		i := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			s, ok := chunk.(*array.String)
			if !ok {
				return nil, fmt.Errorf("exclusion report %s: column %q is %s, want utf8", path, name, chunk.DataType())
			}
			for j := 0; j < s.Len(); j++ {
				v := ""
				if s.IsValid(j) {
					v = s.Value(j)
				}
				e := &out[i]
				switch name {
				case "id":
					e.ID = v
				case "source":
					e.Source = v
				case "task":
					e.Task = v
				case "reason":
					e.Reason = v
				case "detail":
					e.Detail = v
				case "kept_id":
					e.KeptID = v
				}
				i++
			}
		}
	}
	return out, nil
}

// RuleScore is how one rule (an exclusion reason) fares against the
// curator's labels. Dropping is the positive class: a true positive is a
// sample the rule dropped and the curator labelled drop.
type RuleScore struct {
	Rule string `json:"rule"`
	// Dropped counts every sample the rule dropped; Labelled those of
	// them with a keep or drop label.
	Dropped  int `json:"dropped"`
	Labelled int `json:"labelled"`
	TP       int `json:"true_positives"`
	FP       int `json:"false_positives"`
	// FN (whole filter only) counts samples labelled drop that were kept.
	FN int `json:"false_negatives"`
	// Precision is TP/(TP+FP); Recall is TP over every labelled-drop
	// sample of the corpus (for a rule: the share of the curator's drops
	// this rule caught). -1 where the denominator is 0.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// EvalReport is the result of Eval.
type EvalReport struct {
	Rules []RuleScore `json:"rules"`
	// Filter scores the whole filter: dropped by any rule.
	Filter RuleScore `json:"filter"`
	// Labels counts the labels used by value; Unknown those whose id is
	// neither in the exclusion report nor in the RadMD corpus.
	Labels  map[string]int `json:"labels"`
	Unknown int            `json:"unknown_ids"`
	Skipped []string       `json:"skipped_lines"`
}

// Eval scores each rule of a RadMD run and the whole filter against the
// curator's labels. kept holds the ids of the RadMD corpus; excl is its
// exclusion report. Unsure labels are counted but not scored; samples
// dropped by a curator's override (ReasonCurator) are not a rule.
func Eval(labels *Labels, excl []Exclusion, kept map[string]bool) *EvalReport {
	rep := &EvalReport{Labels: map[string]int{}, Skipped: labels.Skipped}
	if rep.Skipped == nil {
		rep.Skipped = []string{}
	}
	byRule := map[string]*RuleScore{}
	dropped := map[string]string{}
	for _, e := range excl {
		dropped[e.ID] = e.Reason
		r := byRule[e.Reason]
		if r == nil {
			r = &RuleScore{Rule: e.Reason}
			byRule[e.Reason] = r
		}
		r.Dropped++
		rep.Filter.Dropped++
	}
	labelledDrops := 0
	for id, l := range labels.ByID {
		rep.Labels[l]++
		reason, isDropped := dropped[id]
		if !isDropped && !kept[id] {
			rep.Unknown++
			continue
		}
		if l == LabelUnsure {
			continue
		}
		if l == LabelDrop {
			labelledDrops++
		}
		if !isDropped {
			if l == LabelDrop {
				rep.Filter.FN++
			}
			continue
		}
		r := byRule[reason]
		r.Labelled++
		rep.Filter.Labelled++
		if l == LabelDrop {
			r.TP++
			rep.Filter.TP++
		} else {
			r.FP++
			rep.Filter.FP++
		}
	}
	score := func(r *RuleScore) {
		r.Precision, r.Recall = ratio(r.TP, r.TP+r.FP), ratio(r.TP, labelledDrops)
	}
	for _, r := range byRule {
		if r.Rule == ReasonCurator {
			continue
		}
		score(r)
		rep.Rules = append(rep.Rules, *r)
	}
	sort.Slice(rep.Rules, func(i, j int) bool { return rep.Rules[i].Rule < rep.Rules[j].Rule })
	if rep.Rules == nil {
		rep.Rules = []RuleScore{}
	}
	rep.Filter.Rule = "filter"
	score(&rep.Filter)
	return rep
}

func ratio(a, b int) float64 {
	if b == 0 {
		return -1
	}
	return float64(a) / float64(b)
}

// EvalDir scores the RadMD output folder dir (its manifest.json and
// exclusion report) against the labels file labelsPath.
func EvalDir(ctx context.Context, labelsPath, dir string) (*EvalReport, error) {
	labels, err := ReadLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	excl, err := ReadExclusions(ctx, ReportPath(dir, ExclusionsFile))
	if err != nil {
		return nil, err
	}
	m, err := shards.ReadManifest(filepath.Join(dir, shards.ManifestFile))
	if err != nil {
		return nil, err
	}
	kept := map[string]bool{}
	for _, path := range m.ArrowPaths() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sh, err := shards.OpenShard(path)
		if err != nil {
			return nil, err
		}
		for i := 0; i < sh.Len(); i++ {
			id, err := sh.ID(i)
			if err != nil {
				sh.Close()
				return nil, err
			}
			kept[id] = true
		}
		sh.Close()
	}
	return Eval(labels, excl, kept), nil
}

// Override is one sample whose fate a curator's label changed.
type Override struct {
	ID string `json:"id"`
	// Rule is the reason the rules dropped a sample the curator kept; ""
	// for a sample the rules kept and the curator dropped.
	Rule string `json:"rule,omitempty"`
}

// OverrideReport says which labels a run honoured.
type OverrideReport struct {
	File string `json:"file"`
	// Kept are samples labelled keep that a rule dropped; Dropped samples
	// labelled drop that every rule kept.
	Kept    []Override `json:"kept"`
	Dropped []Override `json:"dropped"`
	Skipped []string   `json:"skipped_lines"`
}

// markdown appends the overrides section of summary.md.
func (o *OverrideReport) markdown(sb *strings.Builder) {
	fmt.Fprintf(sb, "\n## Curator overrides\n\nLabels from %s: %d samples kept against the rules, %d dropped by the curator.\n", o.File, len(o.Kept), len(o.Dropped))
	if len(o.Kept) > 0 {
		sb.WriteString("\n| kept id | rule overridden |\n|---|---|\n")
		for _, k := range o.Kept {
			fmt.Fprintf(sb, "| %s | %s |\n", k.ID, k.Rule)
		}
	}
	if len(o.Dropped) > 0 {
		sb.WriteString("\n| dropped id |\n|---|\n")
		for _, k := range o.Dropped {
			fmt.Fprintf(sb, "| %s |\n", k.ID)
		}
	}
	if len(o.Skipped) > 0 {
		fmt.Fprintf(sb, "\n%d label lines skipped: %s\n", len(o.Skipped), o.Skipped[0])
	}
}
