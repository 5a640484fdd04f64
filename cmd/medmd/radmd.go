package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/medmd/medmd/ingest/radmd"
)

func init() {
	var rulesPath string
	var testManifests []string
	cmd := &cobra.Command{
		Use:   "radmd IN_MANIFEST OUT_DIR",
		Short: "Filter MedMD into RadMD and write the exclusion report",
		Long: `radmd keeps the radiology samples of a MedMD corpus that pass the text-quality,
duplicate and benchmark-leakage rules (radmd-rules.yaml; --rules FILE to use
another). It writes to OUT_DIR the RadMD shards and manifest.json,
exclusions.parquet (id, source, task, reason, detail, kept_id) and a
summary of kept/dropped samples by reason × source (summary.md, summary.json).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := radmd.Run(cmd.Context(), args[0], args[1], radmd.Options{RulesPath: rulesPath, TestManifests: testManifests})
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), res.Summary.Markdown())
			fmt.Fprintf(cmd.OutOrStdout(), "\nwrote %s, %s, %s, %s\n", filepath.Join(args[1], "manifest.json"),
				filepath.Join(args[1], radmd.ExclusionsFile), filepath.Join(args[1], radmd.SummaryMDFile),
				filepath.Join(args[1], radmd.SummaryJSONFile))
			return nil
		},
	}
	cmd.Flags().StringVar(&rulesPath, "rules", "", "rules YAML (default: the built-in rules, identical to radmd-rules.yaml)")
	cmd.Flags().StringArrayVar(&testManifests, "test-manifest", nil, "RadBench test manifest to check for leakage (repeatable; adds to the rules file's list)")
	rootCmd.AddCommand(cmd)
}
