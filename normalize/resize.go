package normalize

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sort"

	"github.com/medmd/medmd/shards"
)

// Default in-plane sizes, as RadFM trains: 512×512 for 2D images and
// 256×256 for volumes.
const (
	Default2DSize = 512
	Default3DSize = 256
)

// ResizeOptions configures Resize.
type ResizeOptions struct {
	// Depth, Height, Width are the target size; 0 keeps that axis. Depth is
	// ignored for 2D images (Depth 1 stays 1).
	Depth, Height, Width int
	// Mode is the interpolation method (default Linear).
	Mode Interp
	// KeepAspect fits the in-plane image inside Height×Width preserving its
	// physical aspect ratio (pixel counts × spacing; pixel counts where the
	// spacing is unknown) and pads the rest, centred, with PadValue (or the
	// image minimum when PadMin).
	KeepAspect bool
	PadValue   float64
	PadMin     bool
	// OutDType is the stored element type (default float32). Integer
	// outputs round half away from zero and saturate.
	OutDType shards.DType
	// NonFinite replaces NaN/±Inf in float inputs before interpolation; the
	// count goes into the transform's parameters and Meta["nonfinite"].
	NonFinite float32
}

// Resize resamples im in place to the sizes in o and records a "resize"
// transform. All computation is float32; the input may be any dtype.
//
// Memory: besides the input and the output, when depth does not grow and
// there are enough output slices to share among the cores, work goes slice
// by slice and only per-worker plane buffers are allocated; otherwise the
// three passes run over the whole volume, most-shrinking axis first, so
// when downsampling their intermediates stay well under one input-sized
// float32 buffer. Non-float32 outputs add one output-sized float32
// buffer. Both cores are used; there are no per-voxel allocations.
//
// The affine and spacing are updated for the pixel-centre convention: along
// an axis scaled by s = n_in/n_out, new index i' sits at old index
// (i'+0.5)·s−0.5, so the affine's column is multiplied by s and the origin
// moves by column·(s−1)/2. Padding shifts the origin by −pad columns.
func Resize(im *shards.Image, o ResizeOptions) error {
	if err := checkVoxels(im); err != nil {
		return err
	}
	mode, err := ParseInterp(string(o.Mode))
	if err != nil {
		return err
	}
	out := o.OutDType
	if out == "" {
		out = shards.Float32
	}
	if out.Size() == 0 {
		return fmt.Errorf("resize: unknown output dtype %q", out)
	}
	td, th, tw := o.Depth, o.Height, o.Width
	if td <= 0 || im.Depth == 1 {
		td = im.Depth
	}
	if th <= 0 {
		th = im.Height
	}
	if tw <= 0 {
		tw = im.Width
	}
	// Inner size before padding.
	ih, iw := th, tw
	if o.KeepAspect {
		ih, iw = fitAspect(im.Height, im.Width, im.Spacing[1], im.Spacing[0], th, tw)
	}
	src := [3]int{im.Depth, im.Height, im.Width}
	dst := [3]int{td, ih, iw}
	vals, nonfinite, err := resample(im, dst, mode, o.NonFinite)
	if err != nil {
		return err
	}
	orig := src
	scaleGeometry(im, src, dst)
	im.Depth, im.Height, im.Width = td, ih, iw
	params := map[string]any{
		"mode": string(mode), "depth": td, "height": th, "width": tw,
		"from":       []int{orig[0], orig[1], orig[2]},
		"convention": "pixel-centre",
		"dtype":      string(out),
	}
	if nonfinite > 0 {
		params["nonfinite"] = nonfinite
		params["nonfinite_value"] = o.NonFinite
		setMeta(im, "nonfinite", fmt.Sprint(nonfinite))
	}
	if o.KeepAspect {
		params["keep_aspect"] = true
		padv := o.PadValue
		if o.PadMin {
			padv = minFloat32(vals)
			params["pad"] = "min"
		} else {
			params["pad"] = padv
		}
		if ih != th || iw != tw {
			vals = padPlane(vals, im.Channels*td, ih, iw, th, tw, float32(padv))
			top, left := (th-ih)/2, (tw-iw)/2
			translateAffine(im, -float64(left), -float64(top), 0)
			im.Height, im.Width = th, tw
		}
	}
	if out == shards.Float32 {
		im.Voxels = shards.Bytes(vals)
	} else if im.Voxels, err = fromFloat32(vals, out); err != nil {
		return err
	}
	im.DType = out
	return AddTransform(im, "resize", params)
}

