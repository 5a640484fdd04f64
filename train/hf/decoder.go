package hf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/shards"
)

// Checkpoint is the safetensors files of a model folder: model.safetensors,
// or the shards model.safetensors.index.json's weight_map names.
type Checkpoint struct {
	files []*File
	where map[string]*File // tensor name → its file
}

// OpenCheckpoint maps dir's safetensors files. Close releases them.
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	ck := &Checkpoint{where: map[string]*File{}}
	names := []string{"model.safetensors"}
	idx := filepath.Join(dir, "model.safetensors.index.json")
	if b, err := os.ReadFile(idx); err == nil {
		var ix struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &ix); err != nil {
			return nil, fmt.Errorf("%s: %w", idx, err)
		}
		names = names[:0]
		for _, f := range ix.WeightMap {
			if filepath.Base(f) != f {
				return nil, fmt.Errorf("%s: weight_map names %q outside the folder", idx, f)
			}
			if !slices.Contains(names, f) {
				names = append(names, f)
			}
		}
		slices.Sort(names)
	}
	for _, n := range names {
		f, err := Open(filepath.Join(dir, n))
		if err != nil {
			ck.Close()
			return nil, err
		}
		ck.files = append(ck.files, f)
		for t := range f.Tensors {
			ck.where[t] = f
		}
	}
	return ck, nil
}

// Close unmaps every file.
func (ck *Checkpoint) Close() error {
	for _, f := range ck.files {
		f.Close()
	}
	return nil
}

// WeightSpec is one tensor the decoder expects: its Hugging Face name and
// shape ([out, in] for linear layers, as nn.Linear stores them).
type WeightSpec struct {
	Name  string
	Shape []int
}

// Specs lists the decoder's tensors for c.
func (c Config) Specs() []WeightSpec {
	D, F, V := c.HiddenSize, c.IntermediateSize, c.VocabSize
	qd, kvd := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	s := []WeightSpec{{"model.embed_tokens.weight", []int{V, D}}, {"model.norm.weight", []int{D}}}
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		s = append(s,
			WeightSpec{p + "self_attn.q_proj.weight", []int{qd, D}},
			WeightSpec{p + "self_attn.k_proj.weight", []int{kvd, D}},
			WeightSpec{p + "self_attn.v_proj.weight", []int{kvd, D}},
			WeightSpec{p + "self_attn.o_proj.weight", []int{D, qd}},
			WeightSpec{p + "mlp.gate_proj.weight", []int{F, D}},
			WeightSpec{p + "mlp.up_proj.weight", []int{F, D}},
			WeightSpec{p + "mlp.down_proj.weight", []int{D, F}},
			WeightSpec{p + "input_layernorm.weight", []int{D}},
			WeightSpec{p + "post_attention_layernorm.weight", []int{D}},
		)
	}
	if !c.TieWordEmbeddings {
		s = append(s, WeightSpec{"lm_head.weight", []int{V, D}})
	}
	return s
}

// Decoder is a LLaMA-architecture decoder whose weights live in a GoMLX
// context, one variable per Hugging Face tensor under the same name.
type Decoder struct {
	Config  Config
	ctx     *context.Context
	backend backends.Backend
	steps   map[[2]int]*context.Exec // (batch, new tokens) → compiled step
}

// Load reads dir (config.json and its safetensors) into a Decoder. Every
// expected tensor is checked (present, shape and float dtype as config.json
// implies) before any weight memory is allocated.
func Load(backend backends.Backend, dir string) (*Decoder, error) {
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	ctx := context.New()
	err = ReadWeights(dir, c, func(name string, t *tensors.Tensor) { ctx.VariableWithValue(name, t) })
	if err != nil {
		return nil, err
	}
	return &Decoder{Config: c, ctx: ctx, backend: backend, steps: map[[2]int]*context.Exec{}}, nil
}

