package radfilter

import (
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
