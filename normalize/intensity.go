package normalize

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/medmd/medmd/shards"
)

// Window is a CT display window in Hounsfield units: values in
// [Level−Width/2, Level+Width/2] map linearly onto the output range.
type Window struct {
	Name  string  `json:"name,omitempty"`
	Level float64 `json:"level"`
	Width float64 `json:"width"`
}

// WindowPresets are the named CT windows (level, width in HU), from common
// radiology practice (Radiopaedia "Windowing (CT)"): brain 40/80,
// subdural 75/215, stroke 40/40, lung −600/1500, mediastinum 50/350,
// abdomen (soft tissue) 40/400, liver 30/150, bone 400/1800.
var WindowPresets = map[string]Window{
	"brain":       {"brain", 40, 80},
	"subdural":    {"subdural", 75, 215},
	"stroke":      {"stroke", 40, 40},
	"lung":        {"lung", -600, 1500},
	"mediastinum": {"mediastinum", 50, 350},
	"abdomen":     {"abdomen", 40, 400},
	"liver":       {"liver", 30, 150},
	"bone":        {"bone", 400, 1800},
}

// ParseWindow reads a preset name ("lung") or a custom "level/width"
// ("40/400", "-600/1500"), optionally named "name=level/width".
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if w, ok := WindowPresets[strings.ToLower(s)]; ok {
		return w, nil
	}
	name := ""
	if i := strings.IndexByte(s, '='); i >= 0 {
		name, s = s[:i], s[i+1:]
	}
	var w Window
	if _, err := fmt.Sscanf(s, "%g/%g", &w.Level, &w.Width); err != nil || w.Width <= 0 {
		names := make([]string, 0, len(WindowPresets))
		for n := range WindowPresets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Window{}, fmt.Errorf("window %q: want a preset (%s) or level/width with width > 0", s, strings.Join(names, ", "))
	}
	w.Name = name
	if w.Name == "" {
		w.Name = "custom"
	}
	return w, nil
}

// Intensity methods.
const (
	MethodPercentile = "percentile" // clip to percentiles, scale to [0,1] (default, MR/other)
	MethodMinMax     = "minmax"     // (x−min)/(max−min), as RadFM does
	MethodWindow     = "window"     // CT HU windows
)

// IntensityOptions configures Intensity.
type IntensityOptions struct {
	// Method is MethodPercentile (default), MethodMinMax or MethodWindow.
	Method string
	// Windows, for MethodWindow: one window, or several to store as
	// channels (the input must then have one channel).
	Windows []Window
	// PercentileLo/Hi, for MethodPercentile, default 0.5 and 99.5. They are
	// computed like numpy.percentile's default "linear" method over all
	// finite voxels of all channels.
	PercentileLo, PercentileHi float64
	// OutDType is Uint8 (default; scaled to 0…255, rounded half up),
	// Float16 or Float32 (0…1).
	OutDType shards.DType
	// NonFinite is the output value, on the 0…1 scale, given to NaN/±Inf
	// voxels (default 0). They are excluded from the statistics and counted
	// in the transform's "nonfinite" and Meta["nonfinite"].
	NonFinite float64
}

