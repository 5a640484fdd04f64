package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
)

// ReportOptions say how RunAndPrint runs and prints the groups.
type ReportOptions struct {
	Options
	// JSON prints one Result object per line instead of a table.
	JSON bool
	// Out receives the results; Err one line per group that failed.
	Out, Err io.Writer
	// Run runs one group; nil means Group.Run in this process. `medmd
	// perf` runs each of several groups in a process of its own
	// (RunInChild).
	Run func(ctx context.Context, g Group, o Options) ([]Result, error)
}

// RunAndPrint runs groups in order in a scratch folder of its own and
// prints their results (`medmd perf`). A group that fails (a missing
// reference tool) is reported and the others still run; the error
// returned then names every failed group.
func RunAndPrint(ctx context.Context, groups []Group, o ReportOptions) error {
	tmp, err := os.MkdirTemp("", "medmd-perf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o.TempDir = tmp
	tw := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	if !o.JSON {
		fmt.Fprintln(tw, "NAME\tOURS\tBASELINE\tRATIO\tGOAL\tOK")
	}
	var failed []string
	for _, g := range groups {
		// Each group starts on a collected heap: otherwise the garbage of
		// the group before (hundreds of MB for some) is collected during
		// the next one's timings, which then measure that collection.
		runtime.GC()
		run := o.Run
		if run == nil {
			run = func(ctx context.Context, g Group, o Options) ([]Result, error) { return g.Run(ctx, o) }
		}
		res, err := run(ctx, g, o.Options)
		if err != nil {
			fmt.Fprintf(o.Err, "medmd: perf %s: %v\n", g.Name, err)
			failed = append(failed, g.Name)
			continue
		}
		for _, r := range res {
			if o.JSON {
				b, _ := json.Marshal(r)
				fmt.Fprintln(o.Out, string(b))
				continue
			}
			fmt.Fprintf(tw, "%s\t%.4g %s\t%.4g (%s)\t%.2f\t%.2f\t%v\n", r.Name, r.Value, r.Unit, r.BaselineValue, r.BaselineName, r.Ratio, r.Goal, r.MeetsGoal)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("perf: %d group(s) failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// Help is the long help of `medmd perf`: what it measures, and one line
// per group.
func Help() string {
	var b strings.Builder
	b.WriteString(`perf times medmd against a baseline doing the same work in the same run
(memcpy, plain file writes, a reference tool such as dcm2niix, nibabel,
scipy or lxml) and prints ours/baseline, larger is better, beside its goal.
Timings are medians of --repeats runs, after warm-up runs. With no
arguments every group runs; several groups run each in a process of its own.
Results are named group/measure/key. Run it inside the repository: the
dicom and pmc groups measure on its test files.

Groups:
`)
	for _, g := range groups {
		fmt.Fprintf(&b, "  %-12s %s\n", g.Name, g.Doc)
	}
	b.WriteString(`
--json prints one object per line:
  {"name","unit","value","baseline_name","baseline_value","ratio","goal","meets_goal"}`)
	return b.String()
}

// RunInChild runs group g in a new process, exe with args (which must
// make it print g's results as --json lines), and returns its results.
// The child's stderr goes to errOut. Groups measured one after another in
// one process disturb each other: a group's large heap, runtime threads
// and freed memory slow the timings of the next (reads of a few MB took
// four times as long after the lm group as on their own).
func RunInChild(ctx context.Context, exe string, args []string, errOut io.Writer) ([]Result, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = errOut
	out, err := cmd.Output()
	var res []Result
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r Result
		if jerr := json.Unmarshal([]byte(line), &r); jerr != nil {
			return res, fmt.Errorf("reading the child's result %q: %w", line, jerr)
		}
		res = append(res, r)
	}
	if err != nil {
		return res, fmt.Errorf("its process failed (%w); its own message is above", err)
	}
	return res, nil
}
