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

		RunE: func(cmd *cobra.Command, args []string) error {
			names := args
			if len(names) == 0 {
				names = perf.Names()
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
			for _, name := range names {
				f, _, ok := perf.Lookup(name)
				if !ok {
					return fmt.Errorf("perf: unknown group %q (have %s)", name, strings.Join(perf.Names(), ", "))
				}
				res, err := f(cmd.Context(), perf.Options{Quick: quick, TempDir: tmp, Repeats: repeats})
				if err != nil {
					// One group's missing reference tool must not hide the
					// others' numbers: report it and go on.
					fmt.Fprintf(os.Stderr, "medmd: perf %s: %v\n", name, err)
					failed = append(failed, name)
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
	// The groups register from other files' init functions, after this
	// one has run, so the help text lists them when it is shown.
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		c.Long = perfHelp()
		rootCmd.HelpFunc()(c, args)
	})
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per measurement")
	cmd.Flags().BoolVar(&quick, "quick", false, "small inputs, few repeats (smoke test)")
	cmd.Flags().IntVar(&repeats, "repeats", 5, "timings per measurement; the median is reported")
	rootCmd.AddCommand(cmd)
}

func perfHelp() string {
	var b strings.Builder
	b.WriteString(`perf times medmd against a baseline measured in the same run (memcpy, plain
file writes, a reference tool such as dcm2niix, nibabel, scipy or lxml) and
prints ours/baseline, larger is better, with the goal from the issue it
serves. Timings are medians of --repeats runs. With no arguments every group
runs.

Groups:
`)
	for _, n := range perf.Names() {
		_, doc, _ := perf.Lookup(n)
		fmt.Fprintf(&b, "  %-12s %s\n", n, doc)
	}
	b.WriteString(`
--json prints one object per line:
  {"name","unit","value","baseline_name","baseline_value","ratio","goal","meets_goal"}`)
	return b.String()
}