// Intensity maps im's voxels to [0,1] (window, percentile clip or min-max)
// and stores them as OutDType, in place, recording an "intensity"
// transform with the method, the bounds actually used and the non-finite
// count. It reads the input in its own dtype (no float copy) and the
// percentile selection is a two-pass radix histogram, so the only large
// allocation is the output.
func Intensity(im *shards.Image, o IntensityOptions) error {
	if err := checkVoxels(im); err != nil {
		return err
	}
	if o.Method == "" {
		o.Method = MethodPercentile
	}
	if o.OutDType == "" {
		o.OutDType = shards.Uint8
	}
	switch o.OutDType {
	case shards.Uint8, shards.Float16, shards.Float32:
	default:
		return fmt.Errorf("intensity: output dtype %q (want uint8, float16 or float32)", o.OutDType)
	}
	if !(o.NonFinite >= 0 && o.NonFinite <= 1) {
		return fmt.Errorf("intensity: nonfinite value %g outside 0…1", o.NonFinite)
	}
	if o.PercentileLo == 0 && o.PercentileHi == 0 {
		o.PercentileLo, o.PercentileHi = 0.5, 99.5
	}
	params := map[string]any{"method": o.Method, "dtype": string(o.OutDType)}
	var bounds [][2]float64 // per output channel group
	switch o.Method {
	case MethodWindow:
		if len(o.Windows) == 0 {
			return fmt.Errorf("intensity: method window needs at least one window")
		}
		if len(o.Windows) > 1 && im.Channels != 1 {
			return fmt.Errorf("intensity: %d windows as channels need a 1-channel image, have %d", len(o.Windows), im.Channels)
		}
		for _, w := range o.Windows {
			if !(w.Width > 0) {
				return fmt.Errorf("intensity: window %q has width %g", w.Name, w.Width)
			}
			bounds = append(bounds, [2]float64{w.Level - w.Width/2, w.Level + w.Width/2})
		}
		params["windows"] = o.Windows
	case MethodPercentile:
		if !(0 <= o.PercentileLo && o.PercentileLo < o.PercentileHi && o.PercentileHi <= 100) {
			return fmt.Errorf("intensity: percentiles %g–%g out of order or range", o.PercentileLo, o.PercentileHi)
		}
		p, err := Percentiles(im.Voxels, im.DType, o.PercentileLo, o.PercentileHi)
		if err != nil {
			return err
		}
		bounds = append(bounds, [2]float64{p[0], p[1]})
		params["percentiles"] = []float64{o.PercentileLo, o.PercentileHi}
		params["lo"], params["hi"] = p[0], p[1]
	case MethodMinMax:
		p, err := Percentiles(im.Voxels, im.DType, 0, 100)
		if err != nil {
			return err
		}
		bounds = append(bounds, [2]float64{p[0], p[1]})
		params["lo"], params["hi"] = p[0], p[1]
	default:
		return fmt.Errorf("intensity: unknown method %q (want percentile, minmax or window)", o.Method)
	}
	n := im.NumVoxels()
	outC := im.Channels
	if len(bounds) > 1 {
		outC = len(bounds)
	}
	out := make([]byte, outC*n/im.Channels*o.OutDType.Size())
	nonfinite := 0
	per := n / im.Channels * o.OutDType.Size()
	for c, b := range bounds {
		dst := out
		if len(bounds) > 1 {
			dst = out[c*per : (c+1)*per]
		}
		nf, err := mapIntensity(dst, o.OutDType, im.Voxels, im.DType, b[0], b[1], o.NonFinite)
		if err != nil {
			return err
		}
		nonfinite = nf
	}
	if nonfinite > 0 {
		params["nonfinite"] = nonfinite
		params["nonfinite_value"] = o.NonFinite
		setMeta(im, "nonfinite", fmt.Sprint(nonfinite))
	}
	im.Voxels, im.DType, im.Channels = out, o.OutDType, outC
	return AddTransform(im, "intensity", params)
}

// mapIntensity writes clamp((x−lo)/(hi−lo), 0, 1) for every voxel of src
// into dst (Uint8: ⌊255y+0.5⌋; floats: y). hi ≤ lo maps everything to 0.
func mapIntensity(dst []byte, odt shards.DType, src []byte, dt shards.DType, lo, hi, nf float64) (int, error) {
	switch dt {
	case shards.Uint8:
		return mapT(dst, odt, shards.View[uint8](src), lo, hi, nf), nil
	case shards.Int8:
		return mapT(dst, odt, shards.View[int8](src), lo, hi, nf), nil
	case shards.Uint16:
		return mapT(dst, odt, shards.View[uint16](src), lo, hi, nf), nil
	case shards.Int16:
		return mapT(dst, odt, shards.View[int16](src), lo, hi, nf), nil
	case shards.Uint32:
		return mapT(dst, odt, shards.View[uint32](src), lo, hi, nf), nil
	case shards.Int32:
		return mapT(dst, odt, shards.View[int32](src), lo, hi, nf), nil
	case shards.Uint64:
		return mapT(dst, odt, shards.View[uint64](src), lo, hi, nf), nil
	case shards.Int64:
		return mapT(dst, odt, shards.View[int64](src), lo, hi, nf), nil
	case shards.Float32:
		return mapT(dst, odt, shards.View[float32](src), lo, hi, nf), nil
	case shards.Float64:
		return mapT(dst, odt, shards.View[float64](src), lo, hi, nf), nil
	case shards.Float16:
		h := shards.View[uint16](src)
		f := make([]float32, len(h))
		for i, v := range h {
			f[i] = shards.HalfToFloat32(v)
		}
		return mapT(dst, odt, f, lo, hi, nf), nil
	}
	return 0, fmt.Errorf("intensity: unsupported dtype %q", dt)
}