// ReadWeights checks every tensor c expects in dir's safetensors (present,
// shape and float dtype as config.json implies) before allocating any,
// then hands each to put as a float32 tensor of its Hugging Face shape,
// in Specs order. put owns the tensor.
func ReadWeights(dir string, c Config, put func(name string, t *tensors.Tensor)) error {
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		return err
	}
	defer ck.Close()
	specs := c.Specs()
	for _, s := range specs {
		f, ok := ck.where[s.Name]
		if !ok {
			return fmt.Errorf("%s: tensor %q: missing", dir, s.Name)
		}
		ti := f.Tensors[s.Name]
		if !slices.Equal(ti.Shape, s.Shape) {
			return fmt.Errorf("%s: tensor %q: shape %v, config.json implies %v", f.Path, s.Name, ti.Shape, s.Shape)
		}
		if ti.DType != F32 && ti.DType != F16 && ti.DType != BF16 {
			return fmt.Errorf("%s: tensor %q: dtype %s, want F32, F16 or BF16", f.Path, s.Name, ti.DType)
		}
	}
	for _, s := range specs {
		// Converted straight from the mapping into the tensor's own
		// memory: one pass over the bytes, no intermediate slice.
		t := tensors.FromShape(shapes.Make(dtypes.Float32, s.Shape...))
		var err error
		if merr := tensors.MutableFlatData(t, func(flat []float32) { err = ck.where[s.Name].Float32(s.Name, flat) }); merr != nil {
			return merr
		}
		if err != nil {
			return err
		}
		put(s.Name, t)
	}
	return nil
}

// w returns the variable of Hugging Face tensor name.
func (d *Decoder) w(ctx *context.Context, g *Graph, name string) *Node {
	v := ctx.GetVariable(name)
	if v == nil {
		panic(fmt.Errorf("hf: variable %q missing", name))
	}
	return v.ValueGraph(g)
}

// linear is x·Wᵀ for an nn.Linear weight W [out, in] and x [..., in].
func linear(x, w *Node) *Node {
	dims := x.Shape().Dimensions
	in, out := w.Shape().Dimensions[1], w.Shape().Dimensions[0]
	// Contracting W's own "in" axis leaves W [out, in] in the layout the
	// CPU backend's matmul wants ([cross, contracting]): a Transpose here
	// made it copy every weight twice per call, most of a cached
	// generation step's time.
	y := DotGeneral(Reshape(x, -1, in), []int{1}, nil, w, []int{1}, nil)
	return Reshape(y, append(slices.Clone(dims[:len(dims)-1]), out)...)
}

// rmsNorm is LlamaRMSNorm: normalised in float32, scaled by w, back in
// x's dtype.
func rmsNorm(x, w *Node, eps float64) *Node {
	dt := x.DType()
	xf := ConvertDType(x, dtypes.Float32)
	last := x.Rank() - 1
	ms := ReduceAndKeep(Square(xf), ReduceMean, last)
	// x / sqrt rather than x · rsqrt: Rsqrt has no gradient in GoMLX.
	y := ConvertDType(Div(xf, Sqrt(AddScalar(ms, eps))), dt)
	return Mul(y, BroadcastToDims(ExpandLeftToRank(ConvertDType(w, dt), x.Rank()), x.Shape().Dimensions...))
}

// positions is start…start+S-1 as int32: [S] for a scalar start, [B, S]
// for one start per row (batched generation, rows at different lengths).
func positions(g *Graph, start *Node, S int) *Node {
	if start.Rank() == 0 {
		return Add(Iota(g, shapes.Make(dtypes.Int32, S), 0), start)
	}
	B := start.Shape().Dimensions[0]
	return Add(Iota(g, shapes.Make(dtypes.Int32, B, S), 1), BroadcastToDims(Reshape(start, B, 1), B, S))
}

