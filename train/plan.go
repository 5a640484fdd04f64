package train

import (
	"fmt"
	"strings"
)

// MemoryPlan is the per-device memory a run of a config needs, estimated
// from shapes before anything is allocated or compiled.
type MemoryPlan struct {
	Config Config
	Vocab  int
	Params int64
	// Bytes per part: float32 master weights, their gradients, AdamW's two
	// moments (+ the accumulator with accum > 1), the bf16 weight casts,
	// and the activations kept for the backward pass of one micro-batch.
	Weights, Grads, Optimizer, Casts, Activations int64
	// Device is the device memory to compare with (0: unknown).
	Device int64
}

// Total is the sum of the parts.
func (p MemoryPlan) Total() int64 {
	return p.Weights + p.Grads + p.Optimizer + p.Casts + p.Activations
}

// Fits reports whether the plan fits the device (true when unknown).
func (p MemoryPlan) Fits() bool { return p.Device == 0 || p.Total() <= p.Device }

// PlanMemory estimates cfg's memory per device at its batch size. The
// activation estimate counts, per transformer block, the tensors autodiff
// keeps (inputs of the norms, q/k/v, attention probabilities in float32,
// the MLP's hidden twice) for the largest input the geometry allows: one
// 3D volume of ImageDepth slices (or a 2D image, whichever has more
// patches) per image slot, the full context, and the float32 logits.
func PlanMemory(cfg Config, vocab int, device int64) MemoryPlan {
	n := ParamCount(cfg, vocab)
	e := int64(4)
	casts := int64(0)
	if cfg.DType == "bfloat16" {
		e, casts = 2, 2*n
	}
	opt := 8 * n
	if cfg.Accum > 1 {
		opt += 4 * n
	}
	B := int64(cfg.Batch)
	block := func(tokens, seq, d, hidden, heads int64) int64 {
		return tokens*(8*d+2*hidden)*e + tokens/seq*heads*seq*seq*(4+e)
	}
	var act int64
	if cfg.MaxImages > 0 {
		pd, ph, pw := cfg.Patch[0], cfg.Patch[1], cfg.Patch[2]
		p3 := int64(cfg.ImageDepth/pd) * int64(cfg.VolumeHeight/ph) * int64(cfg.VolumeWidth/pw)
		p2 := int64(cfg.ImageHeight/ph) * int64(cfg.ImageWidth/pw)
		P := max(p2, p3)
		imgs := B * int64(cfg.MaxImages)
		psz := int64(cfg.Channels * pd * ph * pw)
		act += imgs * P * (2*psz*4 + 3*int64(cfg.VisDim)*e) // patch vectors, norms, embedding
		act += int64(cfg.VisLayers) * block(imgs*P, P, int64(cfg.VisDim), int64(cfg.VisMLP), int64(cfg.VisHeads))
		L := int64(cfg.Latents)
		act += int64(cfg.PercLayers) * (block(imgs*L, L, int64(cfg.VisDim), 4*int64(cfg.VisDim), int64(cfg.VisHeads)) +
			imgs*(P+L)*int64(cfg.VisDim)*e*3 + imgs*int64(cfg.VisHeads)*L*(P+L)*(4+e))
	}
	T := int64(cfg.Context)
	act += int64(cfg.LMLayers) * block(B*T, T, int64(cfg.LMDim), int64(cfg.LMMLP), int64(cfg.LMHeads))
	act += 2 * B * T * int64(vocab) * 4 // logits and their gradient, float32
	return MemoryPlan{Config: cfg, Vocab: vocab, Params: n, Weights: 4 * n, Grads: 4 * n, Optimizer: opt, Casts: casts, Activations: act, Device: device}
}

// String prints the plan as a table, ending with whether it fits.
func (p MemoryPlan) String() string {
	var b strings.Builder
	c := p.Config
	fmt.Fprintf(&b, "memory plan: preset %s, batch %d, accum %d, dtype %s, %d parameters\n", c.Name, c.Batch, c.Accum, c.DType, p.Params)
	row := func(name string, v int64, note string) {
		fmt.Fprintf(&b, "  %-12s %10s  %s\n", name, gib(v), note)
	}
	row("weights", p.Weights, "float32 master weights")
	row("gradients", p.Grads, "float32")
	row("optimizer", p.Optimizer, "AdamW m, v (+ accumulator when accum > 1), float32")
	if p.Casts > 0 {
		row("bf16 casts", p.Casts, "compute copies of the weights")
	}
	row("activations", p.Activations, "estimate for one micro-batch at the largest image geometry and full context")
	row("total", p.Total(), "per device")
	switch {
	case p.Device == 0:
		fmt.Fprintf(&b, "  device memory not reported by the backend: pass --device-memory GiB to check the fit")
	case p.Fits():
		fmt.Fprintf(&b, "  fits: %s of %s device memory", gib(p.Total()), gib(p.Device))
	default:
		fmt.Fprintf(&b, "  does not fit: %s needed, %s device memory; lower batch (accum keeps the effective batch) or use a larger device", gib(p.Total()), gib(p.Device))
	}
	if c.Name == "radfm" {
		fmt.Fprintf(&b, "\n  radfm needs about %s per device without sharding: more than any single GPU (80 GiB H100, 141 GiB H200); it needs weights and optimizer state sharded over several GPUs, which this trainer does not do", gib(p.Total()))
	}
	return b.String()
}

func gib(v int64) string { return fmt.Sprintf("%.2f GiB", float64(v)/(1<<30)) }
