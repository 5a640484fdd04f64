package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/medmd/medmd/bench"
)

func init() {
	cmd := &cobra.Command{
		Use:   "radbench",
		Short: "Build leakage-free RadBench splits, check leakage, score predictions",
		Example: `  medmd radbench build out/radmd-pmc/manifest.json out/radbench
  medmd radbench score out/radbench/vqa/test/manifest.json predictions.jsonl`,
	}

	var o bench.BuildOptions
	build := &cobra.Command{
		Use:   "build IN_MANIFEST OUT_DIR",
		Short: "Build deterministic group-aware splits, one manifest per task and split",
		Long: `build assigns every group (patient, case, article — joined with any group that
shares an identical or near-duplicate image) to train, val or test as a
function of hash(seed, group), stratified by source and task, and writes
OUT_DIR/TASK/SPLIT/manifest.json for the tasks modality, diagnosis, vqa,
report and rationale, plus OUT_DIR/radbench.json with the counts. The same
input and flags give byte-identical outputs; rerunning them into OUT_DIR
reuses the build there, other input or flags need --force.`,
		Example: `  medmd radbench build out/radmd-pmc/manifest.json out/radbench
  medmd radbench build out/radmd-pmc/manifest.json out/radbench --seed 2 --force`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := bench.Build(cmd.Context(), args[0], args[1], o)
			if err != nil {
				return err
			}
			rep.WriteSummary(cmd.OutOrStdout(), args[1])
			return nil
		},
	}
	build.Flags().StringVar(&o.Seed, "seed", bench.DefaultSeed, "seed of the group hash")
	build.Flags().Float64Var(&o.Test, "test", 0.1, "fraction of groups (per stratum) in test")
	build.Flags().Float64Var(&o.Val, "val", 0.1, "fraction of groups (per stratum) in val")
	build.Flags().BoolVar(&o.Unstratified, "unstratified", false, "threshold each group's hash alone (a group's split never changes as data is added; fractions only approximate)")
	build.Flags().IntVar(&o.NearThreshold, "near-threshold", 10, "dHash bits (of 256) under which images join their groups; -1 disables")
	build.Flags().BoolVar(&o.Force, "force", false, "replace a build of other input or flags already in OUT_DIR")
	build.Flags().IntVar(&o.MaxSharedGroups, "max-shared-groups", 8, "an image in more groups than this is boilerplate (a logo) and joins nothing")

	var threshold, examples int
	var leakJSON bool
	check := &cobra.Command{
		Use:   "check-leakage TRAIN_MANIFEST TEST_MANIFEST...",
		Short: "Report shared groups, identical and near-duplicate images; exit 2 if any",
		Example: `  medmd radbench check-leakage out/radmd-pmc/manifest.json out/radbench/*/test/manifest.json
  medmd radbench check-leakage --json TRAIN/manifest.json TEST/manifest.json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := bench.CheckLeakage(cmd.Context(), args[0], args[1:], threshold, examples)
			if err != nil {
				return err
			}
			if leakJSON {
				b, _ := json.Marshal(rep)
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else {
				fmt.Fprint(cmd.OutOrStdout(), rep.Markdown())
			}
			if rep.Total() > 0 {
				return &bench.LeakError{Report: rep}
			}
			return nil
		},
	}
	check.Flags().IntVar(&threshold, "near-threshold", 10, "dHash distance (bits of 256) that counts as a near duplicate, as in radbench build")
	check.Flags().IntVar(&threshold, "threshold", 10, "the near-duplicate distance, as --near-threshold")
	check.Flags().MarkDeprecated("threshold", "use --near-threshold, the name radbench build uses")
	check.Flags().IntVar(&examples, "examples", 20, "how many leaking samples to list")
	check.Flags().BoolVar(&leakJSON, "json", false, "print the report as one JSON object")

	var termsPath string
	var scoreJSON, allowMissing bool
	score := &cobra.Command{
		Use:   "score SPLIT_MANIFEST PREDICTIONS.jsonl",
		Short: "Score {\"id\", \"prediction\"} lines against a split, per task",
		Long: `score compares each prediction with the sample's response: accuracy with
answer normalisation (closed yes/no and open questions) for vqa; accuracy and
macro-F1 for diagnosis and modality; corpus BLEU-1..4 (sacrebleu 13a
tokenisation, exp smoothing), ROUGE-L F1 and medical-term precision/recall/F1
for report and rationale. All metrics are in [0, 1]. PREDICTIONS.jsonl '-'
reads standard input.

It exits non-zero, with the counts, on an empty split, on predictions none of
which is a sample of the split, and on samples without a prediction unless
--allow-missing (they then count as wrong, and the table says how many).`,
		Example: `  medmd radbench score out/radbench/vqa/test/manifest.json predictions.jsonl
  medmd generate --checkpoint out/train --manifest out/radbench/vqa/test/manifest.json |
    medmd radbench score out/radbench/vqa/test/manifest.json -
  medmd radbench score SPLIT/manifest.json partial.jsonl --allow-missing --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			terms, err := bench.ReadTermList(termsPath)
			if err != nil {
				return err
			}
			rep, err := bench.Score(cmd.Context(), args[0], args[1], bench.ScoreOptions{Terms: terms, Stdin: cmd.InOrStdin(), AllowMissing: allowMissing})
			if errors.Is(err, bench.ErrMissingPredictions) {
				return fmt.Errorf("%w (pass --allow-missing to score them as wrong)", err)
			}
			if err != nil {
				return err
			}
			if scoreJSON {
				fmt.Fprint(cmd.OutOrStdout(), rep.JSONLines())
			} else {
				fmt.Fprint(cmd.OutOrStdout(), rep.Markdown())
			}
			return nil
		},
	}
	score.Flags().StringVar(&termsPath, "terms", "", "medical term list, one term a line (default: the bundled radiology starter list)")
	score.Flags().BoolVar(&scoreJSON, "json", false, "print one JSON object per task per line")
	score.Flags().BoolVar(&allowMissing, "allow-missing", false, "score samples without a prediction as wrong instead of failing")

	cmd.AddCommand(build, check, score)
	rootCmd.AddCommand(cmd)
}