// rope rotates x [B, S, H, hd] at positions start…start+S-1, start a
// scalar or one per row [B] (rotate_half layout: pair i is (x[i],
// x[i+hd/2])).
func (c Config) rope(x, start *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	B, S, hd := dims[0], dims[1], dims[3]
	half := hd / 2
	inv := c.InvFreq()
	invF := make([]float32, hd)
	for i := 0; i < half; i++ {
		invF[i], invF[i+half] = float32(inv[i]), float32(inv[i])
	}
	rows := 1
	if start.Rank() == 1 {
		rows = B
	}
	pos := ConvertDType(positions(g, start, S), dtypes.Float32)
	ang := Mul(Reshape(pos, rows*S, 1), Reshape(Const(g, invF), 1, hd)) // [rows·S, hd]
	cs := BroadcastToDims(ConvertDType(Reshape(Cos(ang), rows, S, 1, hd), x.DType()), dims...)
	sn := BroadcastToDims(ConvertDType(Reshape(Sin(ang), rows, S, 1, hd), x.DType()), dims...)
	// rotate_half as a signed permutation matmul: differentiable on every
	// backend (slicing would need Pad for its gradient).
	rot := make([]float32, hd*hd)
	for i := 0; i < half; i++ {
		rot[(i+half)*hd+i] = -1
		rot[i*hd+i+half] = 1
	}
	r := ConvertDType(Reshape(Const(g, rot), hd, hd), x.DType())
	return Add(Mul(x, cs), Mul(Reshape(Dot(Reshape(x, -1, hd), r), dims...), sn))
}

// Weights returns the graph node of the Hugging Face tensor name (for
// example "model.layers.0.self_attn.q_proj.weight"), in the compute dtype.
type Weights func(name string) *Node

// Attend maps decoder layer i's keys and values of this step, k and v
// [B, S, KV, hd] (k rotated), to the keys and values attended, [B, KV, T,
// hd], and the mask of the keys each query sees: [S, T], or [B, S, T]
// when rows differ.
type Attend func(i int, k, v *Node) (keys, values, mask *Node)

// Block is LlamaDecoderLayer i over x [B, S, D] at positions
// start…start+S-1 (start an int32 scalar, or [B] with one per row): x + attention(norm(x)), then
// + SwiGLU(norm(x)). Grouped-query attention: head h reads kv head h/rep.
// Scores and softmax run in float32 whatever x's dtype. The decoder with
// its KV cache and the multimodal model's trained LM both run this one
// implementation.
func (c Config) Block(w Weights, i int, x, start *Node, attend Attend) *Node {
	dims := x.Shape().Dimensions
	if len(dims) != 3 || dims[2] != c.HiddenSize {
		panic(fmt.Errorf("hf: block input %s, want [B, S, %d]", x.Shape(), c.HiddenSize))
	}
	g := x.Graph()
	B, S := dims[0], dims[1]
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	rep := H / KV
	p := fmt.Sprintf("model.layers.%d.", i)
	h := rmsNorm(x, w(p+"input_layernorm.weight"), c.RMSNormEps)
	q := c.rope(Reshape(linear(h, w(p+"self_attn.q_proj.weight")), B, S, H, hd), start)
	k := c.rope(Reshape(linear(h, w(p+"self_attn.k_proj.weight")), B, S, KV, hd), start)
	v := Reshape(linear(h, w(p+"self_attn.v_proj.weight")), B, S, KV, hd)
	lk, lv, mask := attend(i, k, v)
	T := lk.Shape().Dimensions[2]
	qg := Reshape(q, B, S, KV, rep, hd)
	scores := MulScalar(ConvertDType(Einsum("bskrd,bktd->bkrst", qg, lk), dtypes.Float32), 1/math.Sqrt(float64(hd)))
	mb := 1
	if mask.Rank() == 3 {
		mb = B
	}
	m := BroadcastToDims(Reshape(mask, mb, 1, 1, S, T), B, KV, rep, S, T)
	scores = Where(m, scores, BroadcastToDims(Scalar(g, dtypes.Float32, -1e30), B, KV, rep, S, T))
	a := Einsum("bkrst,bktd->bskrd", ConvertDType(Softmax(scores, -1), lv.DType()), lv)
	x = Add(x, linear(Reshape(a, B, S, H*hd), w(p+"self_attn.o_proj.weight")))
	h = rmsNorm(x, w(p+"post_attention_layernorm.weight"), c.RMSNormEps)
	gate := linear(h, w(p+"mlp.gate_proj.weight"))
	up := linear(h, w(p+"mlp.up_proj.weight"))
	return Add(x, linear(Mul(Mul(gate, Sigmoid(gate)), up), w(p+"mlp.down_proj.weight")))
}

