package train

import (
	"fmt"
	"math"
	"os"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// DefaultCPUBackend is the backend used when $GOMLX_BACKEND is unset: the
// pure-Go backend with parallelism=-1 (plain "go" deadlocks on 2 cores).
const DefaultCPUBackend = "go:parallelism=-1"

// NewBackend returns the backend named by $GOMLX_BACKEND, else
// DefaultCPUBackend. GPU runs set GOMLX_BACKEND=xla:<plugin> (gpu/env.sh).
func NewBackend() (b backends.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gomlx backend %q: %v", os.Getenv(backends.ConfigEnvVar), r)
		}
	}()
	// GoMLX's pure-Go backend prints its parallelism setting with
	// fmt.Printf; stdout carries results (`medmd generate | medmd radbench
	// score -`), so the line goes to stderr. Writers already handed out
	// keep the real stdout.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	defer func() { os.Stdout = stdout }()
	if _, ok := os.LookupEnv(backends.ConfigEnvVar); ok {
		return backends.New()
	}
	return backends.NewWithConfig(DefaultCPUBackend)
}

// Optimizer constants (AdamW).
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.95
	adamEps   = 1e-8
)

// stepper holds the compiled graphs of one model in one context.
//
// Training is split so gradient accumulation is exact: each micro-batch's
// gradient of Σ w·CE (not of the mean) is added into accumulators with Σ w,
// and the apply step divides by the total Σ w once — the same loss as one
// big batch, whatever the split. With Accum == 1 one fused graph does both.
type stepper struct {
	m       *model
	ctx     *context.Context
	backend backends.Backend
	params  []*context.Variable // trainable model variables, in ParamSpecs order
	micro   *context.Exec       // accumulate grads (Accum > 1)
	apply   *context.Exec       // (accumulate +) clip + AdamW
	eval    *context.Exec       // Σ w·CE, Σ w
}

// Batch inputs. Images is nil for a text-only batch or a config without
// images; otherwise [B, N, C, D, H, W] in the stored dtype (a device
// tensor uploaded from the loader's bytes) or float32 (in-memory samples).
type batchTensors struct {
	Images  *tensors.Tensor // [B, N, C, D, H, W]
	Tokens  *tensors.Tensor // [B, T] int32
	ImgPos  *tensors.Tensor // [B, T] int32, 1-based latent index, 0 = text
	Targets *tensors.Tensor // [B, T] int32
	Weights *tensors.Tensor // [B, T] float32
}

func (bt *batchTensors) inputs() []any {
	if bt.Images == nil {
		return []any{bt.Tokens, bt.ImgPos, bt.Targets, bt.Weights}
	}
	return []any{bt.Images, bt.Tokens, bt.ImgPos, bt.Targets, bt.Weights}
}

