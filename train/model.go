package train

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
)

// The model, as one graph:
//
//	images [B, N, C, D, H, W] as stored (uint8…) --(to float, scale to 0…1,
//	  grey → C channels, 2D depth 1 → patch depth; on the device)--> patches
//	  --reshape/transpose--> [B·N, P, C·pd·ph·pw] --LN, dense, LN, +pos--> ViT blocks
//	  --> Perceiver (Latents learned queries) --> [N, L, vis] --(dense if widths differ)--> [N, L, lm]
//	tokens [B, T] --embed--> [B, T, lm]; positions whose imgPos > 0 take the
//	  latent imgPos-1 of the flattened [N*L, lm] table instead
//	  --> causal decoder --> norm --> head --> logits.
//
// With lm.from the decoder is train/hf's LLaMA block (one implementation
// for generation with a KV cache and for training here) over tensors kept
// under their Hugging Face names and layout in /lm; the rows of tokens the
// checkpoint lacks (<image>, </image>…) are appended from added_embed
// (and added_head for an untied head).
//
// Patch embedding is reshape/transpose + dense rather than a convolution:
// the pure-Go backend has no convolution gradient, and the two are the same
// linear map when stride equals the patch size.
//
// Every variable is float32 (the master weights); with a bfloat16 compute
// dtype each weight is cast at its use, so gradients flow back to float32.

// model builds graphs for one Config and vocabulary size.
type model struct {
	cfg   Config
	vocab int
	cdt   dtypes.DType // compute dtype
}

func newModel(cfg Config, vocab int) *model {
	m := &model{cfg: cfg, vocab: vocab, cdt: dtypes.Float32}
	if cfg.DType == "bfloat16" {
		m.cdt = dtypes.BFloat16
	}
	return m
}

// weight returns variable name in ctx's scope (shape dims, float32), cast to
// the compute dtype.
func (m *model) weight(ctx *context.Context, g *Graph, name string, dims ...int) *Node {
	v := ctx.VariableWithShape(name, shapes.Make(dtypes.Float32, dims...))
	x := v.ValueGraph(g)
	if m.cdt != dtypes.Float32 {
		x = ConvertDType(x, m.cdt)
	}
	return x
}

// dense applies x·w (+b) on the last axis of x.
func (m *model) dense(ctx *context.Context, x *Node, in, out int, bias bool) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	flat := Reshape(x, -1, in)
	y := Dot(flat, m.weight(ctx, g, "w", in, out))
	if bias {
		y = Add(y, bcast(m.weight(ctx, g, "b", out), y.Shape().Dimensions))
	}
	nd := append(append([]int{}, dims[:len(dims)-1]...), out)
	return Reshape(y, nd...)
}

// norm normalises over the last axis in float32: layernorm (gain, bias) or
// rmsnorm (gain only).
func (m *model) norm(ctx *context.Context, x *Node, kind string) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	d := dims[len(dims)-1]
	dt := x.DType()
	xf := ConvertDType(x, dtypes.Float32)
	last := len(dims) - 1
	var y *Node
	if kind == "rmsnorm" {
		ms := ReduceAndKeep(Square(xf), ReduceMean, last)
		y = Div(xf, Sqrt(AddScalar(ms, 1e-6)))
	} else {
		mean := ReduceAndKeep(xf, ReduceMean, last)
		c := Sub(xf, mean)
		vr := ReduceAndKeep(Square(c), ReduceMean, last)
		y = Div(c, Sqrt(AddScalar(vr, 1e-5)))
	}
	gain := ctx.VariableWithShape("g", shapes.Make(dtypes.Float32, d)).ValueGraph(g)
	y = Mul(y, bcast(gain, dims))
	if kind != "rmsnorm" {
		b := ctx.VariableWithShape("b", shapes.Make(dtypes.Float32, d)).ValueGraph(g)
		y = Add(y, bcast(b, dims))
	}
	return ConvertDType(y, dt)
}