// Bounds on ResampleSpacing's output, whose size follows voxel spacings
// read from untrusted headers: 32768 samples along an axis (the resize
// stage's own limit) and 2^30 voxels (4 GiB of float32) in all.
const (
	MaxResampleAxis   = 32768
	MaxResampleVoxels = 1 << 30
)

// ResampleSpacing resizes im so that its voxels measure target mm along
// (columns, rows, slices), like MONAI's Spacing: each axis becomes
// round(n·spacing/target) samples (at least 1). Axes with an unknown (0)
// spacing or a 0 target are left alone. It records "resample_spacing".
func ResampleSpacing(im *shards.Image, target [3]float64, mode Interp, nonFinite float32) error {
	if err := checkVoxels(im); err != nil {
		return err
	}
	mode, err := ParseInterp(string(mode))
	if err != nil {
		return err
	}
	n := [3]int{im.Width, im.Height, im.Depth}
	total := 1.0
	for a := 0; a < 3; a++ {
		f := float64(n[a])
		if im.Spacing[a] > 0 && target[a] > 0 && !(a == 2 && im.Depth == 1) {
			f = math.Max(1, math.Round(f*im.Spacing[a]/target[a]))
		}
		// Spacings come from untrusted headers (pixdim 1e9, Inf): check in
		// float64 before converting or allocating.
		if !(f <= MaxResampleAxis) {
			return fmt.Errorf("resampling %v mm voxels to %v mm gives %g voxels along axis %d (limit %d)", im.Spacing, target, f, a, MaxResampleAxis)
		}
		n[a] = int(f)
		total *= f
	}
	if total > MaxResampleVoxels {
		return fmt.Errorf("resampling %v mm voxels to %v mm gives %g voxels (limit %d)", im.Spacing, target, total, MaxResampleVoxels)
	}
	src := [3]int{im.Depth, im.Height, im.Width}
	dst := [3]int{n[2], n[1], n[0]}
	from := im.Spacing
	vals, nonfinite, err := resample(im, dst, mode, nonFinite)
	if err != nil {
		return err
	}
	scaleGeometry(im, src, dst)
	im.Depth, im.Height, im.Width = dst[0], dst[1], dst[2]
	im.Voxels, im.DType = shards.Bytes(vals), shards.Float32
	params := map[string]any{"mode": string(mode), "target_mm": target[:], "from_mm": from[:],
		"from": src[:], "convention": "pixel-centre", "dtype": "float32"}
	if nonfinite > 0 {
		params["nonfinite"] = nonfinite
		setMeta(im, "nonfinite", fmt.Sprint(nonfinite))
	}
	return AddTransform(im, "resample_spacing", params)
}

// fitAspect returns the largest (h, w) inside (th, tw) with the physical
// aspect of an h0×w0 image whose pixels measure sy×sx (unknown = 1).
func fitAspect(h0, w0 int, sy, sx float64, th, tw int) (int, int) {
	if sy <= 0 || sx <= 0 {
		sy, sx = 1, 1
	}
	eh, ew := float64(h0)*sy, float64(w0)*sx
	scale := math.Min(float64(th)/eh, float64(tw)/ew)
	h := min(th, max(1, int(math.Round(eh*scale))))
	w := min(tw, max(1, int(math.Round(ew*scale))))
	return h, w
}

// resamplePath lets tests force one of the two implementations.
var resamplePath = pathAuto

const (
	pathAuto = iota
	pathGeneric
	pathFused
)

