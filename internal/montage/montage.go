// Package montage renders a volume as one picture: a grid of evenly spaced
// slices, windowed for display and labelled with their slice index, the
// "contact sheet" radiologists and data engineers glance at to check that a
// volume is what it claims to be (right anatomy, right way up, sane
// contrast) before it goes into a corpus.
//
// # Orientation
//
// Volumes are taken to be canonical RAS+ as every medmd reader leaves them
// (column i → patient Right, row j → Anterior, slice k → Superior). Tiles
// follow the radiological convention of PACS viewers:
//
//   - axial (slices along k): anterior at the top, the patient's right on the
//     image's left (as if looking up from the feet);
//   - coronal (slices along j): superior at the top, the patient's right on
//     the image's left (as if facing the patient);
//   - sagittal (slices along i): superior at the top, anterior on the left.
//
// Options.Neurological puts the patient's right on the image's right in the
// axial and coronal planes instead (FSL/SPM's convention). A 2D image
// (Depth 1) whose affine is the identity has no known geometry (figures,
// screenshots): it is shown as stored, row 0 at the top.
//
// Pixels are made square using Image.Spacing, so anisotropic volumes (thick
// slices) are not squashed in the coronal and sagittal planes.
//
// # Windowing
//
// Grey values map linearly from [lo, hi] to 0…255 and clip outside. With
// Options.Width > 0, lo = Level − Width/2 and hi = Level + Width/2 (the
// usual window level/width, e.g. 40/400 for CT soft tissue). Otherwise
// uint8 data is shown as is, and any other type uses the 0.5 and 99.5
// percentiles of the whole volume (AutoWindow), which ignores the few
// extreme voxels that would otherwise wash out the picture. MONOCHROME1
// images (Meta "invert_for_display" = "true") are inverted.
//
// # Memory
//
// Render reads the voxels in place (they may alias a mapped shard) and
// allocates only the output picture, one float slice at a time, and for
// the percentiles at most a 64 K-bin histogram or a strided sample of
// maxSample values. Output larger than Options.MaxPixels is rejected
// before anything is allocated.
package montage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"slices"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/medmd/medmd/shards"
)

// Planes Options.Plane accepts.
const (
	Axial    = "axial"
	Coronal  = "coronal"
	Sagittal = "sagittal"
)

// Defaults and limits.
const (
	DefaultTiles     = 16
	MaxTiles         = 1024
	DefaultMaxPixels = 1 << 25 // 32 Mpx: a 5792² picture, 128 MiB as RGBA
	DefaultLowPct    = 0.5
	DefaultHighPct   = 99.5
	// minTile and maxTile bound the longer side of an automatically sized
	// tile: small volumes are enlarged so labels and anatomy are legible,
	// large ones shrunk so 16 tiles of a 1024² scan stay a few megapixels.
	minTile = 128
	maxTile = 512
	gap     = 2 // black pixels between tiles
	// maxSample bounds the values sorted for percentiles of wide types.
	maxSample = 1 << 20
)

// ErrTooLarge is returned (wrapped) when the image or the picture it would
// make exceeds a limit.
var ErrTooLarge = errors.New("montage: too large")

// Options control Render. The zero value renders up to 16 axial tiles,
// radiological convention, percentile window, labelled.
type Options struct {
	// Plane is "axial" (default), "coronal" or "sagittal".
	Plane string
	// Tiles is the most slices shown (default 16); a volume with fewer
	// slices shows each once.
	Tiles int
	// Indices, when not empty, are the slices shown (along the plane's
	// normal, 0-based), in this order, instead of Tiles evenly spaced
	// ones: a viewer's slice slider renders one chosen slice at a time.
	// An index outside the volume is an error.
	Indices []int
	// Columns of the grid; 0 picks ceil(sqrt(tiles)).
	Columns int
	// Level and Width set a fixed window when Width > 0.
	Level, Width float64
	// LowPct and HighPct are the percentiles of the automatic window
	// (defaults 0.5 and 99.5); both 0 means the defaults.
	LowPct, HighPct float64
	// Neurological shows the patient's right on the image's right.
	Neurological bool
	// Native draws one pixel per voxel: no square-pixel correction, no
	// enlarging or shrinking. Otherwise TileSize (or 128…512 automatic) is
	// the longer side of a tile.
	Native   bool
	TileSize int
	// NoLabels leaves out the slice numbers.
	NoLabels bool
	// MaxPixels bounds the output picture (default DefaultMaxPixels).
	MaxPixels int
}