func gelu(x *Node) *Node {
	// tanh approximation: cheap and differentiable on every backend.
	c := math.Sqrt(2 / math.Pi)
	inner := MulScalar(Add(x, MulScalar(Mul(Square(x), x), 0.044715)), c)
	return Mul(MulScalar(x, 0.5), AddScalar(Tanh(inner), 1))
}

// lmStep is the LM's attention in a cached decoding step: row b's tokens
// sit at positions start[b]… (int32 [B]), and attend writes the step's
// keys and values of layer into the KV cache and returns those attended.
type lmStep struct {
	start  *Node
	attend hf.Attend
	layer  int
}

// attention is multi-head attention of q-input x over kv-input (x itself
// when kv is nil). rope and causal apply to the LM only; st != nil runs
// it as one cached decoding step (causal within the cache).
func (m *model) attention(ctx *context.Context, x, kv *Node, d, heads int, bias, causal, rope bool, st *lmStep) *Node {
	if kv == nil {
		kv = x
	}
	dims := x.Shape().Dimensions
	b, tq := dims[0], dims[1]
	tk := kv.Shape().Dimensions[1]
	dh := d / heads
	q := Reshape(m.dense(ctx.In("q"), x, d, d, bias), b, tq, heads, dh)
	k := Reshape(m.dense(ctx.In("k"), kv, d, d, bias), b, tk, heads, dh)
	v := Reshape(m.dense(ctx.In("v"), kv, d, d, bias), b, tk, heads, dh)
	if st != nil {
		return m.dense(ctx.In("o"), m.cachedAttention(q, k, v, st, rope), d, d, bias)
	}
	if rope {
		q, k = applyRoPE(q), applyRoPE(k)
	}
	scores := Einsum("bqhd,bkhd->bhqk", q, k)
	scores = ConvertDType(MulScalar(scores, 1/math.Sqrt(float64(dh))), dtypes.Float32)
	if causal {
		g := x.Graph()
		qi := Iota(g, shapes.Make(dtypes.Int32, tq, tk), 0)
		ki := Iota(g, shapes.Make(dtypes.Int32, tq, tk), 1)
		mask := bcast(GreaterOrEqual(qi, ki), []int{b, heads, tq, tk})
		scores = Where(mask, scores, bcast(Scalar(g, dtypes.Float32, -1e9), []int{b, heads, tq, tk}))
	}
	p := ConvertDType(Softmax(scores, -1), q.DType())
	out := Einsum("bhqk,bkhd->bqhd", p, v)
	out = Reshape(out, b, tq, d)
	return m.dense(ctx.In("o"), out, d, d, bias)
}

// cachedAttention is attention's core in a cached step: q, k, v [B, S,
// H, dh] of this step's tokens against the cache; returns [B, S, H·dh].
// Scores, mask value and softmax are attention's own, so cached and
// uncached decoding agree.
func (m *model) cachedAttention(q, k, v *Node, st *lmStep, rope bool) *Node {
	g := q.Graph()
	dims := q.Shape().Dimensions
	b, tq, heads, dh := dims[0], dims[1], dims[2], dims[3]
	if rope {
		q, k = ropeAt(q, st.start, m.cfg.Context), ropeAt(k, st.start, m.cfg.Context)
	}
	lk, lv, mask := st.attend(st.layer, k, v) // [B, H, T, dh], mask [B, S, T]
	tk := lk.Shape().Dimensions[2]
	scores := Einsum("bqhd,bhkd->bhqk", q, lk)
	scores = ConvertDType(MulScalar(scores, 1/math.Sqrt(float64(dh))), dtypes.Float32)
	mask = BroadcastToDims(Reshape(mask, b, 1, tq, tk), b, heads, tq, tk)
	scores = Where(mask, scores, bcast(Scalar(g, dtypes.Float32, -1e9), []int{b, heads, tq, tk}))
	p := ConvertDType(Softmax(scores, -1), q.DType())
	return Reshape(Einsum("bhqk,bhkd->bqhd", p, lv), b, tq, heads*dh)
}

