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

// weightSpec is one tensor the decoder expects: its Hugging Face name and
// shape ([out, in] for linear layers, as nn.Linear stores them).
type weightSpec struct {
	name  string
	shape []int
}

// specs lists the decoder's tensors for c.
func (c Config) specs() []weightSpec {
	D, F, V := c.HiddenSize, c.IntermediateSize, c.VocabSize
	qd, kvd := c.NumAttentionHeads*c.HeadDim, c.NumKeyValueHeads*c.HeadDim
	s := []weightSpec{{"model.embed_tokens.weight", []int{V, D}}, {"model.norm.weight", []int{D}}}
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		s = append(s,
			weightSpec{p + "self_attn.q_proj.weight", []int{qd, D}},
			weightSpec{p + "self_attn.k_proj.weight", []int{kvd, D}},
			weightSpec{p + "self_attn.v_proj.weight", []int{kvd, D}},
			weightSpec{p + "self_attn.o_proj.weight", []int{D, qd}},
			weightSpec{p + "mlp.gate_proj.weight", []int{F, D}},
			weightSpec{p + "mlp.up_proj.weight", []int{F, D}},
			weightSpec{p + "mlp.down_proj.weight", []int{D, F}},
			weightSpec{p + "input_layernorm.weight", []int{D}},
			weightSpec{p + "post_attention_layernorm.weight", []int{D}},
		)
	}
	if !c.TieWordEmbeddings {
		s = append(s, weightSpec{"lm_head.weight", []int{V, D}})
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
	ck, err := OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	specs := c.specs()
	for _, s := range specs {
		f, ok := ck.where[s.name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: missing", dir, s.name)
		}
		ti := f.Tensors[s.name]
		if !slices.Equal(ti.Shape, s.shape) {
			return nil, fmt.Errorf("%s: tensor %q: shape %v, config.json implies %v", f.Path, s.name, ti.Shape, s.shape)
		}
		if ti.DType != F32 && ti.DType != F16 && ti.DType != BF16 {
			return nil, fmt.Errorf("%s: tensor %q: dtype %s, want F32, F16 or BF16", f.Path, s.name, ti.DType)
		}
	}
	ctx := context.New()
	for _, s := range specs {
		f := ck.where[s.name]
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		buf := make([]float32, n)
		if err := f.Float32(s.name, buf); err != nil {
			return nil, err
		}
		ctx.VariableWithValue(s.name, tensors.FromFlatDataAndDimensions(buf, s.shape...))
	}
	return &Decoder{Config: c, ctx: ctx, backend: backend, steps: map[[2]int]*context.Exec{}}, nil
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
	y := Dot(Reshape(x, -1, in), Transpose(w, 0, 1))
	return Reshape(y, append(slices.Clone(dims[:len(dims)-1]), out)...)
}

func rmsNorm(x, w *Node, eps float64) *Node {
	last := x.Rank() - 1
	ms := ReduceAndKeep(Square(x), ReduceMean, last)
	y := Mul(x, Rsqrt(AddScalar(ms, eps)))
	return Mul(y, BroadcastToDims(ExpandLeftToRank(w, x.Rank()), x.Shape().Dimensions...))
}

// rope rotates x [B, S, H, hd] at positions start…start+S-1 (rotate_half
// layout: pair i is (x[i], x[i+hd/2])).
func (d *Decoder) rope(x, start *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	S, hd := dims[1], dims[3]
	half := hd / 2
	inv := d.Config.InvFreq()
	invF := make([]float32, hd)
	for i := 0; i < half; i++ {
		invF[i], invF[i+half] = float32(inv[i]), float32(inv[i])
	}
	pos := ConvertDType(Add(Iota(g, shapes.Make(dtypes.Int32, S), 0), start), dtypes.Float32)
	ang := Mul(Reshape(pos, S, 1), Reshape(Const(g, invF), 1, hd)) // [S, hd]
	c := BroadcastToDims(Reshape(Cos(ang), 1, S, 1, hd), dims...)
	s := BroadcastToDims(Reshape(Sin(ang), 1, S, 1, hd), dims...)
	// rotate_half as a signed permutation matmul: differentiable on every
	// backend (slicing would need Pad for its gradient).
	rot := make([]float32, hd*hd)
	for i := 0; i < half; i++ {
		rot[(i+half)*hd+i] = -1
		rot[i*hd+i+half] = 1
	}
	return Add(Mul(x, c), Mul(Reshape(Dot(Reshape(x, -1, hd), Reshape(Const(g, rot), hd, hd)), dims...), s))
}