// Slices returns the indices along the plane's slice axis that a montage
// of n slices with at most tiles tiles shows: all of them when n ≤ tiles,
// else the middle slice of each of tiles equal runs, so the first and last
// (often empty) slices are not wasted on tiles.
func Slices(n, tiles int) []int {
	if tiles <= 0 {
		tiles = DefaultTiles
	}
	if n <= tiles {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, tiles)
	for t := range out {
		out[t] = int((float64(t) + 0.5) * float64(n) / float64(tiles))
	}
	return out
}

// geometry describes how one plane's tiles sample the volume.
type geometry struct {
	n          int // slices along the plane's normal
	cols, rows int // natural tile size in voxels
	spc, spr   float64
	// voxel flat index (within one channel) of display pixel (x, y) in
	// slice s: base(s) + x*dx + y*dy, starting from origin offsets.
	sliceStride, x0, dx, y0, dy int
}

func planeGeometry(im *shards.Image, plane string, neuro bool) (geometry, error) {
	W, H, D := im.Width, im.Height, im.Depth
	sp := im.Spacing
	for a := range sp {
		if !(sp[a] > 0) || math.IsInf(sp[a], 0) {
			sp[a] = 1
		}
	}
	// i runs right to left on screen (radiological) unless neurological.
	ix0, idx := W-1, -1
	if neuro {
		ix0, idx = 0, 1
	}
	if D == 1 && (im.Affine == shards.IdentityAffine() || im.Affine == [16]float64{}) {
		// No geometry: a picture stored top row first.
		if plane != Axial {
			return geometry{}, fmt.Errorf("montage: %s plane of a 2D image without geometry", plane)
		}
		return geometry{n: 1, cols: W, rows: H, spc: sp[0], spr: sp[1],
			sliceStride: W * H, x0: 0, dx: 1, y0: 0, dy: W}, nil
	}
	switch plane {
	case Axial:
		// x → i (flipped), y → j from anterior down.
		return geometry{n: D, cols: W, rows: H, spc: sp[0], spr: sp[1],
			sliceStride: W * H, x0: ix0, dx: idx, y0: (H - 1) * W, dy: -W}, nil
	case Coronal:
		// slice j; x → i, y → k from superior down.
		return geometry{n: H, cols: W, rows: D, spc: sp[0], spr: sp[2],
			sliceStride: W, x0: ix0, dx: idx, y0: (D - 1) * W * H, dy: -W * H}, nil
	case Sagittal:
		// slice i; x → j from anterior (left) to posterior, y → k down.
		return geometry{n: W, cols: H, rows: D, spc: sp[1], spr: sp[2],
			sliceStride: 1, x0: (H - 1) * W, dx: -W, y0: (D - 1) * W * H, dy: -W * H}, nil
	}
	return geometry{}, fmt.Errorf("montage: unknown plane %q (want axial, coronal or sagittal)", plane)
}

// check validates the image's shape against its voxel buffer.
func check(im *shards.Image) error {
	if im == nil {
		return errors.New("montage: nil image")
	}
	sz := im.DType.Size()
	if sz == 0 {
		return fmt.Errorf("montage: unknown dtype %q", im.DType)
	}
	if im.Channels <= 0 || im.Depth <= 0 || im.Height <= 0 || im.Width <= 0 {
		return fmt.Errorf("montage: bad shape C×D×H×W = %d×%d×%d×%d", im.Channels, im.Depth, im.Height, im.Width)
	}
	if im.Channels != 1 && im.Channels != 3 {
		return fmt.Errorf("montage: %d channels (want 1 grey or 3 RGB)", im.Channels)
	}
	n := int64(sz)
	for _, d := range []int{im.Channels, im.Depth, im.Height, im.Width} {
		if n > math.MaxInt64/int64(d) {
			return fmt.Errorf("%w: shape %d×%d×%d×%d overflows", ErrTooLarge, im.Channels, im.Depth, im.Height, im.Width)
		}
		n *= int64(d)
	}
	if n != int64(len(im.Voxels)) {
		return fmt.Errorf("montage: %d voxel bytes for shape %d×%d×%d×%d of %s (want %d)",
			len(im.Voxels), im.Channels, im.Depth, im.Height, im.Width, im.DType, n)
	}
	return nil
}

// layout is the picture's plan.
type layout struct {
	g          geometry
	idx        []int
	tw, th     int // tile size in pixels
	cols, rows int // grid
	w, h       int // picture
}

