package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/medmd/medmd/internal/perf"
	"github.com/spf13/cobra"
)

func init() {
	var asJSON, quick bool
	var repeats int
	cmd := &cobra.Command{
		Use:   "perf [WHAT...]",
		Short: "Measure throughput as ratios against a baseline run in the same process",

		Example: `  medmd perf
  medmd perf shards --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			groups, err := perf.Select(args)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "medmd-perf-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(tw, "NAME\tOURS\tBASELINE\tRATIO\tGOAL\tOK")
			}
			var failed []string
			for _, g := range groups {
				res, err := g.Run(cmd.Context(), perf.Options{Quick: quick, TempDir: tmp, Repeats: repeats})
				if err != nil {
					// One group's missing reference tool must not hide the
					// others' numbers: report it and go on.
					fmt.Fprintf(os.Stderr, "medmd: perf %s: %v\n", g.Name, err)
					failed = append(failed, g.Name)
					continue
				}
				for _, r := range res {
					if asJSON {
						b, _ := json.Marshal(r)
						fmt.Println(string(b))
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
		},
	}
	cmd.Long = perfHelp()
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per measurement")
	cmd.Flags().BoolVar(&quick, "quick", false, "small inputs, few repeats (smoke test)")
	cmd.Flags().IntVar(&repeats, "repeats", 5, "timings per measurement; the median is reported")
	rootCmd.AddCommand(cmd)
}

func perfHelp() string {
	var b strings.Builder
	b.WriteString(`perf times medmd against a baseline doing the same work in the same run
(memcpy, plain file writes, a reference tool such as dcm2niix, nibabel,
scipy or lxml) and prints ours/baseline, larger is better, beside its goal.
Timings are medians of --repeats runs. With no arguments every group runs.
Results are named group/measure/key. Run it inside the repository: the
dicom and pmc groups measure on its test files.

Groups:
`)
	for _, g := range perf.Groups() {
		fmt.Fprintf(&b, "  %-12s %s\n", g.Name, g.Doc)
	}
	b.WriteString(`
--json prints one object per line:
  {"name","unit","value","baseline_name","baseline_value","ratio","goal","meets_goal"}`)
	return b.String()
}
