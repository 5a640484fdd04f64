package bench

import (
	"fmt"
	"io"
	"path/filepath"
)

// WriteSummary prints what `medmd radbench build` says after Build wrote
// (or reused) outDir: whether it was up to date, a Markdown table of the
// samples per task and split, and the split-unit counts.
func (r *BuildReport) WriteSummary(w io.Writer, outDir string) {
	path := filepath.Join(outDir, "radbench.json")
	if r.UpToDate {
		fmt.Fprintf(w, "%s is up to date (same input and flags; --force rebuilds it)\n", path)
	}
	fmt.Fprintf(w, "| task | train | val | test |\n|---|---:|---:|---:|\n")
	for _, t := range Tasks {
		n := func(sp string) int {
			s := 0
			for _, c := range r.Counts[t][sp] {
				s += c
			}
			return s
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d |\n", t, n("train"), n("val"), n("test"))
	}
	fmt.Fprintf(w, "\n%d split units (%d groups joined by shared images, %d boilerplate images ignored); wrote %s\n",
		r.Units, r.LinkedGroups, r.BoilerplateImages, path)
}