func mapT[T number](dst []byte, odt shards.DType, src []T, lo, hi, nf float64) int {
	inv := 0.0
	if hi > lo {
		inv = 1 / (hi - lo)
	}
	// float32 arithmetic: the 0…1 result is stored in at most 24 bits
	// (float32) and usually 8, so float64 would buy nothing but time.
	lo32, inv32, nf32 := float32(lo), float32(inv), float32(nf)
	const block = 8192
	var mu sync.Mutex
	total := 0
	nb := (len(src) + block - 1) / block
	parallel(nb, func(b0, b1 int) {
		a, b := b0*block, min(b1*block, len(src))
		bad := 0
		switch odt {
		case shards.Uint8:
			d := dst[a:b]
			s := src[a:b]
			s = s[:len(d)]
			nfU8 := uint8(nf32*255 + 0.5)
			scale := inv32 * 255
			for i, v := range s {
				x := float32(v)
				if x-x != 0 {
					bad++
					d[i] = nfU8
					continue
				}
				y := (x - lo32) * scale
				if y < 0 {
					y = 0
				} else if y > 255 {
					y = 255
				}
				d[i] = uint8(y + 0.5)
			}
		case shards.Float16, shards.Float32:
			var d32 []float32
			var d16 []uint16
			if odt == shards.Float32 {
				d32 = shards.View[float32](dst)[a:b]
			} else {
				d16 = shards.View[uint16](dst)[a:b]
			}
			for i, v := range src[a:b] {
				x := float32(v)
				var y float32
				if x-x != 0 {
					bad++
					y = nf32
				} else {
					y = (x - lo32) * inv32
					if y < 0 {
						y = 0
					} else if y > 1 {
						y = 1
					}
				}
				if d32 != nil {
					d32[i] = y
				} else {
					d16[i] = float32ToFloat16(y)
				}
			}
		}
		mu.Lock()
		total += bad
		mu.Unlock()
	})
	return total
}

// Percentiles returns the q-th percentiles (0…100) of the finite values in
// a voxel buffer, exactly as numpy.percentile(x[isfinite(x)], q) with its
// default "linear" method: sorted index q/100·(n−1), interpolated between
// its neighbours. It allocates no copy of the data: each order statistic
// is found with a histogram of the top 16 bits of an order-preserving
// 32-bit key, then of the low 16 bits within the chosen bin (values are
// compared as float32, exact for every integer type up to 24 bits and for
// float32 data).
func Percentiles(b []byte, dt shards.DType, qs ...float64) ([]float64, error) {
	switch dt {
	case shards.Uint8:
		return percentilesT(shards.View[uint8](b), qs), nil
	case shards.Int8:
		return percentilesT(shards.View[int8](b), qs), nil
	case shards.Uint16:
		return percentilesT(shards.View[uint16](b), qs), nil
	case shards.Int16:
		return percentilesT(shards.View[int16](b), qs), nil
	case shards.Uint32:
		return percentilesT(shards.View[uint32](b), qs), nil
	case shards.Int32:
		return percentilesT(shards.View[int32](b), qs), nil
	case shards.Uint64:
		return percentilesT(shards.View[uint64](b), qs), nil
	case shards.Int64:
		return percentilesT(shards.View[int64](b), qs), nil
	case shards.Float32:
		return percentilesT(shards.View[float32](b), qs), nil
	case shards.Float64:
		return percentilesT(shards.View[float64](b), qs), nil
	case shards.Float16:
		h := shards.View[uint16](b)
		f := make([]float32, len(h))
		for i, v := range h {
			f[i] = shards.HalfToFloat32(v)
		}
		return percentilesT(f, qs), nil
	}
	return nil, fmt.Errorf("percentile: unsupported dtype %q", dt)
}

