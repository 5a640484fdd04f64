package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/medmd/medmd/train"
	"github.com/medmd/medmd/train/hf"
	"github.com/spf13/cobra"
)

func init() {
	var a train.GenerateArgs
	var lm lmFlags
	cmd := &cobra.Command{
		Use:   "generate (--checkpoint DIR MANIFEST [-o PREDICTIONS.jsonl] | --lm HF_DIR --prompt TEXT)",
		Short: "Answer every sample of a split with a trained model (greedy or top-k)",
		Long: `Writes one {"id", "prediction"} JSON line per sample of the manifest, the
file 'medmd radbench score' reads. --checkpoint is a 'medmd train -o' folder
(its latest checkpoint) or one ckpt-N folder.`,
		Example: `  medmd generate --checkpoint out/train out/radbench/vqa/test/manifest.json -o predictions.jsonl
  medmd generate --checkpoint out/train SPLIT/manifest.json | medmd radbench score SPLIT/manifest.json -
  medmd generate --lm HF_DIR --prompt 'The chest X-ray shows'
  medmd generate --lm HF_DIR --prompt 'No acute' --prompt 'The liver is' --batch 2`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if a.Manifest, err = manifestArg(args, a.Manifest); err != nil {
				return err
			}
			if lm.dir != "" {
				return generateLM(cmd, lm, a)
			}
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
	f.StringVar(&a.Checkpoint, "checkpoint", "", "training output folder or checkpoint folder (with --manifest)")
	f.StringVar(&a.Manifest, "manifest", "", "the split, as the positional MANIFEST")
	f.MarkDeprecated("manifest", "give the manifest as the positional MANIFEST, like every other verb")
	f.StringVarP(&a.Output, "output", "o", "-", "predictions JSONL ('-' = stdout)")
	f.IntVar(&a.TopK, "top-k", 0, "sample from the K most likely tokens (0 and no --top-p = greedy)")
	f.Float64Var(&a.TopP, "top-p", 0, "nucleus sampling: the smallest set of tokens reaching this probability (0 = all; 0 and no --top-k = greedy)")
	f.Float64Var(&a.Temperature, "temperature", 1, "sampling temperature for --top-k and --top-p")
	f.Int64Var(&a.Seed, "seed", 1, "sampling seed")
	f.IntVar(&a.MaxNewTokens, "max-new-tokens", 0, "tokens to generate at most (0 = config's max_new_tokens)")
	f.IntVar(&a.Batch, "batch", 0, "samples per forward pass (0 = config's batch)")
	f.BoolVar(&a.NoCache, "no-cache", false, "with --checkpoint: re-run the whole context for every new token instead of using the KV cache (the reference it is tested against; same output, slower)")
	f.StringVar(&lm.dir, "lm", "", "Hugging Face LLaMA-family folder: generate text from --prompt with it alone")
	f.StringArrayVar(&lm.prompts, "prompt", nil, "prompt text for --lm (encoded by the folder's tokenizer.json, BOS first); repeat for several, decoded --batch at a time (0 = all), one output line each")
	f.StringVar(&lm.ids, "prompt-ids", "", "prompt token ids for --lm, comma-separated (instead of --prompt)")
	f.BoolVar(&lm.json, "json", false, "with --lm: print {prompt_ids, ids, text} as one JSON line")
	cmd.MarkFlagsOneRequired("checkpoint", "lm")
	rootCmd.AddCommand(cmd)
}

type lmFlags struct {
	dir, ids string
	prompts  []string
	json     bool
}

// generateLM continues the prompts with a Hugging Face folder's decoder.
func generateLM(cmd *cobra.Command, lm lmFlags, a train.GenerateArgs) error {
	backend, err := train.NewBackend()
	if err != nil {
		return err
	}
	ids, err := hf.ParseIDs(lm.ids)
	if err != nil {
		return fmt.Errorf("--prompt-ids: %w", err)
	}
	maxNew := a.MaxNewTokens
	if maxNew <= 0 {
		maxNew = 32
	}
	temp := 0.0 // greedy unless sampling is asked for
	if a.TopK > 0 || a.TopP > 0 {
		temp = a.Temperature
	}
	if ids != nil && len(lm.prompts) > 0 {
		return fmt.Errorf("--prompt and --prompt-ids: give one or the other")
	}
	if ids == nil && len(lm.prompts) == 0 {
		return fmt.Errorf("--lm needs --prompt or --prompt-ids")
	}
	rs, err := hf.GenerateText(backend, lm.dir, lm.prompts, ids, hf.GenerateOptions{
		MaxNewTokens: maxNew, Temperature: temp, TopK: a.TopK, TopP: a.TopP, Seed: uint64(a.Seed), Batch: a.Batch,
	})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if lm.json {
			err = json.NewEncoder(cmd.OutOrStdout()).Encode(r)
		} else {
			err = r.WriteText(cmd.OutOrStdout())
		}
		if err != nil {
			return err
		}
	}
	return nil
}
