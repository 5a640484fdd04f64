package main

import (
	"context"
	"os"
	"strconv"

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
			ro := perf.ReportOptions{Options: perf.Options{Quick: quick, Repeats: repeats}, JSON: asJSON, Out: os.Stdout, Err: os.Stderr}
			if exe, err := os.Executable(); err == nil && len(groups) > 1 {
				// One process per group: no group's heap or threads slow
				// the next one's timings.
				ro.Run = func(ctx context.Context, g perf.Group, o perf.Options) ([]perf.Result, error) {
					args := []string{"perf", g.Name, "--json", "--repeats", strconv.Itoa(o.Repeats)}
					if o.Quick {
						args = append(args, "--quick")
					}
					return perf.RunInChild(ctx, exe, args, os.Stderr)
				}
			}
			return perf.RunAndPrint(cmd.Context(), groups, ro)
		},
	}
	cmd.Long = perf.Help()
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per measurement")
	cmd.Flags().BoolVar(&quick, "quick", false, "small inputs, few repeats (smoke test)")
	cmd.Flags().IntVar(&repeats, "repeats", 5, "timings per measurement; the median is reported")
	rootCmd.AddCommand(cmd)
}
