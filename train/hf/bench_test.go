package hf

import (
	"fmt"
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
	const newTokens = 64
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