// key maps a float32 to a uint32 whose unsigned order is the float order.
// It is branch-free: CT data is half negative, and a sign branch would
// mispredict on every other voxel.
func key(f float32) uint32 {
	u := math.Float32bits(f)
	return u ^ (uint32(int32(u)>>31) | 0x80000000)
}

func unkey(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

func percentilesT[T number](x []T, qs []float64) []float64 {
	const nb = 1 << 16
	// Pass 1: histogram of the high 16 key bits, one table per worker.
	hist := make([]int, nb)
	merge := func(dst []int, part []uint32) {
		for i, c := range part {
			dst[i] += int(c)
		}
	}
	const block = 1 << 16
	nblk := (len(x) + block - 1) / block
	tabs := make([][]uint32, workers(nblk))
	parallelW(nblk, func(w, b0, b1 int) {
		if tabs[w] == nil {
			tabs[w] = make([]uint32, nb)
		}
		h := tabs[w][:nb]
		for _, v := range x[b0*block : min(b1*block, len(x))] {
			f := float32(v)
			if f-f != 0 {
				continue
			}
			h[key(f)>>16]++
		}
	})
	for _, h := range tabs {
		if h != nil {
			merge(hist, h)
		}
	}
	total := 0
	for _, c := range hist {
		total += c
	}
	out := make([]float64, len(qs))
	if total == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	// The order statistics needed: for each q, ranks i0 and i0+1.
	type need struct{ rank, bin, rest int }
	var needs []need
	rankOf := func(k int) need {
		r := k
		hb := 0
		for ; hb < nb; hb++ {
			if r < hist[hb] {
				break
			}
			r -= hist[hb]
		}
		return need{k, hb, r}
	}
	for _, q := range qs {
		idx := q / 100 * float64(total-1)
		i0 := min(int(math.Floor(idx)), total-1)
		needs = append(needs, rankOf(i0), rankOf(min(i0+1, total-1)))
	}
	// Pass 2: low 16 bits within each needed high bin (at most 2·len(qs)
	// distinct bins), all in one scan.
	var bins []int
	for _, n := range needs {
		found := false
		for _, b := range bins {
			found = found || b == n.bin
		}
		if !found {
			bins = append(bins, n.bin)
		}
	}
	lo := make([][]int, len(bins))
	for i := range lo {
		lo[i] = make([]int, nb)
	}
	tabs2 := make([][][]uint32, workers(nblk))
	parallelW(nblk, func(w, b0, b1 int) {
		if tabs2[w] == nil {
			tabs2[w] = make([][]uint32, len(bins))
			for i := range tabs2[w] {
				tabs2[w][i] = make([]uint32, nb)
			}
		}
		h := tabs2[w]
		for _, v := range x[b0*block : min(b1*block, len(x))] {
			f := float32(v)
			if f-f != 0 {
				continue
			}
			k := key(f)
			hb := int(k >> 16)
			for j, b := range bins {
				if hb == b {
					h[j][k&0xffff]++
					break
				}
			}
		}
	})
	for _, h := range tabs2 {
		for j := range h {
			merge(lo[j], h[j])
		}
	}
	value := func(n need) float64 {
		j := 0
		for bins[j] != n.bin {
			j++
		}
		r, lb := n.rest, 0
		for ; lb < nb; lb++ {
			if r < lo[j][lb] {
				break
			}
			r -= lo[j][lb]
		}
		return float64(unkey(uint32(n.bin)<<16 | uint32(lb)))
	}
	for i, q := range qs {
		idx := q / 100 * float64(total-1)
		t := idx - math.Floor(idx)
		a, b := value(needs[2*i]), value(needs[2*i+1])
		switch {
		case t == 0 || needs[2*i].rank == total-1:
			out[i] = a
		case t >= 0.5: // numpy's _lerp computes from the nearer end
			out[i] = b - (b-a)*(1-t)
		default:
			out[i] = a + (b-a)*t
		}
	}
	return out
}