// resample runs the separable passes and returns C·D'·H'·W' float32 values.
func resample(im *shards.Image, dst [3]int, mode Interp, repl float32) ([]float32, int, error) {
	src := [3]int{im.Depth, im.Height, im.Width}
	var ks [3]*axisKernel
	for a := 0; a < 3; a++ {
		ks[a] = newAxisKernel(src[a], dst[a], mode)
	}
	// Float inputs with NaN/Inf, and float16, are converted up front (the
	// passes read native types directly otherwise).
	var pre []float32
	nonfinite := 0
	switch im.DType {
	case shards.Float16, shards.Float32, shards.Float64:
		if im.DType == shards.Float16 || countNonFinite(im.Voxels, im.DType) > 0 {
			pre = make([]float32, im.NumVoxels())
			var err error
			if nonfinite, err = toFloat32(pre, im.Voxels, im.DType, repl); err != nil {
				return nil, 0, err
			}
		}
	}
	// Order: most-shrinking axis first keeps intermediates small.
	order := []int{}
	for a := 0; a < 3; a++ {
		if !ks[a].identity() {
			order = append(order, a)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		ri := float64(dst[order[i]]) / float64(src[order[i]])
		rj := float64(dst[order[j]]) / float64(src[order[j]])
		return ri < rj
	})
	shape := [4]int{im.Channels, src[0], src[1], src[2]}
	if len(order) == 0 {
		out := make([]float32, im.NumVoxels())
		if pre != nil {
			copy(out, pre)
		} else if _, err := toFloat32(out, im.Voxels, im.DType, repl); err != nil {
			return nil, 0, err
		}
		return out, nonfinite, nil
	}
	// Slice-by-slice path: enough output slices for every core, depth not
	// growing, and the in-plane size changing (else one pass is all).
	useFused := ks[0].out <= ks[0].in && !(ks[1].identity() && ks[2].identity())
	switch resamplePath {
	case pathAuto:
		useFused = useFused && im.Channels*dst[0] >= 2*runtime.GOMAXPROCS(0)
	case pathGeneric:
		useFused = false
	}
	if useFused {
		out := make([]float32, im.Channels*dst[0]*dst[1]*dst[2])
		if pre != nil {
			fused(out, pre, im.Channels, src[0], src[1], src[2], ks[0], ks[1], ks[2])
		} else if err := fusedFrom(out, im.Voxels, im.DType, im.Channels, src[0], src[1], src[2], ks[0], ks[1], ks[2]); err != nil {
			return nil, 0, err
		}
		return out, nonfinite, nil
	}
	var cur []float32 // float32 source of the next pass (nil: read im.Voxels)
	if pre != nil {
		cur = pre
	}
	for _, a := range order {
		outer, inner := 1, 1
		for i := 0; i <= a; i++ {
			outer *= shape[i]
		}
		for i := a + 2; i < 4; i++ {
			inner *= shape[i]
		}
		n := outer * dst[a] * inner
		next := make([]float32, n)
		k := ks[a]
		if cur != nil {
			pass(next, cur, outer, inner, k)
		} else if err := passFrom(next, im.Voxels, im.DType, outer, inner, k); err != nil {
			return nil, 0, err
		}
		// INVARIANT: at most two pass buffers are live: the one just
		// written and the one it was read from, which is released here.
		cur = next
		shape[a+1] = dst[a]
	}
	return cur, nonfinite, nil
}

func passFrom(dst []float32, b []byte, dt shards.DType, outer, inner int, k *axisKernel) error {
	switch dt {
	case shards.Uint8:
		pass(dst, shards.View[uint8](b), outer, inner, k)
	case shards.Int8:
		pass(dst, shards.View[int8](b), outer, inner, k)
	case shards.Uint16:
		pass(dst, shards.View[uint16](b), outer, inner, k)
	case shards.Int16:
		pass(dst, shards.View[int16](b), outer, inner, k)
	case shards.Uint32:
		pass(dst, shards.View[uint32](b), outer, inner, k)
	case shards.Int32:
		pass(dst, shards.View[int32](b), outer, inner, k)
	case shards.Uint64:
		pass(dst, shards.View[uint64](b), outer, inner, k)
	case shards.Int64:
		pass(dst, shards.View[int64](b), outer, inner, k)
	case shards.Float32:
		pass(dst, shards.View[float32](b), outer, inner, k)
	case shards.Float64:
		pass(dst, shards.View[float64](b), outer, inner, k)
	default:
		return fmt.Errorf("resize: unsupported dtype %q", dt)
	}
	return nil
}

// pass resamples one axis: src is outer × k.in × inner, dst is
// outer × k.out × inner. With inner == 1 (columns) each output is a dot
// product along a row; otherwise each output row/plane is a weighted sum
// of whole input rows/planes (contiguous, cache-friendly). Work is split
// over the available cores.
func pass[T number](dst []float32, src []T, outer, inner int, k *axisKernel) {
	if inner == 1 {
		parallel(outer, func(lo, hi int) { passRange(dst, src, outer, inner, k, lo, hi) })
		return
	}
	parallel(outer*k.out, func(lo, hi int) { passRange(dst, src, outer, inner, k, lo, hi) })
}

