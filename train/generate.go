package train

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gmctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/medmd/medmd/train/hf"
	"github.com/medmd/medmd/train/tokenizer"
)

// GenerateOptions configure Generate.
type GenerateOptions struct {
	// Checkpoint is a training output folder (its latest checkpoint is
	// used) or one checkpoint folder.
	Checkpoint string
	Source     Source
	Out        io.Writer // predictions JSONL: {"id": …, "prediction": …}
	// TopK > 0 samples from the K most likely tokens, TopP > 0 from the
	// smallest set of them reaching that probability (nucleus), both at
	// Temperature; neither is greedy.
	TopK         int
	TopP         float64
	Temperature  float64
	Seed         int64
	MaxNewTokens int // 0: the checkpoint config's max_new_tokens
	Batch        int // 0: the checkpoint config's batch
	Backend      backends.Backend
	Logger       *slog.Logger
	// StopTokens end a sample's answer (not kept in it); nil means the
	// tokenizer's </s>, empty means none (MaxNewTokens or the context
	// length end it).
	StopTokens []int
	// NoCache re-runs the whole context for every new token instead of
	// decoding against the KV cache: the reference the cache is tested
	// and measured against.
	NoCache bool
}

// Prediction is one line of the predictions file `medmd radbench score`
// reads.
type Prediction struct {
	ID         string `json:"id"`
	Prediction string `json:"prediction"`
}

// newNextExec compiles "logits of the next token": inputs latents?,
// tokens [B, T], imgPos [B, T], at [B, 2] (row, position) → logits
// [B, vocab]. newVisionExec compiles images → latents, run once per sample.
func newNextExec(backend backends.Backend, ctx *gmctx.Context, m *model) (*gmctx.Exec, error) {
	return gmctx.NewExec(backend, ctx, func(ctx *gmctx.Context, in []*Node) []*Node {
		var lat *Node
		if m.cfg.MaxImages > 0 {
			lat, in = in[0], in[1:]
		}
		h := m.hiddenFromLatents(ctx, lat, in[0], in[1])
		return []*Node{m.logits(ctx, Gather(h, in[2]))}
	})
}

// newCachedExec compiles one cached decoding step: inputs latents?,
// imgPos? (with images: prefill only), tokens [B, S], start [B], at [B, 2]
// (row, index in the step), k, v caches → logits [B, vocab] and the caches
// with the step's positions written.
func newCachedExec(backend backends.Backend, ctx *gmctx.Context, m *model, images bool) (*gmctx.Exec, error) {
	return gmctx.NewExec(backend, ctx, func(ctx *gmctx.Context, in []*Node) []*Node {
		var lat, imgPos *Node
		if images {
			lat, imgPos, in = in[0], in[1], in[2:]
		}
		h, k, v := m.lmCached(ctx, lat, in[0], imgPos, in[1], in[3], in[4])
		return []*Node{m.logits(ctx, Gather(h, in[2])), k, v}
	})
}

func newVisionExec(backend backends.Backend, ctx *gmctx.Context, m *model) (*gmctx.Exec, error) {
	return gmctx.NewExec(backend, ctx, func(ctx *gmctx.Context, images *Node) *Node {
		return m.vision(ctx, images)
	})
}