// step runs tokens [B, S] at positions start…start+S-1 (start an int32
// scalar) against the KV cache k, v [layers, B, kvHeads, maxLen, hd]:
// returns logits [B, S, vocab] and the caches with these positions written.
// A query at position p sees keys 0…p only, so unwritten cache rows never
// count.
func (d *Decoder) step(ctx *context.Context, tokens, start, kc, vc *Node) (logits, kOut, vOut *Node) {
	c := d.Config
	g := tokens.Graph()
	B, S := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	H, KV, hd := c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim
	rep := H / KV
	maxLen := kc.Shape().Dimensions[3]
	x := Gather(d.w(ctx, g, "model.embed_tokens.weight"), Reshape(tokens, B, S, 1))
	qi := Add(Iota(g, shapes.Make(dtypes.Int32, S, maxLen), 0), start)
	ki := Iota(g, shapes.Make(dtypes.Int32, S, maxLen), 1)
	mask := BroadcastToDims(Reshape(GreaterOrEqual(qi, ki), 1, 1, 1, S, maxLen), B, KV, rep, S, maxLen)
	neg := BroadcastToDims(Scalar(g, dtypes.Float32, -1e30), B, KV, rep, S, maxLen)
	// The cache write is a one-hot placement, place[s, t] = (t == start+s),
	// selected where written: exact (products with 1, sums with 0) and on
	// every backend (the pure-Go one has no DynamicUpdateSlice).
	tpos := Iota(g, shapes.Make(dtypes.Int32, S, maxLen), 1)
	place := ConvertDType(Equal(tpos, qi), dtypes.Float32)
	tr := Iota(g, shapes.Make(dtypes.Int32, maxLen), 0)
	inRange := And(GreaterOrEqual(tr, start), LessThan(tr, AddScalar(start, float64(S))))
	written := BroadcastToDims(Reshape(inRange, 1, 1, maxLen, 1), B, KV, maxLen, hd)
	var ks, vs []*Node
	for i := 0; i < c.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		h := rmsNorm(x, d.w(ctx, g, p+"input_layernorm.weight"), c.RMSNormEps)
		q := d.rope(Reshape(linear(h, d.w(ctx, g, p+"self_attn.q_proj.weight")), B, S, H, hd), start)
		k := d.rope(Reshape(linear(h, d.w(ctx, g, p+"self_attn.k_proj.weight")), B, S, KV, hd), start)
		v := Reshape(linear(h, d.w(ctx, g, p+"self_attn.v_proj.weight")), B, S, KV, hd)
		// write this step's keys and values into layer i's cache rows
		lk := Reshape(Slice(kc, AxisElem(i)), B, KV, maxLen, hd)
		lv := Reshape(Slice(vc, AxisElem(i)), B, KV, maxLen, hd)
		lk = Where(written, Einsum("bskd,st->bktd", k, place), lk)
		lv = Where(written, Einsum("bskd,st->bktd", v, place), lv)
		ks, vs = append(ks, Reshape(lk, 1, B, KV, maxLen, hd)), append(vs, Reshape(lv, 1, B, KV, maxLen, hd))
		// grouped-query attention: head h reads kv head h / rep
		qg := Reshape(q, B, S, KV, rep, hd)
		scores := MulScalar(Einsum("bskrd,bktd->bkrst", qg, lk), 1/math.Sqrt(float64(hd)))
		scores = Where(mask, scores, neg)
		a := Einsum("bkrst,bktd->bskrd", Softmax(scores, -1), lv)
		x = Add(x, linear(Reshape(a, B, S, H*hd), d.w(ctx, g, p+"self_attn.o_proj.weight")))
		h = rmsNorm(x, d.w(ctx, g, p+"post_attention_layernorm.weight"), c.RMSNormEps)
		gate := linear(h, d.w(ctx, g, p+"mlp.gate_proj.weight"))
		up := linear(h, d.w(ctx, g, p+"mlp.up_proj.weight"))
		x = Add(x, linear(Mul(Mul(gate, Sigmoid(gate)), up), d.w(ctx, g, p+"mlp.down_proj.weight")))
	}
	x = rmsNorm(x, d.w(ctx, g, "model.norm.weight"), c.RMSNormEps)
	head := "lm_head.weight"
	if c.TieWordEmbeddings {
		head = "model.embed_tokens.weight"
	}
	return linear(x, d.w(ctx, g, head)), Concatenate(ks, 0), Concatenate(vs, 0)
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
	B := len(tokens)
	if B != cache.batch || B == 0 {
		return nil, fmt.Errorf("hf: %d sequences for a cache of %d", B, cache.batch)
	}
	S := len(tokens[0])
	if S == 0 || cache.Len+S > cache.MaxLen {
		return nil, fmt.Errorf("hf: %d tokens after %d do not fit the cache's %d", S, cache.Len, cache.MaxLen)
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
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(flat, B, S), int32(cache.Len), cache.k, cache.v)
	if err != nil {
		return nil, err
	}
	cache.k, cache.v = out[1], out[2]
	cache.Len += S
	return tensors.MustCopyFlatData[float32](out[0]), nil
}

// Save writes the decoder as a Hugging Face folder transformers loads with
// LlamaForCausalLM.from_pretrained: config.json and an F32
// model.safetensors, each published atomically.
func (d *Decoder) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []Tensor
	for _, s := range d.Config.specs() {
		v := d.ctx.GetVariable(s.name)
		if v == nil {
			return fmt.Errorf("hf: variable %q missing", s.name)
		}
		val, err := v.Value()
		if err != nil {
			return fmt.Errorf("hf: variable %q: %w", s.name, err)
		}
		ts = append(ts, Tensor{Name: s.name, Shape: s.shape, Data: tensors.MustCopyFlatData[float32](val)})
	}
	if err := WriteFile(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	c := d.Config
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
