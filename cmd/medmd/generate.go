package main

import (
	"fmt"
	"os"

	"github.com/medmd/medmd/train"
	"github.com/spf13/cobra"
)

func init() {
	var a train.GenerateArgs
	cmd := &cobra.Command{
		Use:   "generate --checkpoint DIR --manifest M -o PREDICTIONS.jsonl",
		Short: "Answer every sample of a split with a trained model (greedy or top-k)",
		Long: `Writes one {"id", "prediction"} JSON line per sample of the manifest, the
file 'medmd radbench score' reads. --checkpoint is a 'medmd train --out' folder
(its latest checkpoint) or one ckpt-N folder.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := train.GenerateFromManifest(cmd.Context(), a)
			if err != nil {
				return err
			}
			if a.Output != "-" {
				fmt.Fprintf(os.Stderr, "wrote %d predictions to %s\n", n, a.Output)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Checkpoint, "checkpoint", "", "training output folder or checkpoint folder (required)")
	f.StringVar(&a.Manifest, "manifest", "", "split manifest.json (required)")
	f.StringVarP(&a.Output, "output", "o", "-", "predictions JSONL ('-' = stdout)")
	f.IntVar(&a.TopK, "top-k", 0, "sample from the K most likely tokens (0 = greedy)")
	f.Float64Var(&a.Temperature, "temperature", 1, "sampling temperature for --top-k")
	f.Int64Var(&a.Seed, "seed", 1, "sampling seed")
	f.IntVar(&a.MaxNewTokens, "max-new-tokens", 0, "tokens to generate at most (0 = config's max_new_tokens)")
	f.IntVar(&a.Batch, "batch", 0, "samples per forward pass (0 = config's batch)")
	cmd.MarkFlagRequired("checkpoint")
	cmd.MarkFlagRequired("manifest")
	rootCmd.AddCommand(cmd)
}
