package normalize

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/medmd/medmd/shards"
)

// number is every voxel element type read natively (Float16 is converted
// through shards.HalfToFloat32 instead).
type number = shards.Scalar

// checkVoxels validates an image's dimensions against its buffer.
func checkVoxels(im *shards.Image) error {
	if im.Channels <= 0 || im.Depth <= 0 || im.Height <= 0 || im.Width <= 0 {
		return fmt.Errorf("image has non-positive dimensions %d×%d×%d×%d", im.Channels, im.Depth, im.Height, im.Width)
	}
	sz := im.DType.Size()
	if sz == 0 {
		return fmt.Errorf("image has unknown dtype %q", im.DType)
	}
	if want := im.NumVoxels() * sz; len(im.Voxels) != want {
		return fmt.Errorf("image has %d voxel bytes, want %d for %d×%d×%d×%d %s", len(im.Voxels), want, im.Channels, im.Depth, im.Height, im.Width, im.DType)
	}
	return nil
}

// parallel runs f over [0,n) split into contiguous chunks, about four per
// worker (GOMAXPROCS), which workers take in turn: a worker that the OS
// descheduled (a shared machine) or that got slower chunks does not hold
// the others up. f must be safe to call concurrently on disjoint ranges.
func parallel(n int, f func(lo, hi int)) {
	parallelW(n, func(_, lo, hi int) { f(lo, hi) })
}

// workers returns how many workers parallelW uses for n items.
func workers(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// parallelW is parallel that also tells f which worker (0…workers(n)−1)
// runs the chunk, so callers can keep per-worker state (histograms)
// without locks.
func parallelW(n int, f func(w, lo, hi int)) {
	w := runtime.GOMAXPROCS(0)
	if w > n {
		w = n
	}
	if w <= 1 {
		f(0, 0, n)
		return
	}
	chunks := min(n, 4*w)
	var next atomic.Int64
	work := func(id int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			f(id, c*n/chunks, (c+1)*n/chunks)
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(i)
		}()
	}
	work(0)
	wg.Wait()
}

// toFloat32 converts any voxel buffer to float32 in dst (len = voxel
// count), replacing non-finite values by repl and returning how many it
// replaced.
func toFloat32(dst []float32, src []byte, dt shards.DType, repl float32) (int, error) {
	switch dt {
	case shards.Uint8:
		convertTo(dst, shards.View[uint8](src))
	case shards.Int8:
		convertTo(dst, shards.View[int8](src))
	case shards.Uint16:
		convertTo(dst, shards.View[uint16](src))
	case shards.Int16:
		convertTo(dst, shards.View[int16](src))
	case shards.Uint32:
		convertTo(dst, shards.View[uint32](src))
	case shards.Int32:
		convertTo(dst, shards.View[int32](src))
	case shards.Uint64:
		convertTo(dst, shards.View[uint64](src))
	case shards.Int64:
		convertTo(dst, shards.View[int64](src))
	case shards.Float32:
		convertTo(dst, shards.View[float32](src))
		return replaceNonFinite(dst, repl), nil
	case shards.Float64:
		convertTo(dst, shards.View[float64](src))
		return replaceNonFinite(dst, repl), nil
	case shards.Float16:
		h := shards.View[uint16](src)
		for i, v := range h {
			dst[i] = shards.HalfToFloat32(v)
		}
		return replaceNonFinite(dst, repl), nil
	default:
		return 0, fmt.Errorf("unsupported dtype %q", dt)
	}
	return 0, nil
}

func convertTo[T number](dst []float32, src []T) {
	parallel(len(dst)/4096+1, func(lo, hi int) {
		a, b := lo*4096, hi*4096
		if b > len(dst) {
			b = len(dst)
		}
		d, s := dst[a:b], src[a:b]
		for i := range d {
			d[i] = float32(s[i])
		}
	})
}

func replaceNonFinite(x []float32, repl float32) int {
	n := 0
	for i, v := range x {
		if v-v != 0 { // NaN or ±Inf
			x[i] = repl
			n++
		}
	}
	return n
}

// countNonFinite counts NaN/±Inf in a float buffer of any float dtype.
func countNonFinite(b []byte, dt shards.DType) int {
	n := 0
	switch dt {
	case shards.Float32:
		for _, v := range shards.View[float32](b) {
			if v-v != 0 {
				n++
			}
		}
	case shards.Float64:
		for _, v := range shards.View[float64](b) {
			if v-v != 0 {
				n++
			}
		}
	case shards.Float16:
		for _, v := range shards.View[uint16](b) {
			if v&0x7c00 == 0x7c00 {
				n++
			}
		}
	}
	return n
}

// fromFloat32 writes x into a new buffer of dtype dt. Integer types round
// half away from zero and saturate at the type's range; float16 rounds to
// nearest even.
func fromFloat32(x []float32, dt shards.DType) ([]byte, error) {
	sz := dt.Size()
	if sz == 0 {
		return nil, fmt.Errorf("unsupported output dtype %q", dt)
	}
	out := make([]byte, len(x)*sz)
	switch dt {
	case shards.Float32:
		copy(shards.View[float32](out), x)
	case shards.Float64:
		convertFloat(shards.View[float64](out), x)
	case shards.Float16:
		h := shards.View[uint16](out)
		parallel(len(x)/4096+1, func(lo, hi int) {
			a, b := lo*4096, min(hi*4096, len(x))
			for i := a; i < b; i++ {
				h[i] = float32ToFloat16(x[i])
			}
		})
	case shards.Uint8:
		roundSat(shards.View[uint8](out), x, 0, math.MaxUint8)
	case shards.Int8:
		roundSat(shards.View[int8](out), x, math.MinInt8, math.MaxInt8)
	case shards.Uint16:
		roundSat(shards.View[uint16](out), x, 0, math.MaxUint16)
	case shards.Int16:
		roundSat(shards.View[int16](out), x, math.MinInt16, math.MaxInt16)
	case shards.Uint32:
		roundSat(shards.View[uint32](out), x, 0, math.MaxUint32)
	case shards.Int32:
		roundSat(shards.View[int32](out), x, math.MinInt32, math.MaxInt32)
	default:
		return nil, fmt.Errorf("unsupported output dtype %q", dt)
	}
	return out, nil
}

func convertFloat(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

func roundSat[T number](dst []T, src []float32, lo, hi float64) {
	parallel(len(src)/4096+1, func(a, b int) {
		a, b = a*4096, min(b*4096, len(src))
		for i := a; i < b; i++ {
			v := float64(src[i])
			if v >= 0 {
				v = math.Floor(v + 0.5)
			} else {
				v = math.Ceil(v - 0.5)
			}
			if v < lo || v != v {
				v = lo
			} else if v > hi {
				v = hi
			}
			dst[i] = T(v)
		}
	})
}

// WidenFloat16 converts a float16 image to float32 in place; every binary16
// value (NaN and ±Inf included) is exactly representable, so nothing is
// lost. Formats without a half-precision type (NIfTI-1) need it. Other
// dtypes are left alone.
func WidenFloat16(im *shards.Image) {
	if im.DType != shards.Float16 {
		return
	}
	n := len(im.Voxels) / 2
	out := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		h := uint16(im.Voxels[2*i]) | uint16(im.Voxels[2*i+1])<<8
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(shards.HalfToFloat32(h)))
	}
	im.Voxels, im.DType = out, shards.Float32
}

// float32ToFloat16 encodes f as binary16, rounding to nearest even and
// overflowing to ±Inf (NaN stays NaN).
func float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is correct (up to Inf)
	}
	return sign | uint16(r)
}
