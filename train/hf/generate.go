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
}

// Generate continues each prompt. Sequences are decoded one at a time,
// each with its own random stream (Seed, prompt index), so a sequence's
// output does not depend on the other prompts.
func (d *Decoder) Generate(prompts [][]int32, o GenerateOptions) ([][]int32, error) {
	stops := o.StopTokens
	if stops == nil {
		for _, id := range d.Config.eosIDs() {
			stops = append(stops, int32(id))
		}
	}
	V := d.Config.VocabSize
	out := make([][]int32, len(prompts))
	for pi, prompt := range prompts {
		if len(prompt) == 0 {
			return nil, fmt.Errorf("hf: prompt %d is empty", pi)
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(pi)))
		maxLen := len(prompt) + o.MaxNewTokens
		cache := d.NewCache(1, maxLen)
		seq := slices.Clone(prompt)
		next := prompt
		for len(seq) < maxLen {
			if o.NoCache {
				cache = d.NewCache(1, len(seq))
				next = seq
			}
			logits, err := d.Forward(cache, [][]int32{next})
			if err != nil {
				return nil, err
			}
			tok := pick(logits[len(logits)-V:], o, rng)
			seq = append(seq, tok)
			next = []int32{tok}
			if slices.Contains(stops, tok) {
				break
			}
		}
		out[pi] = seq[len(prompt):]
	}
	return out, nil
}

// pick chooses the next token from one row of logits.
func pick(logits []float32, o GenerateOptions, rng *rand.Rand) int32 {
	if o.Temperature <= 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	p := make([]float64, len(idx))
	mx := float64(logits[idx[0]])
	sum := 0.0
	for i, id := range idx {
		p[i] = math.Exp((float64(logits[id]) - mx) / o.Temperature)
		sum += p[i]
	}
	if o.TopP > 0 && o.TopP < 1 {
		c := 0.0
		for i := range p {
			c += p[i] / sum
			if c >= o.TopP {
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
			return int32(idx[i])
		}
	}
	return int32(idx[len(idx)-1])
}
