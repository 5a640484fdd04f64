package radmd

import (
	"fmt"
	"io"
	"path/filepath"
)

// WriteSummary prints what `medmd radmd` says after Run into outDir: the
// kept/dropped summary, then either that the corpus was up to date or the
// files written.
func (r *Result) WriteSummary(w io.Writer, outDir string) {
	fmt.Fprint(w, r.Summary.Markdown())
	if r.UpToDate {
		fmt.Fprintf(w, "\n%s is up to date (same input and rules; --force rebuilds it)\n", filepath.Join(outDir, "manifest.json"))
		return
	}
	fmt.Fprintf(w, "\nwrote %s and reports %s, %s, %s\n", filepath.Join(outDir, "manifest.json"),
		ReportPath(outDir, ExclusionsFile), ReportPath(outDir, SummaryMDFile), ReportPath(outDir, SummaryJSONFile))
}

// WriteMarkdown prints the report as `medmd radmd eval` does: a Markdown
// table of each rule and the whole filter (a precision or recall with
// nothing to divide by as -), then the label counts. Skipped label lines
// go to skipped, one a line.
func (r *EvalReport) WriteMarkdown(w, skipped io.Writer) {
	pct := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f", v)
	}
	fmt.Fprintf(w, "| rule | dropped | labelled | TP | FP | precision | recall |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range append(r.Rules, r.Filter) {
		name := s.Rule
		if s.Rule == "filter" {
			name = "**whole filter**"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s | %s |\n", name, s.Dropped, s.Labelled, s.TP, s.FP, pct(s.Precision), pct(s.Recall))
	}
	fmt.Fprintf(w, "\nlabels: %d keep, %d drop, %d unsure; %d labelled drop but kept (false negatives); %d ids unknown; %d lines skipped\n",
		r.Labels[LabelKeep], r.Labels[LabelDrop], r.Labels[LabelUnsure], r.Filter.FN, r.Unknown, len(r.Skipped))
	for _, s := range r.Skipped {
		fmt.Fprintf(skipped, "skipped %s\n", s)
	}
}
