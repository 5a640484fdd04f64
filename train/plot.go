package train

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/medmd/medmd/shards"
)

// lossPlot is what loss.png shows: the training loss per step, the
// validation loss where it was measured, and the steps at which a run
// resumed a checkpoint.
type lossPlot struct {
	Steps    []int
	Loss     []float64
	ValSteps []int
	Val      []float64
	Resumes  []int // first step of each resumed run
}

// plotFromMetrics gathers a lossPlot from metrics.jsonl's lines.
func plotFromMetrics(h []Metric) lossPlot {
	var p lossPlot
	for _, m := range h {
		p.Steps = append(p.Steps, m.Step)
		p.Loss = append(p.Loss, m.Loss)
		if m.ValLoss != nil {
			p.ValSteps = append(p.ValSteps, m.Step)
			p.Val = append(p.Val, *m.ValLoss)
		}
		if m.Resumed {
			p.Resumes = append(p.Resumes, m.Step)
		}
	}
	return p
}

func writePlot(out string, h []Metric) error {
	return writeLossPNG(filepath.Join(out, "loss.png"), plotFromMetrics(h))
}

// Colours of loss.png (matplotlib's default cycle, so the plot reads like
// the ones users know): the raw loss pale, its smoothed line strong.
var (
	plotRaw    = color.RGBA{174, 199, 232, 255}
	plotSmooth = color.RGBA{31, 119, 180, 255}
	plotVal    = color.RGBA{214, 39, 40, 255}
	plotResume = color.RGBA{44, 160, 44, 255}
	plotGrid   = color.RGBA{225, 225, 225, 255}
	plotInk    = color.RGBA{0, 0, 0, 255}
)

