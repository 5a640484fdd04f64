package radfilter

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/medmd/medmd/shards"
)

func BenchmarkClassifyCaption(b *testing.B) {
	caps := readCaptions(b, "testdata/captions.jsonl")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ClassifyCaption(caps[i%len(caps)].Text)
	}
}

func BenchmarkFingerprint(b *testing.B) {
	im := phantom(32, 256, 256, 0.4, 0.6, 0.1, 0, 5, 1)
	s := &shards.Sample{Images: []shards.Image{im}}
	b.SetBytes(int64(len(im.Voxels)))
	b.ReportAllocs()
	for range b.N {
		FingerprintOf(s)
	}
}

// BenchmarkLeakIndexLeaks mirrors perf's radmd/near_index row: 20,000
// random dHashes at threshold 10, each query 3 bits from a stored one.
func BenchmarkLeakIndexLeaks(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	li := NewLeakIndex(10)
	hs := make([]PHash, 20000)
	for i := range hs {
		hs[i] = PHash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		li.Add(&shards.Sample{ID: strconv.Itoa(i)}, Fingerprint{SHA256: []string{"t" + strconv.Itoa(i)}, DHash: []PHash{hs[i]}, DHashOK: []bool{true}})
	}
	queries := make([]Fingerprint, 200)
	for i := range queries {
		q := hs[rng.IntN(len(hs))]
		q[0] ^= 0b1011
		queries[i] = Fingerprint{SHA256: []string{"q" + strconv.Itoa(i)}, DHash: []PHash{q}, DHashOK: []bool{true}}
	}
	s := &shards.Sample{ID: "query"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if len(li.Leaks(s, queries[i%len(queries)])) != 1 {
			b.Fatal("query missed")
		}
	}
}
