package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/medmd/medmd/ingest"
	"github.com/spf13/cobra"
)

func init() {
	var file string
	var tasks int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "plan PIPELINE",
		Short: "Print a pipeline's work units and their shard assignment without running",
		Long: `plan lists the pipeline's input units in their stable order, the shard each
belongs to, and (with --tasks N) the task that builds that shard. Shard
assignment never depends on N: only which task builds a shard does.`,
		Example: `  medmd plan nifti-sample
  medmd plan -f my-pipelines.yaml ct-archive`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := ingest.LoadConfig(file)
			if err != nil {
				return err
			}
			p, err := cfg.Pipeline(args[0])
			if err != nil {
				return err
			}
			src, _, err := p.Build(cfg.BaseDir)
			if err != nil {
				return err
			}
			plan, err := ingest.MakePlan(cmd.Context(), p, src)
			if err != nil {
				return err
			}
			if tasks <= 0 {
				tasks = 1
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				for _, s := range plan.Shards {
					for _, u := range plan.Units[s.First:s.End] {
						enc.Encode(map[string]any{"shard": s.Name, "task": s.Index % tasks, "unit": u.ID, "bytes": u.Bytes})
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SHARD\tTASK\tUNIT\tBYTES")
			for _, s := range plan.Shards {
				for _, u := range plan.Units[s.First:s.End] {
					fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", s.Name, s.Index%tasks, u.ID, u.Bytes)
				}
			}
			tw.Flush()
			fmt.Printf("%s: %d units in %d shards over %d task(s); config %s\n", p.Name, len(plan.Units), len(plan.Shards), tasks, p.Hash()[:12])
			if reuse, build, err := plan.Changes(); err == nil {
				fmt.Printf("%s: %d shards to build, %d done and unchanged in %s\n", p.Name, build, reuse, p.OutputDir())
			}
			if len(plan.Excluded) > 0 {
				var ex []string
				for k, v := range plan.Excluded {
					ex = append(ex, fmt.Sprintf("%s=%d", k, v))
				}
				sort.Strings(ex)
				fmt.Printf("%s: left out while planning: %s\n", p.Name, strings.Join(ex, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "pipelines.yaml", "pipelines file")
	cmd.Flags().IntVar(&tasks, "tasks", 1, "show the task of each shard for this many tasks")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per unit")
	rootCmd.AddCommand(cmd)
}
