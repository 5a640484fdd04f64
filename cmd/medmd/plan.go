package main

import (
	"fmt"

	"github.com/medmd/medmd/ingest"
	"github.com/spf13/cobra"
)

func init() {
	var file string
	var tasks int
	var asJSON, units, perShard bool
	cmd := &cobra.Command{
		Use:   "plan PIPELINE",
		Short: "Print a pipeline's shards and work units without running",
		Long: fmt.Sprintf(`plan lists the pipeline's input units in their stable order, the shard each
belongs to, and (with --tasks N) the task that builds that shard. Shard
assignment never depends on N: only which task builds a shard does.

A plan of more than %d units (the PMC Cloud layout plans millions of
articles) is shown as one line per shard instead: its task, how many units,
their bytes and its first and last unit. --units lists every unit anyway,
--shards shows the shard view for a small plan too. Totals, shards left to
build and what planning left out follow either view.`, ingest.SmallPlanUnits),
		Example: `  medmd plan nifti-sample
  medmd plan pmc-sample --tasks 3 --shards
  medmd plan -f my-pipelines.yaml pmc-bucket --units --json > units.jsonl
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
			if units && perShard {
				return fmt.Errorf("plan: --units lists every unit and --shards one line per shard; give one of them")
			}
			o := ingest.PlanPrint{Tasks: tasks}
			switch {
			case units:
				o.View = ingest.PlanViewUnits
			case perShard:
				o.View = ingest.PlanViewShards
			}
			if asJSON {
				return plan.WriteJSON(cmd.OutOrStdout(), o)
			}
			return plan.WriteTable(cmd.OutOrStdout(), o)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "pipelines.yaml", "pipelines file")
	cmd.Flags().IntVar(&tasks, "tasks", 1, "show the task of each shard for this many tasks")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line: per unit, or per shard in the shard view")
	cmd.Flags().BoolVar(&units, "units", false, "list every unit, however large the plan")
	cmd.Flags().BoolVar(&perShard, "shards", false, "one line per shard, however small the plan")
	rootCmd.AddCommand(cmd)
}
