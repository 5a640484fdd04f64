package train

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestLossPNG(t *testing.T) {
	p := filepath.Join(t.TempDir(), "loss.png")
	if err := writeLossPNG(p, []int{1, 2, 3, 4}, []float64{5, 3, 2, 1.5}, []int{2, 4}, []float64{3.5, 2}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// some blue (train) and red (validation) pixels were drawn
	var blue, red int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case r>>8 == 31 && g>>8 == 119 && bl>>8 == 180:
				blue++
			case r>>8 == 214 && g>>8 == 39 && bl>>8 == 40:
				red++
			}
		}
	}
	if blue < 100 || red < 20 {
		t.Fatalf("blue %d red %d pixels", blue, red)
	}
}
