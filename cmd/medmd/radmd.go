package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medmd/medmd/ingest/radmd"
)

func init() {
	var rulesPath string
	var testManifests []string
	var overrides string
	var force bool
	cmd := &cobra.Command{
		Use:   "radmd IN_MANIFEST OUT_DIR",
		Short: "Filter MedMD into RadMD and write the exclusion report",
		Long: `radmd keeps the radiology samples of a MedMD corpus that pass the text-quality,
duplicate and benchmark-leakage rules (radmd-rules.yaml; --rules FILE to use
another). It writes to OUT_DIR the RadMD shards and manifest.json, and under
OUT_DIR/reports/ exclusions.parquet (id, source, task, reason, detail,
kept_id) and a summary of kept/dropped samples by reason × source
(summary.md, summary.json). The reports sit one folder down so that a glob
over shards ('OUT/*.parquet', or 'out/*/*.parquet' over several corpora)
reaches only shards.

--overrides FILE honours a curator's labels (medmd serve --labels FILE): a
sample labelled keep is kept whatever the rules say, one labelled drop is
dropped as curator-drop, and the summary lists both.

Rerunning into OUT_DIR with the same input and rules reuses the corpus there;
other input, rules or labels need --force, which replaces it.`,
		Example: `  medmd radmd out/pmc-sample/manifest.json out/radmd-pmc
  medmd radmd out/pmc-sample/manifest.json out/radmd-pmc --rules my-rules.yaml --force
  duckdb -c "SELECT reason, count(*) FROM 'out/radmd-pmc/reports/exclusions.parquet' GROUP BY 1"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := radmd.Run(cmd.Context(), args[0], args[1], radmd.Options{RulesPath: rulesPath, TestManifests: testManifests, Overrides: overrides, Force: force})
			if err != nil {
				return err
			}
			res.WriteSummary(cmd.OutOrStdout(), args[1])
			return nil
		},
	}
	cmd.Flags().StringVar(&rulesPath, "rules", "", "rules YAML (default: the built-in rules, identical to radmd-rules.yaml)")
	cmd.Flags().StringArrayVar(&testManifests, "test-manifest", nil, "RadBench test manifest to check for leakage (repeatable; adds to the rules file's list)")
	cmd.Flags().StringVar(&overrides, "overrides", "", "curator labels JSONL (medmd serve --labels): keep/drop labels override the rules")
	cmd.Flags().BoolVar(&force, "force", false, "replace a RadMD corpus of other input, rules or labels already in OUT_DIR")
	cmd.AddCommand(radmdEvalCmd())
	rootCmd.AddCommand(cmd)
}

// radmdEvalCmd is `medmd radmd eval --labels FILE RADMD_DIR`.
func radmdEvalCmd() *cobra.Command {
	var labels string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval --labels FILE RADMD_DIR",
		Short: "Precision and recall of each RadMD rule against curator labels",
		Long: `eval compares a RadMD output folder (its manifest.json and exclusion report)
with a curator's labels (medmd serve --labels FILE): for each rule, how many
samples it dropped, how many of those the curator labelled, precision (of the
labelled samples it dropped, the share labelled drop) and recall (of the
samples labelled drop, the share it dropped); then the same for the whole
filter, with false negatives (labelled drop, kept). Unsure labels are not
scored; labels of ids in neither the corpus nor the report are counted as
unknown. A precision or recall with nothing to divide by prints as -.`,
		Example: `  medmd radmd eval --labels labels.jsonl out/radmd-pmc
  medmd radmd eval --labels labels.jsonl out/radmd-pmc --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if labels == "" {
				return fmt.Errorf("radmd eval: --labels FILE is required")
			}
			rep, err := radmd.EvalDir(cmd.Context(), labels, args[0])
			if err != nil {
				return fmt.Errorf("radmd eval: %w", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(rep)
			}
			rep.WriteMarkdown(w, cmd.ErrOrStderr())
			return nil
		},
	}
	cmd.Flags().StringVar(&labels, "labels", "", "curator labels JSONL written by medmd serve --labels (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}
