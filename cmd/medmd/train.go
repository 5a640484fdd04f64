package main

import (
	"fmt"
	"os"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/train"
	"github.com/spf13/cobra"
)

func init() {
	var a train.TrainArgs
	var params, plan bool
	var stage string
	cmd := &cobra.Command{
		Use:   "train MANIFEST [--config FILE] [--preset tiny|small|radfm] [-o DIR]",
		Short: "Train the 3D-ViT + Perceiver + LM model on a shard manifest (resumes from --out)",
		Long: `Trains the RadFM-style model with GoMLX. The backend is $GOMLX_BACKEND
(e.g. xla:<cuda plugin> on a GPU, see train/gpu/); by default the pure-Go CPU
backend (go:parallelism=-1). Writes OUT/tokenizer.json (trained byte-level BPE
unless --tokenizer is given), OUT/ckpt-N checkpoints (every ckpt_every steps
and at exit, Ctrl-C included), OUT/metrics.jsonl and OUT/loss.png.
Rerunning with the same -o resumes exactly where it stopped. A resume keeps
the checkpoint's learning-rate schedule: it refuses another steps, lr,
min_lr or warmup (--steps or --config), naming the key; to train further on
a fresh schedule, start a new folder from the weights with --init.

MANIFEST (and --val) may be the object-store URL of a corpus that medmd run
wrote to a bucket: it is first copied to local disk (MANIFEST into --stage,
by default like --val into a folder of the user's cache named by the URL),
shard by shard, each checked against the manifest; a copy already there is
reused, an interrupted one resumed.`,
		Example: `  medmd train out/radmd-pmc/manifest.json --steps 20 -o out/train
  medmd train M --preset small --config my.yaml -o out/train-small
  medmd train 's3://my-bucket/corpora/radmd?region=eu-west-1' --stage /scratch/radmd -o out/train
  medmd train --preset radfm --plan --device-memory 80`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if a.Manifest, err = manifestArg(args, a.Manifest); err != nil {
				return err
			}
			if plan {
				rep, fits, err := train.PlanReport(a)
				if err != nil {
					return err
				}
				fmt.Println(rep)
				if !fits {
					return fmt.Errorf("preset %s does not fit %g GiB of device memory (see the plan above)", a.Preset, a.DeviceMemoryGiB)
				}
				return nil
			}
			if params {
				rep, err := train.ParamReport(a.Preset, a.ConfigFile)
				if err != nil {
					return err
				}
				fmt.Println(rep)
				return nil
			}
			if a.Manifest == "" {
				return fmt.Errorf("train: give the training corpus's manifest.json (or its folder) as MANIFEST")
			}
			// A corpus in a bucket is copied to local disk first: the
			// loader maps its Arrow parts.
			for _, c := range []struct {
				m   *string
				dir string
			}{{&a.Manifest, stage}, {&a.Val, ""}} {
				if *c.m == "" {
					continue
				}
				st, err := stageCorpus(cmd, *c.m, ingest.StageOptions{Dir: c.dir})
				if err != nil {
					return err
				}
				*c.m = st.Manifest
			}
			if isTerminal(os.Stderr) && os.Getenv("CI") == "" {
				a.Progress = os.Stderr
			}
			res, err := train.TrainFromManifest(cmd.Context(), a)
			if err != nil && cmd.Context().Err() != nil {
				return &exitError{code: exitInterrupted, err: fmt.Errorf("%w; rerun the same command to resume from that checkpoint", err)}
			}
			if err != nil {
				return err
			}
			fmt.Println(res.Summary())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Manifest, "manifest", "", "the training corpus, as the positional MANIFEST")
	f.MarkDeprecated("manifest", "give the manifest as the positional MANIFEST, like every other verb")
	f.StringVar(&a.Val, "val", "", "held-out manifest.json for periodic validation loss")
	f.StringVar(&stage, "stage", "", "folder to copy a corpus given by object-store URL into (default: the user's cache)")
	f.StringVar(&a.ConfigFile, "config", "", "YAML config overriding preset keys (see train/presets.yaml)")
	f.StringVar(&a.Preset, "preset", "tiny", "model preset: tiny, small or radfm")
	f.StringVarP(&a.Out, "output", "o", "out/train", "output folder (checkpoints, metrics, tokenizer)")
	f.StringVar(&a.Out, "out", "out/train", "the output folder, as -o/--output")
	f.MarkDeprecated("out", "use -o/--output, like every other verb")
	f.StringVar(&a.Tokenizer, "tokenizer", "", "Hugging Face tokenizer.json to use instead of training one")
	f.StringVar(&a.Init, "init", "", "start from the weights of this medmd checkpoint (run folder or ckpt-N; its tokenizer too) with a fresh optimizer at step 0: fine-tuning on a new manifest")
	f.IntVar(&a.Steps, "steps", 0, "override the config's number of steps (a resume must keep the checkpoint's)")
	f.BoolVar(&params, "params", false, "print the preset's parameter count (from shapes) and exit")
	f.BoolVar(&plan, "plan", false, "print the memory plan per device (parameters, optimizer state, activations, total) and exit")
	f.IntVar(&a.Batch, "batch", 0, "override the config's batch size")
	f.Float64Var(&a.DeviceMemoryGiB, "device-memory", 0, "device memory in GiB to check the plan against (the run stops before compiling when it does not fit)")
	var exportOut string
	export := &cobra.Command{
		Use:   "export-lm CHECKPOINT -o HF_DIR",
		Short: "Write a trained decoder (lm.from layout) as a Hugging Face LLaMA folder",
		Long: `Writes the decoder of a medmd checkpoint (run folder or ckpt-N) trained
with lm.from as model.safetensors + config.json + tokenizer.json, which
transformers' LlamaForCausalLM and 'medmd generate --lm' load (text only;
rows of added tokens such as <image> become ordinary vocabulary rows).`,
		Example: `  medmd train export-lm out/train -o out/llama-hf`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if exportOut == "" {
				return fmt.Errorf("export-lm: give the output folder with -o")
			}
			if err := train.ExportLM(args[0], exportOut); err != nil {
				return err
			}
			fmt.Println(exportOut)
			return nil
		},
	}
	export.Flags().StringVarP(&exportOut, "output", "o", "", "Hugging Face folder to write")
	cmd.AddCommand(export)
	rootCmd.AddCommand(cmd)
}