// writeLossPNG draws p on an 800×480 canvas: axes with ticks and labels
// (step, loss), the raw training loss (pale blue), its smoothed line
// (blue), the validation loss (red dots and line) only when there is
// one, and a dashed green line at each resume. No plotting library: a
// few lines of image/png keep the trainer dependency-free.
func writeLossPNG(path string, p lossPlot) error {
	const W, H = 800, 480
	const left, right, top, bottom = 64, 20, 30, 44
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if len(p.Steps) == 0 {
		label(img, W/2-80, H/2, "no training steps yet", plotInk)
		return savePNG(path, img)
	}
	minStep, maxStep := p.Steps[0], p.Steps[len(p.Steps)-1]
	for _, s := range p.ValSteps {
		minStep, maxStep = min(minStep, s), max(maxStep, s)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64{}, p.Loss...), p.Val...) {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if !finite(lo) { // every loss NaN: an empty frame still has axes
		lo, hi = 0, 1
	}
	yt := niceTicks(lo, hi, 6)
	lo, hi = math.Min(lo, yt[0]), math.Max(hi, yt[len(yt)-1])
	if hi <= lo {
		lo, hi = lo-0.5, hi+0.5
		yt = niceTicks(lo, hi, 6)
	}
	x0 := float64(min(minStep, 0))
	x1 := float64(max(maxStep, 1))
	xt := niceTicks(x0, x1, 8)
	x1 = math.Max(x1, xt[len(xt)-1])
	pw, ph := W-left-right, H-top-bottom
	xOf := func(s float64) int { return left + int(math.Round((s-x0)/(x1-x0)*float64(pw))) }
	yOf := func(v float64) int { return top + ph - int(math.Round((v-lo)/(hi-lo)*float64(ph))) }

	// Grid and ticks.
	for _, v := range yt {
		if v < lo || v > hi {
			continue
		}
		y := yOf(v)
		for x := left; x <= left+pw; x++ {
			img.Set(x, y, plotGrid)
		}
		for x := left - 4; x < left; x++ {
			img.Set(x, y, plotInk)
		}
		s := tickLabel(v)
		label(img, left-6-7*len(s), y+4, s, plotInk)
	}
	for _, v := range xt {
		if v < x0 || v > x1 {
			continue
		}
		x := xOf(v)
		for y := top; y <= top+ph; y++ {
			img.Set(x, y, plotGrid)
		}
		for y := top + ph; y < top+ph+5; y++ {
			img.Set(x, y, plotInk)
		}
		s := tickLabel(v)
		label(img, x-7*len(s)/2, top+ph+17, s, plotInk)
	}
	for x := left; x <= left+pw; x++ {
		img.Set(x, top+ph, plotInk)
	}
	for y := top; y <= top+ph; y++ {
		img.Set(left, y, plotInk)
	}
	label(img, left+pw/2-14, H-8, "step", plotInk)
	label(img, 6, top-10, "loss", plotInk)

	// Resume points under the curves.
	for _, s := range p.Resumes {
		x := xOf(float64(s))
		for y := top; y <= top+ph; y++ {
			if (y/4)%2 == 0 {
				img.Set(x, y, plotResume)
			}
		}
	}

	drawSeries := func(steps []int, vals []float64, c color.Color, thick bool) {
		for i := 1; i < len(steps); i++ {
			if !finite(vals[i-1]) || !finite(vals[i]) {
				continue
			}
			ax, ay, bx, by := xOf(float64(steps[i-1])), yOf(vals[i-1]), xOf(float64(steps[i])), yOf(vals[i])
			line(img, ax, ay, bx, by, c)
			if thick {
				line(img, ax, ay+1, bx, by+1, c)
			}
		}
	}
	drawSeries(p.Steps, p.Loss, plotRaw, false)
	drawSeries(p.Steps, smoothLoss(p.Loss), plotSmooth, true)
	if len(p.Val) > 0 {
		drawSeries(p.ValSteps, p.Val, plotVal, false)
		for i, s := range p.ValSteps {
			if !finite(p.Val[i]) {
				continue
			}
			cx, cy := xOf(float64(s)), yOf(p.Val[i])
			for dy := -3; dy <= 3; dy++ {
				for dx := -3; dx <= 3; dx++ {
					if dx*dx+dy*dy <= 9 {
						img.Set(cx+dx, cy+dy, plotVal)
					}
				}
			}
		}
	}

	// Legend: only what is drawn.
	lx := left + 50
	legend := func(c color.Color, s string) {
		for x := lx; x < lx+18; x++ {
			img.Set(x, top-14, c)
			img.Set(x, top-13, c)
		}
		label(img, lx+22, top-9, s, plotInk)
		lx += 22 + 7*len(s) + 16
	}
	legend(plotRaw, "train")
	legend(plotSmooth, "train, smoothed")
	if len(p.Val) > 0 {
		legend(plotVal, "validation")
	}
	if len(p.Resumes) > 0 {
		legend(plotResume, "resumed")
	}
	return savePNG(path, img)
}

// smoothLoss is the debiased exponential moving average TensorBoard draws
// over a noisy loss, its weight chosen from the length so that a short
// smoke run is not flattened and a long run is not left noisy. NaN or
// infinite losses are skipped (they stay out of the average).
func smoothLoss(v []float64) []float64 {
	w := math.Min(0.98, math.Max(0.6, 1-10/float64(max(len(v), 1))))
	out := make([]float64, len(v))
	ema, norm := 0.0, 0.0
	for i, x := range v {
		if finite(x) {
			ema = w*ema + (1-w)*x
			norm = w*norm + (1 - w)
		}
		if norm == 0 {
			out[i] = math.NaN()
			continue
		}
		out[i] = ema / norm
	}
	return out
}

// niceTicks returns about n evenly spaced values at 1, 2 or 5 × 10^k
// covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Floor(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	if out[len(out)-1] < hi {
		out = append(out, out[len(out)-1]+step)
	}
	return out
}

// tickLabel prints a tick value short: 2000 → "2000", 0.25 → "0.25".
func tickLabel(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e7 {
		return strconv.FormatInt(int64(v), 10)
	}
	return fmt.Sprintf("%.3g", v)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

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