// passRange is pass, serially, over rows [lo,hi) (inner == 1) or output
// rows/planes [lo,hi) of outer×k.out (inner > 1).
func passRange[T number](dst []float32, src []T, outer, inner int, k *axisKernel, lo, hi int) {
	L, Lo := k.in, k.out
	if inner == 1 {
		for r := lo; r < hi; r++ {
			s := src[r*L : (r+1)*L]
			d := dst[r*Lo : (r+1)*Lo]
			for o := range d {
				st, w := k.taps(o)
				ss := s[st : st+len(w)]
				var acc float32
				for t, wt := range w {
					acc += wt * float32(ss[t])
				}
				d[o] = acc
			}
		}
		return
	}
	for idx := lo; idx < hi; idx++ {
		ou, o := idx/Lo, idx%Lo
		st, w := k.taps(o)
		combine(dst[idx*inner:(idx+1)*inner], src[(ou*L+st)*inner:], inner, w)
	}
}

// combine writes d = Σ_t w[t]·src[t·inner : (t+1)·inner], len(d) = inner.
func combine[T number](d []float32, src []T, inner int, w []float32) {
	s0 := src[:inner]
	switch len(w) {
	case 1:
		w0 := w[0]
		for i := range d {
			d[i] = w0 * float32(s0[i])
		}
	case 2:
		s1 := src[inner : 2*inner]
		w0, w1 := w[0], w[1]
		s1 = s1[:len(d)]
		s0 = s0[:len(d)]
		for i := range d {
			d[i] = w0*float32(s0[i]) + w1*float32(s1[i])
		}
	default:
		w0 := w[0]
		for i := range d {
			d[i] = w0 * float32(s0[i])
		}
		for t := 1; t < len(w); t++ {
			s := src[t*inner : (t+1)*inner]
			s = s[:len(d)]
			wt := w[t]
			for i := range d {
				d[i] += wt * float32(s[i])
			}
		}
	}
}

// fused resamples slice by slice when the volume has enough output slices
// to keep every core busy and depth does not grow: each worker combines
// the input slices an output slice needs into one plane, then runs the two
// in-plane passes through a small buffer and writes the output slice. No
// volume-sized intermediate exists, and the working set per worker is a
// few planes (cache-resident for typical sizes).
func fused[T number](out []float32, src []T, C, D, H, W int, kD, kH, kW *axisKernel) {
	Do, Ho, Wo := kD.out, kH.out, kW.out
	// In-plane order: the cheaper of rows-first and columns-first.
	costHW := Ho*W*(len(kH.w)/max(Ho, 1)) + Ho*Wo*(len(kW.w)/max(Wo, 1))
	costWH := H*Wo*(len(kW.w)/max(Wo, 1)) + Ho*Wo*(len(kH.w)/max(Ho, 1))
	rowsFirst := costHW <= costWH
	dIdentity := kD.identity()
	parallel(C*Do, func(lo, hi int) {
		var plane []float32
		if !dIdentity {
			plane = make([]float32, H*W)
		}
		var mid []float32
		if rowsFirst {
			mid = make([]float32, Ho*W)
		} else {
			mid = make([]float32, H*Wo)
		}
		for p := lo; p < hi; p++ {
			c, d := p/Do, p%Do
			dst := out[p*Ho*Wo : (p+1)*Ho*Wo]
			if dIdentity {
				inPlane(dst, mid, src[(c*D+d)*H*W:(c*D+d+1)*H*W], H, W, kH, kW, rowsFirst)
				continue
			}
			// plane = Σ w_t · slice(st+t), read straight from the input type
			st, w := kD.taps(d)
			combine(plane, src[(c*D+st)*H*W:], H*W, w)
			inPlane(dst, mid, plane, H, W, kH, kW, rowsFirst)
		}
	})
}

func inPlane[T number](dst, mid []float32, plane []T, H, W int, kH, kW *axisKernel, rowsFirst bool) {
	if rowsFirst {
		passAll(mid, plane, 1, W, kH)    // H×W → Ho×W
		passAll(dst, mid, kH.out, 1, kW) // Ho×W → Ho×Wo
		return
	}
	passAll(mid, plane, H, 1, kW)    // H×W → H×Wo
	passAll(dst, mid, 1, kW.out, kH) // H×Wo → Ho×Wo
}

