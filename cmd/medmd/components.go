package main

import (
	"os"

	"github.com/medmd/medmd/ingest"
	"github.com/spf13/cobra"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "components",
		Short: "List the sources and stages pipelines.yaml can use, with every field",
		Long: `components prints the registered sources and stages as Markdown: each
field's type, default and meaning. The README's component reference is this
output (a test keeps them in step).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return ingest.WriteSpecsMarkdown(os.Stdout)
		},
	})
}