// loadRun loads the checkpoint and the run's tokenizer.
func loadRun(path string) (*gmctx.Context, *CheckpointState, *tokenizer.Tokenizer, error) {
	dir, err := LatestCheckpoint(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if dir == "" {
		return nil, nil, nil, fmt.Errorf("%s: no checkpoint (no 'latest' file or state.json)", path)
	}
	ctx, st, err := loadCheckpoint(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	tp := filepath.Join(filepath.Dir(dir), "tokenizer.json")
	if !fileExists(tp) {
		tp = filepath.Join(dir, "tokenizer.json")
	}
	tok, err := tokenizer.Load(tp)
	if err != nil {
		return nil, nil, nil, err
	}
	return ctx, st, tok, nil
}

// Generate writes one prediction per sample of o.Source, in order: the
// prompt is <s>, the instruction with its images, then the images placed in
// the response; decoding stops at a stop token (</s>), MaxNewTokens or the
// context length.
// The vision encoder runs once per sample (its latents computed once); the
// prompts then run through the LM together (prefill, latents spliced in),
// and each new token runs alone against the KV cache. With NoCache every
// new token re-runs the full forward pass at fixed shape [B, Context].
func Generate(ctx context.Context, o GenerateOptions) (int, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	gctx, st, tok, err := loadRun(o.Checkpoint)
	if err != nil {
		return 0, err
	}
	cfg := st.Config
	backend := o.Backend
	if backend == nil {
		if backend, err = NewBackend(); err != nil {
			return 0, err
		}
	}
	m := newModel(cfg, st.Vocab)
	var next, prefill, decode *gmctx.Exec
	if o.NoCache {
		next, err = newNextExec(backend, gctx, m)
	} else {
		prefill, err = newCachedExec(backend, gctx, m, cfg.MaxImages > 0)
		if err == nil {
			decode, err = newCachedExec(backend, gctx, m, false)
		}
	}
	if err != nil {
		return 0, err
	}
	vision, err := newVisionExec(backend, gctx, m)
	if err != nil {
		return 0, err
	}
	concat, err := NewExec(backend, func(xs []*Node) *Node { return Concatenate(xs, 0) })
	if err != nil {
		return 0, err
	}
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(nil)}
	B := o.Batch
	if B <= 0 {
		B = cfg.Batch
	}
	maxNew := o.MaxNewTokens
	if maxNew <= 0 {
		maxNew = cfg.MaxNewTokens
	}
	sampling := hf.Sampling{} // greedy unless sampling is asked for
	if o.TopK > 0 || o.TopP > 0 {
		sampling = hf.Sampling{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}
		if sampling.Temperature <= 0 {
			sampling.Temperature = 1
		}
	}
	stops := o.StopTokens
	if stops == nil {
		stops = []int{tok.EOSID}
	}
	allowed := func(id int) bool {
		return id < tok.VocabSize() && (id == tok.EOSID || !tok.IsSpecial(id))
	}
	T := cfg.Context
	n := o.Source.Len()
	jw := json.NewEncoder(o.Out)
	t0 := time.Now()
	for start := 0; start < n; start += B {
		if err := ctx.Err(); err != nil {
			return start, err
		}
		cnt := min(B, n-start)
		seqs := make([]*seq, B)
		ids := make([]string, cnt)
		rngs := make([]*rand.Rand, cnt)
		for i := 0; i < B; i++ {
			smp, err := o.Source.Sample(start + min(i, cnt-1)) // pad the last batch with repeats
			if err != nil {
				return start, err
			}
			if i < cnt {
				ids[i] = smp.ID
				rngs[i] = sampleRNG(o.Seed, smp.ID)
			}
			s := enc.prompt(smp)
			if len(s.tokens) > T-1 {
				s.tokens, s.slot = s.tokens[:T-1], s.slot[:T-1]
			}
			seqs[i] = s
		}
		tokA := make([]int32, B*T)
		posA := make([]int32, B*T)
		lens := make([]int, B)
		for i, s := range seqs {
			for j := range tokA[i*T : (i+1)*T] {
				tokA[i*T+j] = int32(tok.PadID)
			}
			copy(tokA[i*T:], s.tokens)
			for j, sl := range s.slot {
				if sl > 0 {
					posA[i*T+j] = int32(i*cfg.MaxImages*cfg.Latents) + sl
				}
			}
			lens[i] = len(s.tokens)
		}
		var latents *tensors.Tensor
		if cfg.MaxImages > 0 {
			// One sample at a time: hostImages sizes a batch's images to
			// its largest geometry (a 2D image beside a volume is resized
			// to the volume's), so latents computed per batch would depend
			// on which samples share it. Padding rows repeat the last
			// sample's latents.
			lats := make([]any, B)
			for i := 0; i < B; i++ {
				if i >= cnt {
					lats[i] = lats[cnt-1]
					continue
				}
				if lats[i], err = vision.Exec1(hostImages(seqs[i:i+1], cfg)); err != nil {
					return start, fmt.Errorf("generate: vision: %w", err)
				}
			}
			if latents, err = concat.Exec1(lats...); err != nil {
				return start, fmt.Errorf("generate: vision: %w", err)
			}
		}
		gen := make([][]int, B)
		done := make([]bool, B)
		for i := cnt; i < B; i++ {
			done[i] = true
		}
		// choose takes row i's next token from its logits; false ends the row.
		choose := func(i, step int, logits []float32) bool {
			ok := allowed
			if step == 0 {
				// At least one token: RadBench answers are never empty.
				ok = func(id int) bool { return id != tok.EOSID && allowed(id) }
			}
			id := sampling.Pick(logits, ok, rngs[i])
			if slices.Contains(stops, id) || lens[i] >= T {
				return false
			}
			tokA[i*T+lens[i]] = int32(id)
			lens[i]++
			gen[i] = append(gen[i], id)
			return lens[i] < T
		}
		if !o.NoCache {
			c := cachedBatch{m: m, prefill: prefill, decode: decode, latents: latents, T: T, B: B}
			if err := c.run(tokA, posA, lens, done, maxNew, choose); err != nil {
				return start, fmt.Errorf("generate: %w", err)
			}
		}
		for step := 0; o.NoCache && step < maxNew; step++ {
			active := false
			at := make([]int32, 2*B)
			for i := 0; i < B; i++ {
				at[2*i], at[2*i+1] = int32(i), int32(lens[i]-1)
				active = active || !done[i]
			}
			if !active {
				break
			}
			args := []any{tensors.FromFlatDataAndDimensions(tokA, B, T), tensors.FromFlatDataAndDimensions(posA, B, T), tensors.FromFlatDataAndDimensions(at, B, 2)}
			if latents != nil {
				args = append([]any{latents}, args...)
			}
			out, err := next.Exec(args...)
			if err != nil {
				return start, fmt.Errorf("generate: %w", err)
			}
			logits := tensors.MustCopyFlatData[float32](out[0])
			V := len(logits) / B
			for i := 0; i < B; i++ {
				if !done[i] && !choose(i, step, logits[i*V:(i+1)*V]) {
					done[i] = true
				}
			}
		}
		for i := 0; i < cnt; i++ {
			if err := jw.Encode(Prediction{ID: ids[i], Prediction: tok.Decode(gen[i])}); err != nil {
				return start, err
			}
		}
		log.Debug("generate", "done", start+cnt, "of", n, "elapsed", time.Since(t0).Round(time.Millisecond))
	}
	return n, nil
}

// cachedBatch decodes one batch against a KV cache.
type cachedBatch struct {
	m               *model
	prefill, decode *gmctx.Exec
	latents         *tensors.Tensor // nil: no images
	T, B            int             // context length, rows
}

// prefillRound is the granularity prefill lengths are rounded up to, so
// batches of nearby prompt lengths share one compiled graph (the padding
// is written to the cache but never attended: each position is rewritten
// by its own token before a query reaches it).
const prefillRound = 16

// run decodes rows of tokA/posA [B, T] (lens[i] prompt tokens each) until
// every row is done or has maxNew tokens: the prompts at once (padded,
// latents spliced where posA > 0), then one token per row per step, row i
// at its own position lens[i]-1. A finished row keeps feeding its last
// token at its last position (the same keys and values rewritten), its
// logits ignored. The cache holds Context positions: one compiled
// decoding step whatever the prompt lengths.
func (c *cachedBatch) run(tokA, posA []int32, lens []int, done []bool, maxNew int, choose func(i, step int, logits []float32) bool) error {
	B, T := c.B, c.T
	P := 0
	for _, l := range lens {
		P = max(P, l)
	}
	P = min(T, (P+prefillRound-1)/prefillRound*prefillRound)
	dims := c.m.lmCacheShape(B, T)
	n := 1
	for _, d := range dims {
		n *= d
	}
	kc := tensors.FromFlatDataAndDimensions(make([]float32, n), dims...)
	vc := tensors.FromFlatDataAndDimensions(make([]float32, n), dims...)
	toks := make([]int32, B*P)
	imgs := make([]int32, B*P)
	for i := 0; i < B; i++ {
		copy(toks[i*P:(i+1)*P], tokA[i*T:i*T+P])
		copy(imgs[i*P:(i+1)*P], posA[i*T:i*T+P])
	}
	starts := make([]int32, B)
	at := make([]int32, 2*B)
	for i := range B {
		at[2*i], at[2*i+1] = int32(i), int32(lens[i]-1)
	}
	args := []any{tensors.FromFlatDataAndDimensions(toks, B, P), tensors.FromFlatDataAndDimensions(starts, B),
		tensors.FromFlatDataAndDimensions(at, B, 2), kc, vc}
	if c.latents != nil {
		args = append([]any{c.latents, tensors.FromFlatDataAndDimensions(imgs, B, P)}, args...)
	}
	exec := c.prefill
	for step := 0; step < maxNew && slices.Contains(done, false); step++ {
		out, err := exec.Exec(args...)
		if err != nil {
			return err
		}
		logits := tensors.MustCopyFlatData[float32](out[0])
		V := len(logits) / B
		for i := 0; i < B; i++ {
			if !done[i] && !choose(i, step, logits[i*V:(i+1)*V]) {
				done[i] = true
			}
		}
		one := make([]int32, B)
		for i := range B {
			starts[i] = int32(lens[i] - 1)
			one[i] = tokA[i*T+lens[i]-1]
			at[2*i], at[2*i+1] = int32(i), 0
		}
		exec = c.decode
		args = []any{tensors.FromFlatDataAndDimensions(one, B, 1), tensors.FromFlatDataAndDimensions(starts, B),
			tensors.FromFlatDataAndDimensions(at, B, 2), out[1], out[2]}
	}
	return nil
}

// sampleRNG is the top-k sampling stream of one sample: a function of the
// seed and the sample id only, so predictions do not change with --batch
// or with which samples share a forward pass.
func sampleRNG(seed int64, id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}
