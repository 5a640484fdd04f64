package main

import (
	"github.com/medmd/medmd/ingest"
	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "components [NAME...]",
		Short: "List the sources and stages pipelines.yaml can use, with every field",
		Long: `components prints the registered sources and stages as Markdown: each
field's type, default and meaning. The README's component reference is this
output (a test keeps them in step). With NAMEs it prints only those
components.`,
		Example: `  medmd components
  medmd components nifti
  medmd components resize intensity`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return ingest.WriteSpecsMarkdown(cmd.OutOrStdout())
			}
			return ingest.WriteSpecMarkdown(cmd.OutOrStdout(), args...)
		},
	})
}
