package hf

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGenerate measures time per new token with the KV cache and with
// the whole sequence re-run for every token, in the same run; compare the
// two ns/token figures (the ratio, not the absolute time, is the result).
func BenchmarkGenerate(b *testing.B) {
	backend := testBackend(b)
	d, err := Load(backend, "testdata/llama-tiny")
	if err != nil {
		b.Fatal(err)
	}
	const newTokens = 256
	prompt := [][]int32{{1, 9, 33, 20}}
	for _, noCache := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%v/new=%d", !noCache, newTokens), func(b *testing.B) {
			o := GenerateOptions{MaxNewTokens: newTokens, NoCache: noCache, StopTokens: []int32{}}
			if _, err := d.Generate(prompt, o); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Generate(prompt, o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*newTokens), "ns/token")
		})
	}
}

// BenchmarkGenerateMid is BenchmarkGenerate at 256 new tokens on a
// mid-size CPU decoder (4 layers, width 256, GQA 8/4 heads, random
// weights written to a temporary folder). Each case runs its 256 tokens
// once per b.N (compilation of the uncached path's per-length graphs
// included, since a real run pays it too); run with -benchtime=1x.
func BenchmarkGenerateMid(b *testing.B) {
	c := Config{ModelType: "llama", VocabSize: 1000, HiddenSize: 256, IntermediateSize: 688, NumHiddenLayers: 4,
		NumAttentionHeads: 8, NumKeyValueHeads: 4, HeadDim: 32, RMSNormEps: 1e-5, RopeTheta: 10000,
		MaxPositionEmbeddings: 512, HiddenAct: "silu"}
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []Tensor
	for _, s := range c.Specs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = 1
			if len(s.Shape) > 1 {
				data[i] = float32(0.05 * rng.NormFloat64())
			}
		}
		ts = append(ts, Tensor{Name: s.Name, Shape: s.Shape, Data: data})
	}
	dir := b.TempDir()
	if err := WriteFolder(dir, c, ts); err != nil {
		b.Fatal(err)
	}
	d, err := Load(testBackend(b), dir)
	if err != nil {
		b.Fatal(err)
	}
	const newTokens = 256
	prompt := [][]int32{{1, 9, 33, 20}}
	for _, noCache := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%v/new=%d", !noCache, newTokens), func(b *testing.B) {
			o := GenerateOptions{MaxNewTokens: newTokens, NoCache: noCache, StopTokens: []int32{}}
			for i := 0; i < b.N; i++ {
				if _, err := d.Generate(prompt, o); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*newTokens), "ns/token")
		})
	}
}