func plan(im *shards.Image, o Options) (layout, error) {
	plane := o.Plane
	if plane == "" {
		plane = Axial
	}
	g, err := planeGeometry(im, plane, o.Neurological)
	if err != nil {
		return layout{}, err
	}
	tiles := o.Tiles
	if tiles == 0 {
		tiles = DefaultTiles
	}
	if tiles < 0 || tiles > MaxTiles {
		return layout{}, fmt.Errorf("montage: %d tiles (want 1…%d)", tiles, MaxTiles)
	}
	L := layout{g: g, idx: Slices(g.n, tiles)}
	if len(o.Indices) > 0 {
		if len(o.Indices) > MaxTiles {
			return layout{}, fmt.Errorf("montage: %d slices (want 1…%d)", len(o.Indices), MaxTiles)
		}
		for _, s := range o.Indices {
			if s < 0 || s >= g.n {
				return layout{}, fmt.Errorf("montage: %s slice %d out of range [0,%d)", plane, s, g.n)
			}
		}
		L.idx = o.Indices
	}
	L.tw, L.th = g.cols, g.rows
	if !o.Native {
		// Square pixels at the finer of the two spacings.
		fine := math.Min(g.spc, g.spr)
		w := float64(g.cols) * g.spc / fine
		h := float64(g.rows) * g.spr / fine
		long := math.Max(w, h)
		target := float64(o.TileSize)
		if o.TileSize <= 0 {
			target = math.Min(math.Max(long, minTile), maxTile)
		}
		s := target / long
		L.tw = max(1, int(math.Round(w*s)))
		L.th = max(1, int(math.Round(h*s)))
	}
	n := len(L.idx)
	L.cols = o.Columns
	if L.cols <= 0 {
		L.cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	L.cols = min(L.cols, n)
	L.rows = (n + L.cols - 1) / L.cols
	maxPx := o.MaxPixels
	if maxPx <= 0 {
		maxPx = DefaultMaxPixels
	}
	// Sizes in float first: a huge TileSize must not overflow int.
	fw := float64(L.cols)*float64(L.tw) + float64(L.cols-1)*gap
	fh := float64(L.rows)*float64(L.th) + float64(L.rows-1)*gap
	if fw*fh > float64(maxPx) {
		return layout{}, fmt.Errorf("%w: %d tiles of %d×%d make a %.0f×%.0f picture (limit %d pixels)",
			ErrTooLarge, n, L.tw, L.th, fw, fh, maxPx)
	}
	L.w, L.h = int(fw), int(fh)
	return L, nil
}

// Size returns the width and height of the picture Render would make.
func Size(im *shards.Image, o Options) (w, h int, err error) {
	if err := check(im); err != nil {
		return 0, 0, err
	}
	L, err := plan(im, o)
	return L.w, L.h, err
}

// Render draws the montage of im: an *image.Gray for one channel, an
// *image.RGBA for three. It does not keep or modify im.Voxels, which may
// alias a mapped shard. See the package comment for orientation and
// windowing. Errors name the reason; sizes over the limits wrap
// ErrTooLarge.
func Render(im *shards.Image, o Options) (image.Image, error) {
	if err := check(im); err != nil {
		return nil, err
	}
	L, err := plan(im, o)
	if err != nil {
		return nil, err
	}
	lo, hi, ident, err := window(im, o)
	if err != nil {
		return nil, err
	}
	invert := im.Meta["invert_for_display"] == "true"
	get := loader(im.DType)
	vol := im.Depth * im.Height * im.Width
	g := L.g
	nat := make([]float64, g.cols*g.rows)
	tile := make([]uint8, L.tw*L.th)
	var dst draw.Image
	var gray *image.Gray
	var rgba *image.RGBA
	rect := image.Rect(0, 0, L.w, L.h)
	if im.Channels == 1 {
		gray = image.NewGray(rect)
		dst = gray
	} else {
		rgba = image.NewRGBA(rect)
		for i := 3; i < len(rgba.Pix); i += 4 {
			rgba.Pix[i] = 0xff
		}
		dst = rgba
	}
	for t, s := range L.idx {
		ox := (t % L.cols) * (L.tw + gap)
		oy := (t / L.cols) * (L.th + gap)
		for c := 0; c < im.Channels; c++ {
			base := c*vol + s*g.sliceStride
			for y := 0; y < g.rows; y++ {
				row := base + g.y0 + y*g.dy + g.x0
				for x := 0; x < g.cols; x++ {
					nat[y*g.cols+x] = get(im.Voxels, row+x*g.dx)
				}
			}
			if L.tw == g.cols && L.th == g.rows {
				for i, v := range nat {
					tile[i] = toByte(v, lo, hi, ident, invert)
				}
			} else {
				resample(tile, L.tw, L.th, nat, g.cols, g.rows, lo, hi, ident, invert)
			}
			for y := 0; y < L.th; y++ {
				src := tile[y*L.tw : (y+1)*L.tw]
				if gray != nil {
					copy(gray.Pix[(oy+y)*gray.Stride+ox:], src)
					continue
				}
				p := rgba.Pix[(oy+y)*rgba.Stride+ox*4:]
				for x, v := range src {
					p[x*4+c] = v
				}
			}
		}
		if !o.NoLabels {
			label(dst, ox, oy, L.tw, strconv.Itoa(s))
		}
	}
	return dst, nil
}

// toByte windows one value; NaN is black.
func toByte(v, lo, hi float64, ident, invert bool) uint8 {
	var b uint8
	switch {
	case ident:
		b = uint8(v)
	case v != v || v <= lo:
		b = 0
	case v >= hi:
		b = 255
	default:
		b = uint8(math.Round((v - lo) / (hi - lo) * 255))
	}
	if invert {
		b = 255 - b
	}
	return b
}

// resample fills a tw×th tile from the sw×sh float slice by bilinear
// interpolation (pixel centres aligned), then windows it.
func resample(dst []uint8, tw, th int, src []float64, sw, sh int, lo, hi float64, ident, invert bool) {
	fx := float64(sw) / float64(tw)
	fy := float64(sh) / float64(th)
	for y := 0; y < th; y++ {
		sy := math.Max(0, math.Min(float64(sh-1), (float64(y)+0.5)*fy-0.5))
		y0 := int(sy)
		y1 := min(y0+1, sh-1)
		wy := sy - float64(y0)
		for x := 0; x < tw; x++ {
			sx := math.Max(0, math.Min(float64(sw-1), (float64(x)+0.5)*fx-0.5))
			x0 := int(sx)
			x1 := min(x0+1, sw-1)
			wx := sx - float64(x0)
			a := src[y0*sw+x0]*(1-wx) + src[y0*sw+x1]*wx
			b := src[y1*sw+x0]*(1-wx) + src[y1*sw+x1]*wx
			v := a*(1-wy) + b*wy
			if ident {
				v = math.Round(v)
			}
			dst[y*tw+x] = toByte(v, lo, hi, ident, invert)
		}
	}
}

// label writes text at the tile's top-left corner, white on a black
// shadow so it reads on any background; nothing if the tile is too narrow.
func label(dst draw.Image, ox, oy, tw int, text string) {
	face := basicfont.Face7x13
	if tw < len(text)*face.Advance+2 {
		return
	}
	d := font.Drawer{Dst: dst, Face: face}
	d.Src = image.NewUniform(color.Black)
	for _, off := range [][2]int{{1, 0}, {0, 1}, {1, 1}} {
		d.Dot = fixed.P(ox+2+off[0], oy+face.Ascent+1+off[1])
		d.DrawString(text)
	}
	d.Src = image.White
	d.Dot = fixed.P(ox+2, oy+face.Ascent+1)
	d.DrawString(text)
}

// window returns the display window; ident means uint8 shown as is.
func window(im *shards.Image, o Options) (lo, hi float64, ident bool, err error) {
	if o.Width > 0 {
		return o.Level - o.Width/2, o.Level + o.Width/2, false, nil
	}
	if o.Width < 0 || math.IsNaN(o.Width) {
		return 0, 0, false, fmt.Errorf("montage: window width %g (want > 0)", o.Width)
	}
	if im.DType == shards.Uint8 {
		return 0, 255, true, nil
	}
	lo, hi, err = AutoWindow(im, o.LowPct, o.HighPct)
	return lo, hi, false, err
}

// AutoWindow returns the lowPct and highPct percentiles (0…100; both 0
// means 0.5 and 99.5) of im's finite voxel values over all channels and
// slices, interpolated between ranks like numpy.percentile's default.
// 8- and 16-bit integer types are counted exactly in a histogram; wider
// types use every value when there are at most maxSample of them, else an
// evenly strided sample of maxSample. If the window would be empty
// (constant image) hi is lo+1.
func AutoWindow(im *shards.Image, lowPct, highPct float64) (lo, hi float64, err error) {
	if err := check(im); err != nil {
		return 0, 0, err
	}
	if lowPct == 0 && highPct == 0 {
		lowPct, highPct = DefaultLowPct, DefaultHighPct
	}
	if !(0 <= lowPct && lowPct < highPct && highPct <= 100) {
		return 0, 0, fmt.Errorf("montage: percentiles %g…%g (want 0 ≤ low < high ≤ 100)", lowPct, highPct)
	}
	var q func(r int) float64
	var count int
	switch im.DType {
	case shards.Uint8, shards.Int8, shards.Uint16, shards.Int16:
		q, count = histogram(im)
	default:
		vals := sample(im)
		slices.Sort(vals)
		q, count = func(r int) float64 { return vals[r] }, len(vals)
	}
	if count == 0 {
		return 0, 1, nil // all NaN
	}
	pct := func(p float64) float64 {
		pos := p / 100 * float64(count-1)
		r := int(math.Floor(pos))
		if r >= count-1 {
			return q(count - 1)
		}
		a, b := q(r), q(r+1)
		return a + (pos-float64(r))*(b-a)
	}
	lo, hi = pct(lowPct), pct(highPct)
	if !(hi > lo) {
		hi = lo + 1
	}
	return lo, hi, nil
}

// histogram counts 8/16-bit values exactly and returns a rank → value
// lookup.
func histogram(im *shards.Image) (func(int) float64, int) {
	var counts []int
	var off int
	get := loader(im.DType)
	switch im.DType {
	case shards.Uint8, shards.Int8:
		counts, off = make([]int, 256), 128
		if im.DType == shards.Uint8 {
			off = 0
		}
	default:
		counts, off = make([]int, 65536), 32768
		if im.DType == shards.Uint16 {
			off = 0
		}
	}
	n := len(im.Voxels) / im.DType.Size()
	v := im.Voxels
	switch im.DType {
	case shards.Uint8:
		for _, b := range v {
			counts[b]++
		}
	case shards.Int16:
		// The hot case (CT, MR): no per-voxel call.
		for i := 0; i+1 < len(v); i += 2 {
			counts[uint16(int16(uint16(v[i])|uint16(v[i+1])<<8))^0x8000]++
		}
	default:
		for i := 0; i < n; i++ {
			counts[int(get(v, i))+off]++
		}
	}
	cum := make([]int, len(counts))
	s := 0
	for i, c := range counts {
		s += c
		cum[i] = s
	}
	return func(r int) float64 {
		b, _ := slices.BinarySearch(cum, r+1) // first bin whose cumulative count exceeds r
		return float64(b - off)
	}, n
}

// sample returns the finite values of im, or an evenly strided sample of
// maxSample of them.
func sample(im *shards.Image) []float64 {
	n := len(im.Voxels) / im.DType.Size()
	step := 1
	if n > maxSample {
		step = (n + maxSample - 1) / maxSample
	}
	get := loader(im.DType)
	out := make([]float64, 0, min(n, maxSample))
	for i := 0; i < n; i += step {
		v := get(im.Voxels, i)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

// loader returns a reader of element i of a little-endian buffer as float64.
func loader(dt shards.DType) func(b []byte, i int) float64 {
	le := binary.LittleEndian
	switch dt {
	case shards.Uint8:
		return func(b []byte, i int) float64 { return float64(b[i]) }
	case shards.Int8:
		return func(b []byte, i int) float64 { return float64(int8(b[i])) }
	case shards.Uint16:
		return func(b []byte, i int) float64 { return float64(le.Uint16(b[2*i:])) }
	case shards.Int16:
		return func(b []byte, i int) float64 { return float64(int16(le.Uint16(b[2*i:]))) }
	case shards.Float16:
		return func(b []byte, i int) float64 { return half(le.Uint16(b[2*i:])) }
	case shards.Uint32:
		return func(b []byte, i int) float64 { return float64(le.Uint32(b[4*i:])) }
	case shards.Int32:
		return func(b []byte, i int) float64 { return float64(int32(le.Uint32(b[4*i:]))) }
	case shards.Float32:
		return func(b []byte, i int) float64 { return float64(math.Float32frombits(le.Uint32(b[4*i:]))) }
	case shards.Uint64:
		return func(b []byte, i int) float64 { return float64(le.Uint64(b[8*i:])) }
	case shards.Int64:
		return func(b []byte, i int) float64 { return float64(int64(le.Uint64(b[8*i:]))) }
	case shards.Float64:
		return func(b []byte, i int) float64 { return math.Float64frombits(le.Uint64(b[8*i:])) }
	}
	return nil // check rejects unknown types first
}

// half converts an IEEE 754 binary16 value.
func half(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}
