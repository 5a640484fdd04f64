package train

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/medmd/medmd/shards"
)

// writeLossPNG draws the training loss (blue line, per step) and the
// validation loss (red dots) against steps, on a 800×480 canvas with light
// grid lines at every unit of loss. No plotting library: a few lines of
// image/png keep the trainer dependency-free.
func writeLossPNG(path string, steps []int, loss []float64, valSteps []int, val []float64) error {
	const W, H, pad = 800, 480, 40
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if len(steps) == 0 {
		return savePNG(path, img)
	}
	maxStep := steps[len(steps)-1]
	for _, s := range valSteps {
		maxStep = max(maxStep, s)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64{}, loss...), val...) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	lo = math.Min(0, lo)
	if hi <= lo {
		hi = lo + 1
	}
	xOf := func(s int) int { return pad + int(float64(s)/float64(max(maxStep, 1))*float64(W-2*pad)) }
	yOf := func(v float64) int { return H - pad - int((v-lo)/(hi-lo)*float64(H-2*pad)) }
	grey := color.RGBA{220, 220, 220, 255}
	black := color.RGBA{0, 0, 0, 255}
	stepU := math.Max(1, math.Ceil((hi-lo)/8))
	for u := math.Ceil(lo); u <= hi; u += stepU {
		y := yOf(u)
		for x := pad; x < W-pad; x++ {
			img.Set(x, y, grey)
		}
		label(img, 4, y+4, fmt.Sprintf("%g", u), black)
	}
	label(img, W-pad-90, H-pad+16, fmt.Sprintf("step %d", maxStep), black)
	label(img, pad+4, 14, "loss: train (blue), validation (red)", black)
	for x := pad; x < W-pad; x++ {
		img.Set(x, H-pad, black)
	}
	for y := pad; y <= H-pad; y++ {
		img.Set(pad, y, black)
	}
	blue := color.RGBA{31, 119, 180, 255}
	for i := 1; i < len(steps); i++ {
		line(img, xOf(steps[i-1]), yOf(loss[i-1]), xOf(steps[i]), yOf(loss[i]), blue)
	}
	red := color.RGBA{214, 39, 40, 255}
	for i, s := range valSteps {
		cx, cy := xOf(s), yOf(val[i])
		for dy := -3; dy <= 3; dy++ {
			for dx := -3; dx <= 3; dx++ {
				if dx*dx+dy*dy <= 9 {
					img.Set(cx+dx, cy+dy, red)
				}
			}
		}
	}
	return savePNG(path, img)
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

// label draws s with its baseline at (x, y) in a 7×13 bitmap font.
func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func savePNG(path string, img image.Image) error {
	return shards.Publish(nil, path, func(w io.Writer) error { return png.Encode(w, img) })
}
