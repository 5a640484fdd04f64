package hf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// GenerateOptions says how Generate picks tokens. Temperature 0 is greedy;
// otherwise logits are divided by it and the next token is sampled from
// the TopK most likely (0: all) whose cumulative probability first reaches
// TopP (0 or 1: all).
type GenerateOptions struct {
	MaxNewTokens int
	Temperature  float64
	TopK         int
	TopP         float64
	Seed         uint64
	// StopTokens end a sequence (kept in the output); nil means the
	// config's eos_token_id.
	StopTokens []int32
	// NoCache re-runs the whole sequence for every new token instead of
	// reusing the KV cache: the reference the cache is tested against.
	NoCache bool
	// Batch is how many prompts are decoded together, one row each of
	// the same forward passes (0: all of them).
	Batch int
}

// Generate continues each prompt. Prompts are decoded Batch at a time,
// rows at their own positions (prompts of different lengths share a
// batch), each with its own random stream (Seed, prompt index): a
// prompt's output does not depend on the batch size or on the other
// prompts.
func (d *Decoder) Generate(prompts [][]int32, o GenerateOptions) ([][]int32, error) {
	stops := o.StopTokens
	if stops == nil {
		for _, id := range d.Config.eosIDs() {
			stops = append(stops, int32(id))
		}
	}
	for pi, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("hf: prompt %d is empty", pi)
		}
	}
	B := o.Batch
	if B <= 0 {
		B = len(prompts)
	}
	out := make([][]int32, len(prompts))
	for lo := 0; lo < len(prompts); lo += B {
		hi := min(lo+B, len(prompts))
		if err := d.generateBatch(prompts[lo:hi], lo, stops, o, out[lo:hi]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// generateBatch decodes prompts (the first is prompt number first) as one
// batch into out. The prompts run together, padded to the longest; then
// every step feeds each row its last token at its own position. A row that
// has finished keeps running on its last position, and its results are
// ignored.
func (d *Decoder) generateBatch(prompts [][]int32, first int, stops []int32, o GenerateOptions, out [][]int32) error {
	V := d.Config.VocabSize
	nb := len(prompts)
	rngs := make([]*rand.Rand, nb)
	seqs := make([][]int32, nb)
	done := make([]bool, nb)
	longest := 0
	for i, p := range prompts {
		rngs[i] = rand.New(rand.NewPCG(o.Seed, uint64(first+i)))
		seqs[i] = slices.Clone(p)
		longest = max(longest, len(p))
		done[i] = o.MaxNewTokens <= 0
	}
	maxLen := longest + o.MaxNewTokens
	// padded is rows cut or padded (with their first token: any valid id
	// will do, its positions are never attended) to n tokens from pos.
	padded := func(n int, from func(i int) int) [][]int32 {
		rows := make([][]int32, nb)
		for i, s := range seqs {
			r := make([]int32, n)
			for j := range r {
				r[j] = s[0]
				if k := from(i) + j; k < len(s) {
					r[j] = s[k]
				}
			}
			rows[i] = r
		}
		return rows
	}
	var cache *Cache
	starts := make([]int32, nb)
	for prefill := true; slices.Contains(done, false); prefill = false {
		var logits []float32
		var err error
		var at func(i int) int // the logits row of row i's next token
		switch {
		case o.NoCache:
			n := 0
			for _, s := range seqs {
				n = max(n, len(s))
			}
			cache = d.NewCache(nb, n)
			clear(starts)
			logits, err = d.forwardRows(cache, padded(n, func(int) int { return 0 }), starts)
			at = func(i int) int { return i*n + len(seqs[i]) - 1 }
		case prefill:
			cache = d.NewCache(nb, maxLen)
			logits, err = d.forwardRows(cache, padded(longest, func(int) int { return 0 }), starts)
			at = func(i int) int { return i*longest + len(seqs[i]) - 1 }
		default:
			for i, s := range seqs {
				starts[i] = int32(min(len(s)-1, maxLen-1))
			}
			logits, err = d.forwardRows(cache, padded(1, func(i int) int { return int(starts[i]) }), starts)
			at = func(i int) int { return i }
		}
		if err != nil {
			return err
		}
		for i := range seqs {
			if done[i] {
				continue
			}
			r := at(i)
			tok := pick(logits[r*V:(r+1)*V], o, rngs[i])
			seqs[i] = append(seqs[i], tok)
			if slices.Contains(stops, tok) || len(seqs[i])-len(prompts[i]) >= o.MaxNewTokens {
				done[i] = true
			}
		}
	}
	for i := range out {
		out[i] = seqs[i][len(prompts[i]):]
	}
	return nil
}

// pick chooses the next token from one row of logits.
func pick(logits []float32, o GenerateOptions, rng *rand.Rand) int32 {
	return int32(Sampling{Temperature: o.Temperature, TopK: o.TopK, TopP: o.TopP}.Pick(logits, nil, rng))
}

// Sampling says how the next token is chosen from a row of logits, as
// Hugging Face's generate does: Temperature 0 is greedy (the first
// highest logit); otherwise logits are divided by Temperature and the
// token is drawn from the TopK most likely (0: all) whose cumulative
// probability first reaches TopP (0 or 1: all). Ties keep the lower id
// first, so a draw depends only on the logits and the random stream.
type Sampling struct {
	Temperature float64
	TopK        int
	TopP        float64
}

// Pick chooses a token among those allowed (nil: every id).
func (s Sampling) Pick(logits []float32, allowed func(int) bool, rng *rand.Rand) int {
	idx := make([]int, 0, len(logits))
	for i := range logits {
		if allowed == nil || allowed(i) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return 0
	}
	if s.Temperature <= 0 {
		best := idx[0]
		for _, i := range idx {
			if logits[i] > logits[best] {
				best = i
			}
		}
		return best
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if s.TopK > 0 && s.TopK < len(idx) {
		idx = idx[:s.TopK]
	}
	p := make([]float64, len(idx))
	mx := float64(logits[idx[0]])
	sum := 0.0
	for i, id := range idx {
		p[i] = math.Exp((float64(logits[id]) - mx) / s.Temperature)
		sum += p[i]
	}
	if s.TopP > 0 && s.TopP < 1 {
		c := 0.0
		for i := range p {
			c += p[i] / sum
			if c >= s.TopP {
				idx, p = idx[:i+1], p[:i+1]
				break
			}
		}
		sum = 0
		for _, v := range p {
			sum += v
		}
	}
	r := rng.Float64() * sum
	for i, v := range p {
		if r -= v; r < 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}