// ropeAt is applyRoPE at positions start[b]…start[b]+S-1 of row b (start
// int32 [B]), for x [B, S, H, dh]: the rows of applyRoPE's own tables for
// maxPos positions, gathered, so the rotation is bit for bit the same.
func ropeAt(x, start *Node, maxPos int) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, s, dh := dims[0], dims[1], dims[3]
	cf, sf, rot := ropeTables(maxPos, dh)
	pos := Reshape(stepPositions(start, s), b, s, 1)
	c := ConvertDType(Reshape(Gather(Reshape(Const(g, cf), maxPos, dh), pos), b, s, 1, dh), x.DType())
	sn := ConvertDType(Reshape(Gather(Reshape(Const(g, sf), maxPos, dh), pos), b, s, 1, dh), x.DType())
	c, sn = BroadcastToDims(c, dims...), BroadcastToDims(sn, dims...)
	r := ConvertDType(Reshape(Const(g, rot), dh, dh), x.DType())
	xr := Reshape(Dot(Reshape(x, -1, dh), r), dims...)
	return Add(Mul(x, c), Mul(xr, sn))
}

// stepPositions is start[b]+s for row b's s-th token: int32 [B, S].
func stepPositions(start *Node, s int) *Node {
	b := start.Shape().Dimensions[0]
	return Add(Iota(start.Graph(), shapes.Make(dtypes.Int32, b, s), 1), BroadcastToDims(Reshape(start, b, 1), b, s))
}

// applyRoPE rotates x [B, T, H, dh] by position (rotate-half convention).
func applyRoPE(x *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	t, dh := dims[1], dims[3]
	cf, sf, rot := ropeTables(t, dh)
	c := ConvertDType(Reshape(Const(g, cf), 1, t, 1, dh), x.DType())
	s := ConvertDType(Reshape(Const(g, sf), 1, t, 1, dh), x.DType())
	c, s = BroadcastToDims(c, dims...), BroadcastToDims(s, dims...)
	r := ConvertDType(Reshape(Const(g, rot), dh, dh), x.DType())
	xr := Reshape(Dot(Reshape(x, -1, dh), r), dims...)
	return Add(Mul(x, c), Mul(xr, s))
}

// ropeTables are RoPE's full-width cos and sin [t, dh] for positions
// 0…t-1 and the rotate-half matrix [dh, dh].
func ropeTables(t, dh int) (cf, sf, rot []float32) {
	half := dh / 2
	cosv := make([]float32, t*half)
	sinv := make([]float32, t*half)
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			f := float64(p) / math.Pow(10000, float64(2*i)/float64(dh))
			cosv[p*half+i] = float32(math.Cos(f))
			sinv[p*half+i] = float32(math.Sin(f))
		}
	}
	// Full-width cos/sin ([c, c] and [s, s]) and rotate-half as a constant
	// signed permutation matmul: rot(x) = [-x2, x1]. (Slicing x in halves
	// would need Pad for its gradient, which the pure-Go backend lacks.)
	cf = make([]float32, t*dh)
	sf = make([]float32, t*dh)
	for p := 0; p < t; p++ {
		for i := 0; i < half; i++ {
			cf[p*dh+i], cf[p*dh+half+i] = cosv[p*half+i], cosv[p*half+i]
			sf[p*dh+i], sf[p*dh+half+i] = sinv[p*half+i], sinv[p*half+i]
		}
	}
	rot = make([]float32, dh*dh) // x·rot: out[i] = -x[i+half] (i < half), out[i] = x[i-half]
	for i := 0; i < half; i++ {
		rot[(i+half)*dh+i] = -1
		rot[i*dh+i+half] = 1
	}
	return cf, sf, rot
}

