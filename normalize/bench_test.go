package normalize

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// benchVolume is a deterministic int16 volume with a smooth structure
// plus texture (contents matter little for timing; they keep the percentile
// histogram realistic).
func benchVolume(d, h, w int) *shards.Image {
	v := make([]int16, d*h*w)
	for z := 0; z < d; z++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v[(z*h+y)*w+x] = int16((x*7+y*3+z*5)%2000 - 1000 + (x*y)%37)
			}
		}
	}
	b := make([]byte, 2*len(v))
	copy(shards.View[int16](b), v)
	return &shards.Image{DType: shards.Int16, Channels: 1, Depth: d, Height: h, Width: w, Voxels: b,
		Affine: [16]float64{-0.8, 0, 0, 0, 0, 0.8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, Spacing: [3]float64{0.8, 0.8, 1}}
}

func benchShape() (d, h, w int) {
	if os.Getenv("MEDMD_BENCH_FULL") != "" {
		return 316, 370, 301
	}
	return 158, 185, 151
}

func BenchmarkResize(b *testing.B) {
	d, h, w := benchShape()
	src := benchVolume(d, h, w)
	for _, mode := range []Interp{Nearest, Linear, Area, Antialias} {
		for _, size := range []int{128, 256} {
			b.Run(fmt.Sprintf("mode=%s/size=%d", mode, size), func(b *testing.B) {
				b.SetBytes(int64(len(src.Voxels)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					im := *src
					if err := Resize(&im, ResizeOptions{Depth: 64, Height: size, Width: size, Mode: mode}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkPercentiles(b *testing.B) {
	src := benchVolume(64, 256, 256)
	Resize(src, ResizeOptions{Depth: 64, Height: 256, Width: 256})
	b.SetBytes(int64(len(src.Voxels)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Percentiles(src.Voxels, src.DType, 0.5, 99.5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntensity(b *testing.B) {
	src := benchVolume(64, 256, 256)
	Resize(src, ResizeOptions{Depth: 64, Height: 256, Width: 256})
	for _, m := range []string{MethodPercentile, MethodWindow} {
		b.Run("method="+m, func(b *testing.B) {
			b.SetBytes(int64(len(src.Voxels)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				im := *src
				if err := Intensity(&im, IntensityOptions{Method: m, Windows: []Window{WindowPresets["abdomen"]}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCanonical(b *testing.B) {
	d, h, w := benchShape()
	src := benchVolume(d, h, w)
	b.SetBytes(int64(len(src.Voxels)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		im := *src
		if err := Canonical(&im); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeImage(b *testing.B) {
	for _, f := range []string{"video-001.png", "video-001.jpeg", "video-001-16bit.tiff"} {
		data, err := os.ReadFile("testdata/images/" + f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("file="+f, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := DecodeImage(data, Image2DOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkTextRules(b *testing.B) {
	dense := ""
	for i := 0; i < 20; i++ {
		dense += "  • The directly observed MLTs (Table 1) were longer than those reported previously [46], measuring 3.2 x 2.1 cm. Seen by Dr. Smith on 03/14/2019.\n"
	}
	texts := map[string]string{"dense": dense}
	if raw, err := readPMCArticle("pone.0046493"); err == nil {
		body := string(raw)
		if i, j := strings.Index(body, "<body>"), strings.Index(body, "</body>"); i >= 0 && j > i {
			texts["pmc_body"] = stripTags(body[i:j])
		}
	}
	rules := append(CleanRules(TextOptions{Bullets: true, QAPrefixes: true, Callouts: true, Measurements: true}), DeidRules...)
	for _, name := range []string{"dense", "pmc_body"} {
		text, ok := texts[name]
		if !ok {
			continue
		}
		b.Run("text="+name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				RewriteText(text, rules)
			}
		})
	}
}
