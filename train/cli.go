package train

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/medmd/medmd/shards"
)

// TrainArgs are the `medmd train` flags.
type TrainArgs struct {
	Manifest, Val, ConfigFile, Preset, Out, Tokenizer string
	// Init is a medmd checkpoint (run folder or ckpt-N) whose weights a
	// new run starts from (Options.Init).
	Init  string
	Steps int // > 0 overrides the config
	// Progress gets the live progress line (nil: none, as in CI).
	Progress io.Writer
	// Batch > 0 overrides the config's batch; DeviceMemoryGiB > 0 is the
	// device memory the plan is checked against.
	Batch           int
	DeviceMemoryGiB float64
}

// TrainFromManifest runs `medmd train`: config = preset overlaid with the
// config file; samples from the manifest (and the optional validation
// manifest); resumes when Out holds a checkpoint.
func TrainFromManifest(ctx context.Context, a TrainArgs) (*Result, error) {
	cfg, err := LoadConfig(a.Preset, a.ConfigFile)
	if err != nil {
		return nil, err
	}
	if a.Steps > 0 {
		cfg.Steps = a.Steps
	}
	if a.Batch > 0 {
		cfg.Batch = a.Batch
	}
	if a.Init != "" && a.Tokenizer != "" {
		return nil, fmt.Errorf("train: --init uses the checkpoint's tokenizer; leave out --tokenizer")
	}
	if a.Tokenizer == "" && cfg.LM.From != "" && a.Init == "" {
		a.Tokenizer = filepath.Join(cfg.LM.From, "tokenizer.json") // a pretrained LM's own tokenizer
	}
	o := Options{Config: cfg, TrainManifest: a.Manifest, Out: a.Out, TokenizerPath: a.Tokenizer, Init: a.Init, Progress: a.Progress,
		DeviceMemory: int64(a.DeviceMemoryGiB * (1 << 30))}
	if cfg.Batching == "shuffle" {
		src, err := OpenManifest(a.Manifest)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		o.TrainManifest, o.Train = "", src
	}
	if a.Val != "" {
		val, err := OpenManifest(a.Val)
		if err != nil {
			return nil, err
		}
		defer val.Close()
		o.Val = val
	}
	slog.Info("train", "manifest", a.Manifest, "preset", cfg.Name, "out", a.Out)
	return Run(ctx, o)
}

// GenerateArgs are the `medmd generate` flags.
type GenerateArgs struct {
	Checkpoint, Manifest, Output string
	TopK, MaxNewTokens, Batch    int
	Temperature, TopP            float64
	Seed                         int64
	// NoCache re-runs the whole context per new token (GenerateOptions).
	NoCache bool
}

// GenerateFromManifest runs `medmd generate`: predictions for every sample
// of the manifest, written atomically to Output ("-" = stdout).
func GenerateFromManifest(ctx context.Context, a GenerateArgs) (int, error) {
	src, err := OpenManifest(a.Manifest)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	var n int
	generate := func(w io.Writer) (err error) {
		n, err = Generate(ctx, GenerateOptions{Checkpoint: a.Checkpoint, Source: src, Out: w, TopK: a.TopK, TopP: a.TopP,
			Temperature: a.Temperature, Seed: a.Seed, MaxNewTokens: a.MaxNewTokens, Batch: a.Batch, NoCache: a.NoCache})
		return err
	}
	if a.Output == "-" || a.Output == "" {
		err = generate(os.Stdout)
	} else {
		err = shards.Publish(nil, a.Output, generate)
	}
	return n, err
}

// ParamReport describes a preset's parameter count, computed from shapes
// (nothing is allocated, so radfm's 13B report is instant).
func ParamReport(preset, configFile string) (string, error) {
	cfg, err := LoadConfig(preset, configFile)
	if err != nil {
		return "", err
	}
	vocab := cfg.Vocab
	note := ""
	if vocab == 0 {
		vocab = cfg.TokenizerVocab
		note = " (vocab = tokenizer_vocab; a trained tokenizer may be smaller)"
	}
	b := ParamBreakdown(cfg, vocab)
	g := cfg.Grid()
	return fmt.Sprintf("preset %s: %d parameters%s\n  vit %d, perceiver %d, proj %d, lm %d\n  image %dx%dx%d, patch %v -> %d patches, %d latents, context %d, vocab %d, dtype %s",
		cfg.Name, ParamCount(cfg, vocab), note, b["vit"], b["perceiver"], b["proj"], b["lm"],
		cfg.ImageDepth, cfg.ImageHeight, cfg.ImageWidth, cfg.Patch, g[0]*g[1]*g[2],
		cfg.Latents, cfg.Context, vocab, cfg.DType), nil
}

// PlanReport is `medmd train --plan`: the memory plan of the preset (and
// config file) at the batch given (0: the config's), against the device
// memory given in GiB (0: unknown). fits is false when it does not fit.
func PlanReport(a TrainArgs) (report string, fits bool, err error) {
	cfg, err := LoadConfig(a.Preset, a.ConfigFile)
	if err != nil {
		return "", false, err
	}
	if a.Batch > 0 {
		cfg.Batch = a.Batch
	}
	vocab := cfg.Vocab
	if vocab == 0 {
		vocab = cfg.TokenizerVocab
	}
	p := PlanMemory(cfg, vocab, int64(a.DeviceMemoryGiB*(1<<30)))
	return p.String(), p.Fits(), nil
}