// mlp is the feed-forward block: gelu (w1, w2) or swiglu (w1, w3, w2).
func (m *model) mlp(ctx *context.Context, x *Node, d, hidden int, kind string, bias bool) *Node {
	if kind == "swiglu" {
		a := m.dense(ctx.In("w1"), x, d, hidden, bias)
		u := m.dense(ctx.In("w3"), x, d, hidden, bias)
		return m.dense(ctx.In("w2"), Mul(Mul(a, Sigmoid(a)), u), hidden, d, bias)
	}
	return m.dense(ctx.In("w2"), gelu(m.dense(ctx.In("w1"), x, d, hidden, bias)), hidden, d, bias)
}

// block is a pre-norm transformer block. With kv != nil it is a Perceiver
// block: the latents x attend to norm(concat(kv, x)).
func (m *model) block(ctx *context.Context, x, kv *Node, d, heads, hidden int, norm, mlpKind string, bias, causal, rope bool, st *lmStep) *Node {
	h := m.norm(ctx.In("norm1"), x, norm)
	var kvIn *Node
	if kv != nil {
		kvIn = m.norm(ctx.In("norm1"), Concatenate([]*Node{kv, x}, 1), norm)
	}
	x = Add(x, m.attention(ctx.In("attn"), h, kvIn, d, heads, bias, causal, rope, st))
	return Add(x, m.mlp(ctx.In("mlp"), m.norm(ctx.In("norm2"), x, norm), d, hidden, mlpKind, bias))
}

