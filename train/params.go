package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
)

// ParamSpec is one trainable tensor of the model: its context scope, name,
// shape and initialisation. ParamSpecs is written independently of the graph
// code (model.go) from the same Config, so the analytic count can be checked
// against the variables the graph actually creates, and the count of a
// model too large to allocate (radfm) can be reported without building it.
type ParamSpec struct {
	Scope, Name string
	Dims        []int
	Init        string // normal | zeros | ones
	// Frozen tensors are read by the graph but not trained (lm.freeze).
	Frozen bool
}

// Size is the number of elements.
func (p ParamSpec) Size() int64 {
	n := int64(1)
	for _, d := range p.Dims {
		n *= int64(d)
	}
	return n
}

// ParamSpecs lists every trainable tensor for cfg with a vocabulary of vocab.
func ParamSpecs(cfg Config, vocab int) []ParamSpec {
	var out []ParamSpec
	add := func(scope, name, init string, dims ...int) {
		out = append(out, ParamSpec{Scope: scope, Name: name, Dims: dims, Init: init})
	}
	dense := func(scope string, in, o int, bias bool) {
		add(scope, "w", "normal", in, o)
		if bias {
			add(scope, "b", "zeros", o)
		}
	}
	norm := func(scope, kind string, d int) {
		add(scope, "g", "ones", d)
		if kind != "rmsnorm" {
			add(scope, "b", "zeros", d)
		}
	}
	block := func(scope string, d, hidden int, normKind, mlp string, bias bool) {
		norm(scope+"/norm1", normKind, d)
		for _, p := range []string{"q", "k", "v", "o"} {
			dense(scope+"/attn/"+p, d, d, bias)
		}
		norm(scope+"/norm2", normKind, d)
		if mlp == "swiglu" {
			dense(scope+"/mlp/w1", d, hidden, bias)
			dense(scope+"/mlp/w3", d, hidden, bias)
		} else {
			dense(scope+"/mlp/w1", d, hidden, bias)
		}
		dense(scope+"/mlp/w2", hidden, d, bias)
	}
	if cfg.MaxImages > 0 {
		psz := cfg.Channels * cfg.Patch[0] * cfg.Patch[1] * cfg.Patch[2]
		norm("/vit/patch_norm1", "layernorm", psz)
		dense("/vit/patch", psz, cfg.VisDim, true)
		norm("/vit/patch_norm2", "layernorm", cfg.VisDim)
		gr := cfg.Grid()
		add("/vit", "pos", "normal", gr[0], gr[1], gr[2], cfg.VisDim)
		for i := 0; i < cfg.VisLayers; i++ {
			block(fmt.Sprintf("/vit/block_%d", i), cfg.VisDim, cfg.VisMLP, "layernorm", "gelu", true)
		}
		add("/perceiver", "latents", "normal", cfg.Latents, cfg.VisDim)
		for i := 0; i < cfg.PercLayers; i++ {
			block(fmt.Sprintf("/perceiver/block_%d", i), cfg.VisDim, 4*cfg.VisDim, "layernorm", "gelu", true)
		}
		if cfg.VisDim != cfg.LMDim {
			dense("/proj", cfg.VisDim, cfg.LMDim, true)
		}
	}
	if cfg.pretrained() {
		// Hugging Face's names and layout under /lm, so lm.from's tensors
		// load one to one and train/hf's blocks read them; the rows of
		// tokens the checkpoint lacks are their own variables.
		for _, s := range cfg.hfConfig().Specs() {
			init := "normal"
			if len(s.Shape) == 1 {
				init = "ones" // RMSNorm gains
			}
			out = append(out, ParamSpec{Scope: "/lm", Name: s.Name, Dims: s.Shape, Init: init, Frozen: cfg.LM.Freeze})
		}
		if extra := cfg.lmVocab(vocab) - cfg.Llama.Vocab; extra > 0 {
			add("/lm", "added_embed", "normal", extra, cfg.LMDim)
			if !cfg.Llama.Tied {
				add("/lm", "added_head", "normal", extra, cfg.LMDim)
			}
		}
		return out
	}
	add("/lm", "embed", "normal", vocab, cfg.LMDim)
	if cfg.Positions == "learned" {
		add("/lm", "pos", "normal", cfg.Context, cfg.LMDim)
	}
	for i := 0; i < cfg.LMLayers; i++ {
		block(fmt.Sprintf("/lm/block_%d", i), cfg.LMDim, cfg.LMMLP, cfg.Norm, cfg.MLP, cfg.Bias)
	}
	norm("/lm/norm", cfg.Norm, cfg.LMDim)
	dense("/lm/head", cfg.LMDim, vocab, false)
	return out
}

// ParamCount is the analytic number of trainable parameters.
func ParamCount(cfg Config, vocab int) int64 {
	var n int64
	for _, p := range ParamSpecs(cfg, vocab) {
		n += p.Size()
	}
	return n
}

// ParamBreakdown counts parameters per top-level part (vit, perceiver,
// proj, lm).
func ParamBreakdown(cfg Config, vocab int) map[string]int64 {
	out := map[string]int64{}
	for _, p := range ParamSpecs(cfg, vocab) {
		part := p.Scope[1:]
		for i, r := range part {
			if r == '/' {
				part = part[:i]
				break
			}
		}
		out[part] += p.Size()
	}
	return out
}

// noInit is the context's default initializer: every model variable must be
// created from ParamSpecs (initParams) or loaded from a checkpoint first, so
// a graph asking for anything else is a bug worth a loud failure.
func noInit(g *graph.Graph, shape shapes.Shape) *graph.Node {
	panic(fmt.Sprintf("train: variable of shape %s has no ParamSpec (model.go and params.go disagree)", shape))
}

// initParams creates every model variable in ctx with a deterministic
// host-side initialisation from seed (normal σ=0.02, zeros, ones), so two
// runs with the same seed start from identical weights on any backend.
func initParams(ctx *context.Context, cfg Config, vocab int, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6d65646d64))
	for _, p := range ParamSpecs(cfg, vocab) {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, p.Dims...))
		tensors.MustMutableFlatData[float32](t, func(flat []float32) {
			switch p.Init {
			case "ones":
				for i := range flat {
					flat[i] = 1
				}
			case "normal":
				for i := range flat {
					flat[i] = float32(0.02 * clampNorm(rng.NormFloat64()))
				}
			}
		})
		ctx.InAbsPath(p.Scope).VariableWithValue(p.Name, t)
	}
}

// clampNorm truncates a normal sample at 2σ, as truncated-normal inits do.
func clampNorm(x float64) float64 { return math.Max(-2, math.Min(2, x)) }

// loadPretrainedLM overwrites the decoder's variables in ctx (made by
// initParams) with lm.from's tensors, every one checked against its
// config.json before any is read.
func loadPretrainedLM(ctx *context.Context, cfg Config) error {
	if !cfg.pretrained() {
		return nil
	}
	lctx := ctx.InAbsPath("/lm")
	var err error
	rerr := hf.ReadWeights(cfg.LM.From, cfg.hfConfig(), func(name string, t *tensors.Tensor) {
		v := lctx.GetVariable(name)
		if v == nil {
			err = fmt.Errorf("lm.from %s: tensor %q has no variable", cfg.LM.From, name)
			return
		}
		if e := v.SetValue(t); e != nil && err == nil {
			err = fmt.Errorf("lm.from %s: tensor %q: %w", cfg.LM.From, name, e)
		}
	})
	if rerr != nil {
		return fmt.Errorf("lm.from: %w", rerr)
	}
	return err
}
