// Package train is medmd's trainer: a RadFM-style model written with GoMLX
// (v0.26.0) — a 3D ViT over (depth, height, width) patches, a Perceiver
// resampler that turns every image into a fixed number of latents, and a
// causal decoder LM into whose token stream each image is spliced as
// <image> + latents + </image> — plus the term-weighted loss, the training
// loop (AdamW, warmup + cosine, clipping, accumulation, bf16 compute with
// float32 master weights), checkpoints with exact resume, and generation.
//
// The same code runs on the pure-Go backend (tests, CI, the tiny preset:
// GOMLX_BACKEND=go:parallelism=-1, the default here) and on XLA (GPU runs:
// GOMLX_BACKEND=xla:<PJRT plugin>, see gpu/README.md).
//
// # Presets (presets.yaml; `medmd train --preset P --params`)
//
//	tiny   70,112 params with a 320-token vocab   CPU tests, ~0.3 s CPU per step
//	small  246,465,792 params                     exactly gpu/torch_small.py's parameters (golden)
//	radfm  13,141,131,008 params                  ViT 768×12, Perceiver 6/32, LM 5120×40 (LLaMA-13B-like)
//
// Counts come from ParamSpecs, written independently of the graph code;
// tests build the tiny and small graphs (no allocation) and check the
// variables they create match the specs exactly, and that small equals the
// PyTorch twin module by module.
//
// # Layout of a training output folder
//
//	tokenizer.json     Hugging Face format (trained byte-level BPE, or the --tokenizer given)
//	config.json        the resolved config
//	ckpt-NNNNNNNN/     state.json (step, loader state, config, variable index) + vars.bin
//	latest             the name of the newest complete checkpoint
//	metrics.jsonl      one line per step: loss, val_loss, lr, grad_norm, tokens, step_s, tokens_per_s
//	loss.png           training loss (blue) and validation loss (red)
//
// # Loss
//
// Per-token cross-entropy weighted and normalised by the sum of weights:
// term_weight (3) for response tokens overlapping a RadBench medical term
// (normalize/radiology_terms.txt, matched with RadBench's own tokenisation),
// response_weight (1) for other response tokens and the closing </s>, 0 for
// <s>, instruction, image and padding positions. RadFM's released code
// computes such weights but returns the unweighted loss; here the weighted
// sum is what is differentiated (TestWeightedLossGradient checks the
// gradient analytically). Gradient accumulation adds Σ w·CE gradients and
// Σ w across micro-batches and divides once, so it equals one big batch.
//
// # Data
//
// Training batches come straight from the shards.Loader over a model-ready
// corpus (the model_input ingest stage): each batch's voxel bytes — a view
// of the memory-mapped shard, or the loader's one gather copy — become one
// device tensor [B, N, C, D, H, W] of the stored dtype; the graph converts
// to float, scales to 0…1, broadcasts grey to the model's channels and 2D
// to one patch depth. Token tensors are built in the loader's prefetch
// goroutines. Before a shard is opened, the model input the manifest
// records (the geometry its pipeline's model_input stage made) is checked
// against the config; a manifest without that record is checked on the
// image shapes the loader indexes from the shards' metadata. The loader's
// state is saved in each checkpoint, which is what makes resume exact. One graph is compiled per batch shape; the
// learned 3D position table covers the largest patch grid of the
// geometry and each shape uses its corner. In-memory samples (a Source:
// validation, generation, tests) are resampled on the host instead, with
// a seeded permutation batcher.
package train