// scaleInput converts stored voxels [..] to float32 in the model's 0…1
// range, on the device: uint8 ÷ 255, uint16 ÷ 65535, floats as stored
// (the model_input stage wrote 0…1), other integers min–max per image
// (axis 0 of the [images, …] input).
func scaleInput(x *Node) *Node {
	dt := x.DType()
	f := ConvertDType(x, dtypes.Float32)
	switch dt {
	case dtypes.Uint8:
		return MulScalar(f, 1.0/255)
	case dtypes.Uint16:
		return MulScalar(f, 1.0/65535)
	case dtypes.Float16, dtypes.BFloat16, dtypes.Float32, dtypes.Float64:
		return f
	}
	axes := make([]int, f.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	lo := ReduceAndKeep(f, ReduceMin, axes...)
	hi := ReduceAndKeep(f, ReduceMax, axes...)
	rng := Max(Sub(hi, lo), ScalarOne(f.Graph(), dtypes.Float32))
	return Div(Sub(f, lo), rng)
}

// patches turns a batch's images [B, N, C, D, H, W] (stored dtype, as the
// loader serves them) into patch vectors [B·N, P, C·pd·ph·pw] in the
// compute dtype, P = (D'/pd)·(H/ph)·(W/pw). Everything here runs on the
// device: the dtype conversion and scaling, the broadcast of grey (C = 1)
// to the model's channels and of 2D (D = 1) to one patch depth. A patch
// vector is channel-major (c, pd, ph, pw), as in the PyTorch twin.
func (m *model) patches(images *Node) (x *Node, grid [3]int) {
	c := m.cfg
	dims := images.Shape().Dimensions
	if len(dims) != 6 {
		panic(fmt.Errorf("vision: images must be [B, N, C, D, H, W], got %s", images.Shape()))
	}
	n, ch, d, h, w := dims[0]*dims[1], dims[2], dims[3], dims[4], dims[5]
	pd, ph, pw := c.Patch[0], c.Patch[1], c.Patch[2]
	x = Reshape(scaleInput(Reshape(images, n, ch*d*h*w)), n, ch, d, h, w)
	x = ConvertDType(x, m.cdt)
	if ch == 1 && c.Channels > 1 {
		x = BroadcastToDims(x, n, c.Channels, d, h, w)
		ch = c.Channels
	}
	if d == 1 && pd > 1 {
		x = BroadcastToDims(x, n, ch, pd, h, w)
		d = pd
	}
	if ch != c.Channels || d%pd != 0 || h%ph != 0 || w%pw != 0 {
		panic(fmt.Errorf("vision: images %s do not fit channels %d, patch %v", images.Shape(), c.Channels, c.Patch))
	}
	gd, gh, gw := d/pd, h/ph, w/pw
	x = Reshape(x, n, ch, gd, pd, gh, ph, gw, pw)
	x = TransposeAllAxes(x, 0, 2, 4, 6, 1, 3, 5, 7)
	return Reshape(x, n, gd*gh*gw, ch*pd*ph*pw), [3]int{gd, gh, gw}
}

// vision maps images [B, N, C, D, H, W] (any stored dtype) to latents
// [B·N, Latents, LMDim] in the compute dtype.
func (m *model) vision(ctx *context.Context, images *Node) *Node {
	c := m.cfg
	g := images.Graph()
	x, gr := m.patches(images)
	n, np, psz := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	vctx := ctx.In("vit")
	x = m.norm(vctx.In("patch_norm1"), x, "layernorm")
	x = m.dense(vctx.In("patch"), x, psz, c.VisDim, true)
	x = m.norm(vctx.In("patch_norm2"), x, "layernorm")
	// Learned 3D positions sized for the largest grid of the geometry
	// (2D: 1×16×16, 3D up to 16×8×8 for small → 16×16×16), and each batch
	// shape takes the corner of its own grid. Gathering rows rather than
	// slicing: Gather's gradient exists on every backend, Slice's needs
	// Pad, which the pure-Go backend lacks.
	grid := c.Grid()
	if gr[0] > grid[0] || gr[1] > grid[1] || gr[2] > grid[2] {
		panic(fmt.Errorf("vision: patch grid %v exceeds the position table %v", gr, grid))
	}
	pos := m.weight(vctx, g, "pos", grid[0], grid[1], grid[2], c.VisDim)
	if gr != grid {
		pos = Gather(Reshape(pos, -1, c.VisDim), Reshape(Const(g, posIndex(gr, grid)), np, 1))
	}
	pos = BroadcastToDims(Reshape(pos, 1, np, c.VisDim), n, np, c.VisDim)
	x = Add(x, pos)
	for i := 0; i < c.VisLayers; i++ {
		x = m.block(vctx.Inf("block_%d", i), x, nil, c.VisDim, c.VisHeads, c.VisMLP, "layernorm", "gelu", true, false, false, nil)
	}
	pctx := ctx.In("perceiver")
	lat := m.weight(pctx, g, "latents", c.Latents, c.VisDim)
	l := BroadcastToDims(Reshape(lat, 1, c.Latents, c.VisDim), n, c.Latents, c.VisDim)
	for i := 0; i < c.PercLayers; i++ {
		l = m.block(pctx.Inf("block_%d", i), l, x, c.VisDim, c.VisHeads, 4*c.VisDim, "layernorm", "gelu", true, false, false, nil)
	}
	if c.VisDim != c.LMDim {
		l = m.dense(ctx.In("proj"), l, c.VisDim, c.LMDim, true)
	}
	return l
}

// posIndex lists the rows of a flattened position table of size grid
// that a patch grid gr uses: its corner, in (depth, row, column) order.
func posIndex(gr, grid [3]int) []int32 {
	idx := make([]int32, 0, gr[0]*gr[1]*gr[2])
	for z := 0; z < gr[0]; z++ {
		for y := 0; y < gr[1]; y++ {
			for x := 0; x < gr[2]; x++ {
				idx = append(idx, int32((z*grid[1]+y)*grid[2]+x))
			}
		}
	}
	return idx
}

// hidden runs the LM over tokens [B, T] with image latents spliced where
// imgPos [B, T] > 0 (1-based index into the flattened latents); returns
// the final-normed hidden states [B, T, LMDim].
func (m *model) hidden(ctx *context.Context, images, tokens, imgPos *Node) *Node {
	var lat *Node
	if images != nil {
		lat = m.vision(ctx, images)
	}
	return m.hiddenFromLatents(ctx, lat, tokens, imgPos)
}

// hiddenFromLatents is hidden with the image latents [N, Latents, LMDim]
// already computed (nil: no images); generation computes them once per
// batch instead of once per token.
func (m *model) hiddenFromLatents(ctx *context.Context, lat, tokens, imgPos *Node) *Node {
	c := m.cfg
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	b, t := dims[0], dims[1]
	lctx := ctx.In("lm")
	x := m.embed(lctx, lat, tokens, imgPos)
	if c.pretrained() {
		return c.hfConfig().Causal(m.llamaWeights(lctx, g), x)
	}
	if c.Positions == "learned" {
		pos := m.weight(lctx, g, "pos", c.Context, c.LMDim)
		if t != c.Context {
			idx := make([]int32, t)
			for i := range idx {
				idx[i] = int32(i)
			}
			pos = Gather(pos, Reshape(Const(g, idx), t, 1))
		}
		x = Add(x, BroadcastToDims(Reshape(pos, 1, t, c.LMDim), b, t, c.LMDim))
	}
	rope := c.Positions == "rope"
	for i := 0; i < c.LMLayers; i++ {
		x = m.block(lctx.Inf("block_%d", i), x, nil, c.LMDim, c.LMHeads, c.LMMLP, c.Norm, c.MLP, c.Bias, true, rope, nil)
	}
	return m.norm(lctx.In("norm"), x, c.Norm)
}

// lmCacheShape is the KV cache of batch rows of maxLen positions: [LM
// layers, batch, kv heads, maxLen, head width], keys and values each.
func (m *model) lmCacheShape(batch, maxLen int) []int {
	c := m.cfg
	if c.pretrained() {
		h := c.hfConfig()
		return []int{h.NumHiddenLayers, batch, h.NumKeyValueHeads, maxLen, h.HeadDim}
	}
	return []int{c.LMLayers, batch, c.LMHeads, maxLen, c.LMDim / c.LMHeads}
}

// lmCached runs the LM over tokens [B, S], row b at positions start[b]…
// (int32 [B]), image latents [N, Latents, LMDim] spliced where imgPos > 0
// (lat nil: none), against the KV cache kc, vc (lmCacheShape): returns the
// final-normed hidden states [B, S, LMDim] and the caches with these
// positions written. It is hiddenFromLatents one step at a time: the
// pretrained decoder runs train/hf's Block with hf.CacheAttend, the
// from-scratch one its own blocks with the same cache.
func (m *model) lmCached(ctx *context.Context, lat, tokens, imgPos, start, kc, vc *Node) (h, kOut, vOut *Node) {
	c := m.cfg
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	b, t := dims[0], dims[1]
	lctx := ctx.In("lm")
	x := m.embed(lctx, lat, tokens, imgPos)
	attend, caches := hf.CacheAttend(start, kc, vc, t)
	if c.pretrained() {
		hc := c.hfConfig()
		w := m.llamaWeights(lctx, g)
		for i := 0; i < hc.NumHiddenLayers; i++ {
			x = hc.Block(w, i, x, start, attend)
		}
		x = hc.Norm(w, x)
		kOut, vOut = caches()
		return x, kOut, vOut
	}
	if c.Positions == "learned" {
		pos := m.weight(lctx, g, "pos", c.Context, c.LMDim)
		x = Add(x, Gather(pos, Reshape(stepPositions(start, t), b, t, 1)))
	}
	rope := c.Positions == "rope"
	for i := 0; i < c.LMLayers; i++ {
		st := &lmStep{start: start, attend: attend, layer: i}
		x = m.block(lctx.Inf("block_%d", i), x, nil, c.LMDim, c.LMHeads, c.LMMLP, c.Norm, c.MLP, c.Bias, true, rope, st)
	}
	kOut, vOut = caches()
	return m.norm(lctx.In("norm"), x, c.Norm), kOut, vOut
}

// embed is the LM's input [B, T, LMDim]: token embeddings, with image
// latents [N, Latents, LMDim] where imgPos [B, T] > 0 (1-based index into
// the flattened latents; lat nil: no images).
func (m *model) embed(lctx *context.Context, lat, tokens, imgPos *Node) *Node {
	c := m.cfg
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	b, t := dims[0], dims[1]
	var emb *Node
	if c.pretrained() {
		emb = m.llamaTable(lctx, g, "model.embed_tokens.weight", "added_embed")
	} else {
		emb = m.weight(lctx, g, "embed", m.vocab, c.LMDim)
	}
	x := Gather(emb, Reshape(tokens, b, t, 1))
	if lat != nil {
		lat = ConvertDType(lat, x.DType())
		ln := lat.Shape().Dimensions[0] * c.Latents
		table := Concatenate([]*Node{Zeros(g, shapes.Make(lat.DType(), 1, c.LMDim)), Reshape(lat, ln, c.LMDim)}, 0)
		fromImg := Gather(table, Reshape(imgPos, b, t, 1))
		isImg := BroadcastToDims(Reshape(GreaterThan(imgPos, ScalarZero(g, imgPos.DType())), b, t, 1), b, t, c.LMDim)
		x = Where(isImg, fromImg, x)
	}
	return x
}

// logits applies the (untied) LM head to hidden states [..., LMDim],
// returning float32 logits [..., vocab].
func (m *model) logits(ctx *context.Context, h *Node) *Node {
	if m.cfg.pretrained() {
		lctx := ctx.In("lm")
		name, extra := "lm_head.weight", "added_head"
		if m.cfg.Llama.Tied {
			name, extra = "model.embed_tokens.weight", "added_embed"
		}
		head := m.llamaTable(lctx, h.Graph(), name, extra)
		return ConvertDType(hf.Linear(h, head), dtypes.Float32)
	}
	y := m.dense(ctx.In("lm").In("head"), h, m.cfg.LMDim, m.vocab, false)
	return ConvertDType(y, dtypes.Float32)
}

// llamaWeights reads a pretrained decoder's tensors, by their Hugging Face
// names under lctx, in the compute dtype.
func (m *model) llamaWeights(lctx *context.Context, g *Graph) hf.Weights {
	return func(name string) *Node {
		v := lctx.GetVariable(name)
		if v == nil {
			panic(fmt.Errorf("lm: pretrained tensor %q has no variable", name))
		}
		x := v.ValueGraph(g)
		if m.cdt != dtypes.Float32 {
			x = ConvertDType(x, m.cdt)
		}
		return x
	}
}

// llamaTable is a pretrained vocabulary table [rows, LMDim] (the embedding
// or an untied head) with the rows of added tokens (extra) appended.
func (m *model) llamaTable(lctx *context.Context, g *Graph, name, extra string) *Node {
	w := m.llamaWeights(lctx, g)
	t := w(name)
	if lctx.GetVariable(extra) != nil {
		t = Concatenate([]*Node{t, w(extra)}, 0)
	}
	return t
}

// weightedLoss returns (Σ w·CE, Σ w) over a batch: targets and weights are
// [B, T]; the caller divides, so gradient accumulation stays exact.
func weightedLoss(logits, targets, weights *Node) (sum, wsum *Node) {
	v := logits.Shape().Dimensions[2]
	mx := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, mx)), -1)), Squeeze(mx, -1))
	onehot := OneHot(targets, v, dtypes.Float32)
	picked := ReduceSum(Mul(logits, onehot), -1)
	ce := Sub(lse, picked)
	return ReduceAllSum(Mul(ce, weights)), ReduceAllSum(weights)
}

// bcast broadcasts v (a suffix of dims) to dims.
func bcast(v *Node, dims []int) *Node {
	return BroadcastToDims(ExpandLeftToRank(v, len(dims)), dims...)
}
