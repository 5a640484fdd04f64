package main

import (
	"os"

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
				return plan.WriteJSON(os.Stdout, tasks)
			}
			return plan.WriteTable(os.Stdout, tasks)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "pipelines.yaml", "pipelines file")
	cmd.Flags().IntVar(&tasks, "tasks", 1, "show the task of each shard for this many tasks")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per unit")
	rootCmd.AddCommand(cmd)
}