// passAll is passRange over the whole of one pass, serially. passRange's
// range counts rows when inner == 1 and output rows/planes otherwise; a
// row pass over a one-column plane (W == 1) has inner == 1 too, so the
// range must follow inner, not the axis.
func passAll[T number](dst []float32, src []T, outer, inner int, k *axisKernel) {
	if inner == 1 {
		passRange(dst, src, outer, inner, k, 0, outer)
		return
	}
	passRange(dst, src, outer, inner, k, 0, outer*k.out)
}

func fusedFrom(out []float32, b []byte, dt shards.DType, C, D, H, W int, kD, kH, kW *axisKernel) error {
	switch dt {
	case shards.Uint8:
		fused(out, shards.View[uint8](b), C, D, H, W, kD, kH, kW)
	case shards.Int8:
		fused(out, shards.View[int8](b), C, D, H, W, kD, kH, kW)
	case shards.Uint16:
		fused(out, shards.View[uint16](b), C, D, H, W, kD, kH, kW)
	case shards.Int16:
		fused(out, shards.View[int16](b), C, D, H, W, kD, kH, kW)
	case shards.Uint32:
		fused(out, shards.View[uint32](b), C, D, H, W, kD, kH, kW)
	case shards.Int32:
		fused(out, shards.View[int32](b), C, D, H, W, kD, kH, kW)
	case shards.Uint64:
		fused(out, shards.View[uint64](b), C, D, H, W, kD, kH, kW)
	case shards.Int64:
		fused(out, shards.View[int64](b), C, D, H, W, kD, kH, kW)
	case shards.Float32:
		fused(out, shards.View[float32](b), C, D, H, W, kD, kH, kW)
	case shards.Float64:
		fused(out, shards.View[float64](b), C, D, H, W, kD, kH, kW)
	default:
		return fmt.Errorf("resize: unsupported dtype %q", dt)
	}
	return nil
}

// scaleGeometry updates affine and spacing for src → dst sizes
// (depth, height, width) under the pixel-centre convention.
func scaleGeometry(im *shards.Image, src, dst [3]int) {
	// affine column 0 ↔ width (i), 1 ↔ height (j), 2 ↔ depth (k)
	for col, ax := range [3]int{2, 1, 0} {
		if src[ax] == dst[ax] {
			continue
		}
		s := float64(src[ax]) / float64(dst[ax])
		shift := (s - 1) / 2
		for r := 0; r < 3; r++ {
			c := im.Affine[r*4+col]
			im.Affine[r*4+3] += c * shift
			im.Affine[r*4+col] = c * s
		}
		im.Spacing[col] *= s
	}
}

// translateAffine moves the origin so that old index (i,j,k) becomes
// (i−di, j−dj, k−dk), i.e. new index i' = i + (−di): new voxel 0 sits at
// old index di.
func translateAffine(im *shards.Image, di, dj, dk float64) {
	for r := 0; r < 3; r++ {
		im.Affine[r*4+3] += im.Affine[r*4+0]*di + im.Affine[r*4+1]*dj + im.Affine[r*4+2]*dk
	}
}

func padPlane(v []float32, planes, h, w, th, tw int, pad float32) []float32 {
	out := make([]float32, planes*th*tw)
	for i := range out {
		out[i] = pad
	}
	top, left := (th-h)/2, (tw-w)/2
	for p := 0; p < planes; p++ {
		for y := 0; y < h; y++ {
			copy(out[(p*th+top+y)*tw+left:], v[(p*h+y)*w:(p*h+y+1)*w])
		}
	}
	return out
}

func minFloat32(v []float32) float64 {
	if len(v) == 0 {
		return 0
	}
	m := v[0]
	for _, x := range v {
		if x < m {
			m = x
		}
	}
	return float64(m)
}

// AddTransform appends a transform with params as canonical JSON (sorted
// keys, as encoding/json writes maps).
func AddTransform(im *shards.Image, name string, params map[string]any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: encoding parameters: %w", name, err)
	}
	im.Transforms = append(im.Transforms, shards.Transform{Name: name, Params: string(b)})
	return nil
}

func setMeta(im *shards.Image, k, v string) {
	if im.Meta == nil {
		im.Meta = map[string]string{}
	}
	im.Meta[k] = v
}
