package normalize

import (
	"fmt"
	"math"
)

// Interp names a resampling method.
//
// Sampling convention, for every method: pixel centres. Output index o along
// an axis of n_in → n_out samples sits at input coordinate
//
//	c(o) = (o + 0.5)·s − 0.5,  s = n_in / n_out,
//
// exactly as scipy.ndimage.zoom(grid_mode=True) and
// torch.nn.functional.interpolate(align_corners=False) place it; input
// coordinates outside [0, n_in−1] are clamped to the edge sample
// (scipy mode="nearest", torch's behaviour). The affine is updated to match
// (see scaleAffine).
type Interp string

const (
	// Nearest takes the input sample at round(c(o)) (ties up), as
	// scipy.ndimage.zoom(order=0, grid_mode=True) and torch "nearest-exact".
	Nearest Interp = "nearest"
	// Linear interpolates between the two samples around c(o) along each
	// axis (trilinear in 3D), as scipy.ndimage.zoom(order=1, grid_mode=True,
	// mode="nearest").
	Linear Interp = "linear"
	// Area averages the input over the footprint of each output pixel,
	// [o·s, (o+1)·s) in input pixel units, weighting partially covered
	// pixels by their overlap (OpenCV INTER_AREA, Pillow BOX). For integer
	// factors it is the block mean (skimage.measure.block_reduce(np.mean)).
	// Upsampling with Area falls back to Linear.
	Area Interp = "area"
	// Antialias smooths with a Gaussian of σ = (s−1)/2 (truncated at 4σ,
	// edge-clamped) before linear interpolation when downsampling, as
	// skimage.transform.resize(order=1, anti_aliasing=True, mode="edge").
	// Upsampling with Antialias is Linear.
	Antialias Interp = "antialias"
)

// ParseInterp checks a method name.
func ParseInterp(s string) (Interp, error) {
	switch Interp(s) {
	case Nearest, Linear, Area, Antialias:
		return Interp(s), nil
	case "":
		return Linear, nil
	case "trilinear", "bilinear":
		return Linear, nil
	}
	return "", fmt.Errorf("unknown interpolation %q (want nearest, linear, area or antialias)", s)
}

// axisKernel is the sparse resampling matrix of one axis: output index o
// reads input samples start[o] … start[o]+n−1 with weights
// w[off[o]:off[o+1]], n = off[o+1]−off[o]. Taps are contiguous and already
// clamped to [0, in), so the passes never bounds-check per tap.
type axisKernel struct {
	in, out int
	start   []int32
	off     []int32
	w       []float32
}

func (k *axisKernel) identity() bool { return k.in == k.out && len(k.w) == k.out }

func (k *axisKernel) taps(o int) (int, []float32) {
	return int(k.start[o]), k.w[k.off[o]:k.off[o+1]]
}

// newAxisKernel builds the kernel for resampling n_in → n_out samples.
func newAxisKernel(in, out int, mode Interp) *axisKernel {
	k := &axisKernel{in: in, out: out, start: make([]int32, out), off: make([]int32, out+1)}
	s := float64(in) / float64(out)
	if in == out {
		// Every method is the identity on an unchanged axis (pixel centres
		// land exactly on input centres).
		for o := 0; o < out; o++ {
			k.start[o] = int32(o)
			k.off[o+1] = int32(o + 1)
		}
		k.w = make([]float32, out)
		for i := range k.w {
			k.w[i] = 1
		}
		return k
	}
	if (mode == Area || mode == Antialias) && s <= 1 {
		mode = Linear
	}
	clamp := func(i int) int {
		if i < 0 {
			return 0
		}
		if i >= in {
			return in - 1
		}
		return i
	}
	// dense accumulates one output's weights over input indices lo..hi.
	var dense []float64
	emit := func(o, lo int, ws []float64) {
		// trim zero weights at both ends so taps stay minimal
		a, b := 0, len(ws)
		for a < b && ws[a] == 0 {
			a++
		}
		for b > a && ws[b-1] == 0 {
			b--
		}
		k.start[o] = int32(lo + a)
		for _, v := range ws[a:b] {
			k.w = append(k.w, float32(v))
		}
		k.off[o+1] = int32(len(k.w))
	}
	switch mode {
	case Nearest:
		k.w = make([]float32, 0, out)
		for o := 0; o < out; o++ {
			c := (float64(o)+0.5)*s - 0.5
			emit(o, clamp(int(math.Floor(c+0.5))), []float64{1})
		}
	case Linear:
		k.w = make([]float32, 0, 2*out)
		for o := 0; o < out; o++ {
			c := (float64(o)+0.5)*s - 0.5
			i0 := math.Floor(c)
			f := c - i0
			a, b := clamp(int(i0)), clamp(int(i0)+1)
			if a == b {
				emit(o, a, []float64{1})
			} else {
				emit(o, a, []float64{1 - f, f})
			}
		}
	case Area:
		for o := 0; o < out; o++ {
			x0, x1 := float64(o)*s, float64(o+1)*s
			lo, hi := int(math.Floor(x0)), int(math.Ceil(x1))-1
			if hi >= in {
				hi = in - 1
			}
			dense = dense[:0]
			for i := lo; i <= hi; i++ {
				ov := math.Min(x1, float64(i+1)) - math.Max(x0, float64(i))
				if ov < 0 {
					ov = 0
				}
				dense = append(dense, ov/s)
			}
			emit(o, lo, dense)
		}
	case Antialias:
		sigma := (s - 1) / 2
		r := int(4*sigma + 0.5)
		g := make([]float64, 2*r+1)
		var sum float64
		for t := -r; t <= r; t++ {
			g[t+r] = math.Exp(-0.5 / (sigma * sigma) * float64(t*t))
			sum += g[t+r]
		}
		for i := range g {
			g[i] /= sum
		}
		for o := 0; o < out; o++ {
			c := (float64(o)+0.5)*s - 0.5
			i0 := math.Floor(c)
			f := c - i0
			// Linear taps on the smoothed signal, each expanded into the
			// Gaussian over clamped input indices.
			lo := clamp(int(i0) - r)
			hi := clamp(int(i0) + 1 + r)
			dense = dense[:0]
			for i := lo; i <= hi; i++ {
				dense = append(dense, 0)
			}
			for tap, wl := range [2]float64{1 - f, f} {
				j := clamp(int(i0) + tap)
				for t := -r; t <= r; t++ {
					dense[clamp(j+t)-lo] += wl * g[t+r]
				}
			}
			emit(o, lo, dense)
		}
	}
	return k
}