func newStepper(backend backends.Backend, ctx *context.Context, m *model) (*stepper, error) {
	s := &stepper{m: m, ctx: ctx, backend: backend}
	for _, p := range ParamSpecs(m.cfg, m.vocab) {
		v := ctx.InAbsPath(p.Scope).GetVariable(p.Name)
		if v == nil {
			return nil, fmt.Errorf("variable %s/%s missing from context", p.Scope, p.Name)
		}
		if p.Frozen {
			continue // read by the graph, never updated: no gradient, no optimizer state
		}
		s.params = append(s.params, v)
	}
	// Optimizer and accumulator state, created on the host (zeros) unless
	// a checkpoint already loaded them.
	for _, v := range s.params {
		for _, slot := range s.slots() {
			sc := ctx.InAbsPath("/" + slot + v.Scope())
			if sc.GetVariable(v.Name()) == nil {
				sc.VariableWithValue(v.Name(), tensors.FromShape(v.Shape())).SetTrainable(false)
			}
		}
	}
	for _, name := range []string{"accum_wsum", "accum_loss"} {
		if m.cfg.Accum > 1 && ctx.InAbsPath("/accum").GetVariable(name) == nil {
			ctx.InAbsPath("/accum").VariableWithValue(name, float32(0)).SetTrainable(false)
		}
	}
	var err error
	// A batch is (images,) tokens, imgPos, targets, weights: text-only
	// batches leave the images out and get a graph without the vision
	// tower (Exec compiles one graph per distinct input shapes).
	split := func(in []*Node) (images *Node, rest []*Node) {
		if len(in) == 5 {
			return in[0], in[1:]
		}
		return nil, in
	}
	lossOf := func(ctx *context.Context, in []*Node) (sum, wsum *Node) {
		images, r := split(in)
		h := m.hidden(ctx, images, r[0], r[1])
		return weightedLoss(m.logits(ctx, h), r[2], r[3])
	}
	if m.cfg.Accum > 1 {
		s.micro, err = context.NewExec(backend, ctx, func(ctx *context.Context, in []*Node) []*Node {
			sum, wsum := lossOf(ctx, in)
			grads := s.gradients(sum)
			for i, v := range s.params {
				acc := s.slotVar("accum", v)
				acc.SetValueGraph(Add(acc.ValueGraph(sum.Graph()), grads[i]))
			}
			aw := ctx.InAbsPath("/accum").GetVariable("accum_wsum")
			aw.SetValueGraph(Add(aw.ValueGraph(sum.Graph()), wsum))
			al := ctx.InAbsPath("/accum").GetVariable("accum_loss")
			al.SetValueGraph(Add(al.ValueGraph(sum.Graph()), sum))
			return []*Node{sum, wsum}
		})
		if err != nil {
			return nil, err
		}
	}
	// apply inputs: batch..., lr, step (both float32 scalars).
	s.apply, err = context.NewExec(backend, ctx, func(ctx *context.Context, in []*Node) []*Node {
		n := len(in)
		lr, step := in[n-2], in[n-1]
		sum, wsum := lossOf(ctx, in[:n-2])
		g := sum.Graph()
		grads := s.gradients(sum)
		totalW, totalL := wsum, sum
		if m.cfg.Accum > 1 {
			aw := ctx.InAbsPath("/accum").GetVariable("accum_wsum")
			al := ctx.InAbsPath("/accum").GetVariable("accum_loss")
			totalW = Add(totalW, aw.ValueGraph(g))
			totalL = Add(totalL, al.ValueGraph(g))
			aw.SetValueGraph(ScalarZero(g, dtypes.Float32))
			al.SetValueGraph(ScalarZero(g, dtypes.Float32))
			for i, v := range s.params {
				acc := s.slotVar("accum", v)
				grads[i] = Add(grads[i], acc.ValueGraph(g))
				acc.SetValueGraph(ZerosLike(grads[i]))
			}
		}
		inv := Inverse(Max(totalW, ScalarOne(g, dtypes.Float32)))
		var sq *Node
		for i := range grads {
			grads[i] = Mul(grads[i], inv)
			n2 := ReduceAllSum(Square(grads[i]))
			if sq == nil {
				sq = n2
			} else {
				sq = Add(sq, n2)
			}
		}
		norm := Sqrt(sq)
		scale := ScalarOne(g, dtypes.Float32)
		if m.cfg.ClipNorm > 0 {
			scale = Min(scale, Div(Scalar(g, dtypes.Float32, m.cfg.ClipNorm), AddScalar(norm, 1e-6)))
		}
		bc1 := OneMinus(Pow(Scalar(g, dtypes.Float32, adamBeta1), step))
		bc2 := OneMinus(Pow(Scalar(g, dtypes.Float32, adamBeta2), step))
		for i, v := range s.params {
			gr := Mul(grads[i], scale)
			mv, vv := s.slotVar("adam_m", v), s.slotVar("adam_v", v)
			m1 := Add(MulScalar(mv.ValueGraph(g), adamBeta1), MulScalar(gr, 1-adamBeta1))
			v1 := Add(MulScalar(vv.ValueGraph(g), adamBeta2), MulScalar(Square(gr), 1-adamBeta2))
			mv.SetValueGraph(m1)
			vv.SetValueGraph(v1)
			upd := Div(Div(m1, bc1), AddScalar(Sqrt(Div(v1, bc2)), adamEps))
			w := v.ValueGraph(g)
			if m.cfg.WeightDecay > 0 && len(v.Shape().Dimensions) >= 2 {
				// Decoupled weight decay on matrices only (not gains, biases).
				upd = Add(upd, MulScalar(w, m.cfg.WeightDecay))
			}
			v.SetValueGraph(Sub(w, Mul(lr, upd)))
		}
		return []*Node{totalL, totalW, norm}
	})
	if err != nil {
		return nil, err
	}
	s.eval, err = context.NewExec(backend, ctx, func(ctx *context.Context, in []*Node) []*Node {
		sum, wsum := lossOf(ctx, in)
		return []*Node{sum, wsum}
	})
	if err != nil {
		return nil, err
	}
	return s, err
}

// slots are the per-parameter state tensors kept in the context.
func (s *stepper) slots() []string {
	if s.m.cfg.Accum > 1 {
		return []string{"adam_m", "adam_v", "accum"}
	}
	return []string{"adam_m", "adam_v"}
}

func (s *stepper) slotVar(slot string, v *context.Variable) *context.Variable {
	return s.ctx.InAbsPath("/" + slot + v.Scope()).GetVariable(v.Name())
}

func (s *stepper) gradients(loss *Node) []*Node {
	g := loss.Graph()
	nodes := make([]*Node, len(s.params))
	for i, v := range s.params {
		nodes[i] = v.ValueGraph(g)
	}
	return Gradient(loss, nodes...)
}

// scalar reads a float32 scalar tensor.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// trainStep runs one optimizer step over the given micro-batches (len ==
// Accum) and returns the mean weighted loss, Σ w and the gradient norm.
func (s *stepper) trainStep(micro []*batchTensors, lr float64, step int) (loss, wsum, gnorm float64, err error) {
	for _, b := range micro[:len(micro)-1] {
		if _, err = s.micro.Exec(b.inputs()...); err != nil {
			return
		}
	}
	last := micro[len(micro)-1]
	args := append(last.inputs(), float32(lr), float32(step))
	out, err := s.apply.Exec(args...)
	if err != nil {
		return
	}
	sum, w := scalar(out[0]), scalar(out[1])
	gnorm = scalar(out[2])
	if w > 0 {
		loss = sum / w
	}
	return loss, w, gnorm, nil
}

// evalLoss returns Σ w·CE and Σ w for one batch.
func (s *stepper) evalLoss(b *batchTensors) (sum, wsum float64, err error) {
	out, err := s.eval.Exec(b.inputs()...)
	if err != nil {
		return 0, 0, err
	}
	return scalar(out[0]), scalar(out[1]), nil
}

// newContext returns a context for cfg with fresh deterministic weights.
func newContext(cfg Config, vocab int) *context.Context {
	ctx := context.New().Checked(false).WithInitializer(noInit)
	initParams(ctx, cfg, vocab, cfg.Seed)
	return ctx
}