// Causal runs every decoder layer over the embeddings x [B, S, D] at
// positions 0…S-1 with causal attention and no cache, and returns the
// final-normed hidden states [B, S, D] (before the head): the training
// graph.
func (c Config) Causal(w Weights, x *Node) *Node {
	g := x.Graph()
	S := x.Shape().Dimensions[1]
	qi := Iota(g, shapes.Make(dtypes.Int32, S, S), 0)
	ki := Iota(g, shapes.Make(dtypes.Int32, S, S), 1)
	mask := GreaterOrEqual(qi, ki)
	attend := func(_ int, k, v *Node) (*Node, *Node, *Node) {
		return TransposeAllAxes(k, 0, 2, 1, 3), TransposeAllAxes(v, 0, 2, 1, 3), mask
	}
	start := ScalarZero(g, dtypes.Int32)
	for i := 0; i < c.NumHiddenLayers; i++ {
		x = c.Block(w, i, x, start, attend)
	}
	return rmsNorm(x, w("model.norm.weight"), c.RMSNormEps)
}

// Norm is the final RMSNorm (model.norm) of hidden states x [..., D]:
// what Causal ends with, for callers that run Block themselves.
func (c Config) Norm(w Weights, x *Node) *Node {
	return rmsNorm(x, w("model.norm.weight"), c.RMSNormEps)
}

// Linear is x·Wᵀ for an nn.Linear weight W [out, in] and x [..., in]: the
// head, for callers that assemble their own (extra vocabulary rows).
func Linear(x, w *Node) *Node { return linear(x, w) }

// step runs tokens [B, S], row b at positions start[b]…start[b]+S-1
// (start int32 [B]), against the KV cache k, v [layers, B, kvHeads,
// maxLen, hd]: returns logits [B, S, vocab] and the caches with these
// positions written.
func (d *Decoder) step(ctx *context.Context, tokens, start, kc, vc *Node) (logits, kOut, vOut *Node) {
	c := d.Config
	B, S := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	w := func(name string) *Node { return d.w(ctx, tokens.Graph(), name) }
	x := Gather(w("model.embed_tokens.weight"), Reshape(tokens, B, S, 1))
	attend, caches := CacheAttend(start, kc, vc, S)
	for i := 0; i < c.NumHiddenLayers; i++ {
		x = c.Block(w, i, x, start, attend)
	}
	x = rmsNorm(x, w("model.norm.weight"), c.RMSNormEps)
	head := "lm_head.weight"
	if c.TieWordEmbeddings {
		head = "model.embed_tokens.weight"
	}
	kOut, vOut = caches()
	return linear(x, w(head)), kOut, vOut
}

