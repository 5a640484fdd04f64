package train

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// loss.png renders: 800×480, axes with tick labels, the raw and smoothed
// training loss, the validation curve only when there is one, and resume
// points only when a run resumed.
func TestLossPNG(t *testing.T) {
	steps := make([]int, 60)
	loss := make([]float64, 60)
	for i := range steps {
		steps[i] = i + 1
		loss[i] = 5*math.Exp(-float64(i)/15) + 0.3*math.Sin(float64(i)) + 0.5 // noisy, falling
	}
	loss[7] = math.NaN() // a diverged step is skipped, not drawn off the canvas
	for _, tc := range []struct {
		name      string
		plot      lossPlot
		val, res  bool
		keepAsPNG string
	}{
		{"train only", lossPlot{Steps: steps, Loss: loss}, false, false, "train.png"},
		{"with validation", lossPlot{Steps: steps, Loss: loss, ValSteps: []int{20, 40, 60}, Val: []float64{2.5, 1.5, 1.2}}, true, false, "val.png"},
		{"resumed", lossPlot{Steps: steps, Loss: loss, ValSteps: []int{30, 60}, Val: []float64{2, 1.3}, Resumes: []int{31}}, true, true, "resumed.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if d := os.Getenv("MEDMD_KEEP_PLOTS"); d != "" { // to look at them
				dir = d
			}
			p := filepath.Join(dir, tc.keepAsPNG)
			if err := writeLossPNG(p, tc.plot); err != nil {
				t.Fatal(err)
			}
			img := decodePNG(t, p)
			if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 480 {
				t.Fatalf("size %v, want 800×480", b)
			}
			n := countColours(img)
			t.Logf("pixels: %v", n)
			for _, c := range []struct {
				what string
				col  color.RGBA
				want bool
			}{
				{"raw loss", plotRaw, true},
				{"smoothed loss", plotSmooth, true},
				{"axes, ticks and labels", plotInk, true},
				{"validation", plotVal, tc.val},
				{"resume marks", plotResume, tc.res},
			} {
				if got := n[c.col] >= 50; got != c.want {
					t.Errorf("%s: %d pixels, want drawn %v", c.what, n[c.col], c.want)
				}
			}
		})
	}
}

// An empty or all-NaN history still writes a readable image.
func TestLossPNGDegenerate(t *testing.T) {
	for _, tc := range []struct {
		name string
		plot lossPlot
	}{
		{"empty", lossPlot{}},
		{"all NaN", lossPlot{Steps: []int{1, 2}, Loss: []float64{math.NaN(), math.NaN()}}},
		{"one step", lossPlot{Steps: []int{1}, Loss: []float64{3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "loss.png")
			if err := writeLossPNG(p, tc.plot); err != nil {
				t.Fatal(err)
			}
			if n := countColours(decodePNG(t, p)); n[plotInk] == 0 {
				t.Error("blank image")
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 10, 5, []float64{0, 2, 4, 6, 8, 10}},
		{0.3, 5.2, 6, []float64{0, 1, 2, 3, 4, 5, 6}},
		{0, 20, 8, []float64{0, 5, 10, 15, 20}},
		{1.12, 1.18, 6, []float64{1.12, 1.13, 1.14, 1.15, 1.16, 1.17, 1.18}},
	} {
		got := niceTicks(tc.lo, tc.hi, tc.n)
		if len(got) != len(tc.want) {
			t.Errorf("niceTicks(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-9 {
				t.Errorf("niceTicks(%g, %g, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
				break
			}
		}
	}
}

func decodePNG(t *testing.T, p string) image.Image {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func countColours(img image.Image) map[color.RGBA]int {
	n := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			n[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}]++
		}
	}
	return n
}
