package train

import (
	"context"
	"fmt"
	"testing"

	"github.com/medmd/medmd/shards"
)

// BenchmarkDataPath measures the training data path on one core — loader
// batch (view or gather) → HostBatch, the host tensor handed to the
// backend — for the small preset's 2D and 3D geometry, beside a memcpy of
// the same bytes (the baseline its ratio is quoted against). Goals: ≥
// 2,000 2D samples/s and ≥ 250 3D samples/s.
//
//	go test ./train -run '^$' -bench DataPath -benchtime 2s
//
// `medmd perf train` measures the same path (internal/perf/train.go)
// and prints it as ratios.
func BenchmarkDataPath(b *testing.B) {
	for _, g := range []struct {
		name       string
		d, h, w, n int
	}{
		{"2d/1x1x512x512", 1, 512, 512, 64},
		{"3d/1x64x256x256", 64, 256, 256, 16},
	} {
		per := g.d * g.h * g.w
		smps := make([]shards.Sample, g.n)
		for i := range smps {
			v := make([]byte, per)
			for k := range v {
				v[k] = byte(k*7 + i)
			}
			smps[i] = shards.Sample{ID: fmt.Sprintf("s%03d", i), Source: "bench", Task: shards.TaskCaption, Response: "x",
				Images: []shards.Image{{DType: shards.Uint8, Channels: 1, Depth: g.d, Height: g.h, Width: g.w, Voxels: v, Affine: shards.IdentityAffine()}}}
		}
		manifest := writeCorpus(b, smps, g.n)
		m, err := shards.ReadManifest(manifest)
		if err != nil {
			b.Fatal(err)
		}
		const batch = 8
		b.Run(g.name+"/loader", func(b *testing.B) {
			l, err := shards.NewLoader([]*shards.Manifest{m}, shards.LoaderConfig{Seed: 1, Shuffle: true, BatchSize2D: batch, BatchSize3D: batch, Workers: 1, NoVerify: true}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(int64(batch * per))
			b.ReportAllocs()
			samples := 0
			for i := 0; i < b.N; i++ {
				bt, err := l.Next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := HostBatch(bt); err != nil {
					b.Fatal(err)
				}
				samples += bt.Shape[0]
				bt.Release()
			}
			b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
		})
		b.Run(g.name+"/memcpy", func(b *testing.B) {
			src, dst := make([]byte, batch*per), make([]byte, batch*per)
			for i := range src {
				src[i] = byte(i)
			}
			b.SetBytes(int64(batch * per))
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