// CacheAttend is the Attend of a step over S tokens per row, row b at
// positions start[b]…start[b]+S-1 (start int32 [B]), against the KV cache
// kc, vc [layers, B, kvHeads, maxLen, hd]: layer i writes this step's keys
// and values into its cache rows and attends to them. A query at position
// p sees keys 0…p of its own row only, so unwritten cache rows never
// count, and rows of different lengths share a step. caches returns the
// updated caches, in the input's shape, once every layer has run. Any
// attention whose keys and values are [B, S, kvHeads, hd] can use it (the
// multimodal model's own decoder blocks too).
func CacheAttend(start, kc, vc *Node, S int) (attend Attend, caches func() (k, v *Node)) {
	g := start.Graph()
	dims := kc.Shape().Dimensions
	B, KV, maxLen, hd := dims[1], dims[2], dims[3], dims[4]
	qi := BroadcastToDims(Reshape(positions(g, start, S), B, S, 1), B, S, maxLen)
	ki := Iota(g, shapes.Make(dtypes.Int32, B, S, maxLen), 2)
	mask := GreaterOrEqual(qi, ki) // [B, S, maxLen]
	// The cache write is a one-hot placement, place[b, s, t] = (t ==
	// start[b]+s), selected where written: exact (products with 1, sums
	// with 0) and on every backend (the pure-Go one has no
	// DynamicUpdateSlice).
	place := ConvertDType(Equal(ki, qi), kc.DType())
	tr := Iota(g, shapes.Make(dtypes.Int32, B, maxLen), 1)
	st := BroadcastToDims(Reshape(start, B, 1), B, maxLen)
	inRange := And(GreaterOrEqual(tr, st), LessThan(tr, AddScalar(st, float64(S))))
	written := BroadcastToDims(Reshape(inRange, B, 1, maxLen, 1), B, KV, maxLen, hd)
	ks := make([]*Node, dims[0])
	vs := make([]*Node, dims[0])
	attend = func(i int, k, v *Node) (*Node, *Node, *Node) {
		lk := Reshape(Slice(kc, AxisElem(i)), B, KV, maxLen, hd)
		lv := Reshape(Slice(vc, AxisElem(i)), B, KV, maxLen, hd)
		lk = Where(written, Einsum("bskd,bst->bktd", ConvertDType(k, kc.DType()), place), lk)
		lv = Where(written, Einsum("bskd,bst->bktd", ConvertDType(v, vc.DType()), place), lv)
		ks[i], vs[i] = Reshape(lk, 1, B, KV, maxLen, hd), Reshape(lv, 1, B, KV, maxLen, hd)
		return ConvertDType(lk, k.DType()), ConvertDType(lv, v.DType()), mask
	}
	caches = func() (*Node, *Node) {
		for i := range ks {
			if ks[i] == nil { // a layer that did not run keeps its cache
				ks[i], vs[i] = Slice(kc, AxisElem(i)), Slice(vc, AxisElem(i))
			}
		}
		return Concatenate(ks, 0), Concatenate(vs, 0)
	}
	return attend, caches
}

// Cache is a KV cache for one batch: keys and values of every layer for
// positions 0…Len-1, room for MaxLen.
type Cache struct {
	k, v        *tensors.Tensor
	Len, MaxLen int
	batch       int
}

// NewCache returns an empty cache for batch sequences of up to maxLen
// tokens.
func (d *Decoder) NewCache(batch, maxLen int) *Cache {
	c := d.Config
	dims := []int{c.NumHiddenLayers, batch, c.NumKeyValueHeads, maxLen, c.HeadDim}
	n := dims[0] * dims[1] * dims[2] * dims[3] * dims[4]
	return &Cache{
		k:      tensors.FromFlatDataAndDimensions(make([]float32, n), dims...),
		v:      tensors.FromFlatDataAndDimensions(make([]float32, n), dims...),
		MaxLen: maxLen, batch: batch,
	}
}

// Forward runs tokens [batch][S] (equal lengths) after the cache's
// positions and returns the logits [batch][S][vocab] flattened row-major;
// the cache then holds S more positions. One graph is compiled per
// (batch, S, maxLen).
func (d *Decoder) Forward(cache *Cache, tokens [][]int32) ([]float32, error) {
	if len(tokens) == 0 || cache.Len+len(tokens[0]) > cache.MaxLen {
		return nil, fmt.Errorf("hf: %d sequences do not fit a cache of %d positions after %d", len(tokens), cache.MaxLen, cache.Len)
	}
	starts := make([]int32, len(tokens))
	for i := range starts {
		starts[i] = int32(cache.Len)
	}
	logits, err := d.forwardRows(cache, tokens, starts)
	if err == nil {
		cache.Len += len(tokens[0])
	}
	return logits, err
}

// forwardRows runs tokens [batch][S] (equal lengths), row b at positions
// starts[b]…starts[b]+S-1 of the cache. Cache positions at or past MaxLen
// are not written (a finished row of a batch may run on there).
func (d *Decoder) forwardRows(cache *Cache, tokens [][]int32, starts []int32) ([]float32, error) {
	B := len(tokens)
	if B != cache.batch || B == 0 || len(starts) != B {
		return nil, fmt.Errorf("hf: %d sequences for a cache of %d", B, cache.batch)
	}
	S := len(tokens[0])
	if S == 0 {
		return nil, fmt.Errorf("hf: no tokens to run")
	}
	flat := make([]int32, 0, B*S)
	for _, t := range tokens {
		if len(t) != S {
			return nil, fmt.Errorf("hf: sequences of different lengths in one batch")
		}
		for _, id := range t {
			if id < 0 || int(id) >= d.Config.VocabSize {
				return nil, fmt.Errorf("hf: token id %d outside the vocabulary (%d)", id, d.Config.VocabSize)
			}
		}
		flat = append(flat, t...)
	}
	key := [2]int{B*1_000_000 + S, cache.MaxLen}
	exec := d.steps[key]
	if exec == nil {
		var err error
		exec, err = context.NewExec(d.backend, d.ctx, func(ctx *context.Context, in []*Node) []*Node {
			l, k, v := d.step(ctx, in[0], in[1], in[2], in[3])
			return []*Node{l, k, v}
		})
		if err != nil {
			return nil, err
		}
		d.steps[key] = exec
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(flat, B, S), tensors.FromFlatDataAndDimensions(starts, B), cache.k, cache.v)
	if err != nil {
		return nil, err
	}
	cache.k, cache.v = out[1], out[2]
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

// Save writes the decoder as a Hugging Face folder transformers loads with
// LlamaForCausalLM.from_pretrained: config.json and an F32
// model.safetensors, each published atomically.
func (d *Decoder) Save(dir string) error {
	var ts []Tensor
	for _, s := range d.Config.Specs() {
		v := d.ctx.GetVariable(s.Name)
		if v == nil {
			return fmt.Errorf("hf: variable %q missing", s.Name)
		}
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("hf: variable %q: %w", s.Name, err)
		}
		ts = append(ts, Tensor{Name: s.Name, Shape: s.Shape, Data: tensors.MustCopyFlatData[float32](val)})
	}
	return WriteFolder(dir, d.Config, ts)
}

// WriteFolder writes tensors (c.Specs() names and shapes, float32) as a
// Hugging Face folder: model.safetensors and config.json, each published
// atomically. Every tensor c implies must be there with its shape.
func WriteFolder(dir string, c Config, ts []Tensor) error {
	have := map[string]Tensor{}
	for _, t := range ts {
		have[t.Name] = t
	}
	for _, s := range c.Specs() {
		t, ok := have[s.Name]
		if !ok {
			return fmt.Errorf("hf: writing %s: tensor %q missing", dir, s.Name)
		}
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		if !slices.Equal(t.Shape, s.Shape) || len(t.Data) != n {
			return fmt.Errorf("hf: writing %s: tensor %q has shape %v (%d values), config implies %v", dir, s.Name, t.Shape, len(t.Data), s.Shape)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	c.TorchDType = "float32"
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"LlamaForCausalLM"}
	}
	c.ModelType = "llama"
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return shards.PublishBytes(nil, filepath.Join(dir, "config.json"), append(b, '\n'))
}
