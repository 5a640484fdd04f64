package radmd

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"

	"github.com/medmd/medmd/shards"
)

// ImageSHA256 returns the hex SHA-256 of an image's voxel bytes preceded by
// its dtype and shape, so equal bytes of different shapes do not collide.
func ImageSHA256(im *shards.Image) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s:%d:%d:%d:%d:", im.DType, im.Channels, im.Depth, im.Height, im.Width)
	h.Write(im.Voxels)
	return hex.EncodeToString(h.Sum(nil))
}

// DHash returns the 64-bit difference hash of the image's representative
// slice: channel 0 of the middle slice (Depth/2), box-averaged to 9×8
// cells, bit (y·8+x) set when cell (y,x) is darker than cell (y,x+1).
// dHash ignores brightness and contrast changes and survives resizing and
// recompression, which is what near-duplicate figures across articles and
// re-exported volumes differ by. An image whose voxel buffer does not match
// its shape is an error.
func DHash(im *shards.Image) (uint64, error) {
	es := im.DType.Size()
	if es == 0 {
		return 0, fmt.Errorf("dhash: unknown dtype %q", im.DType)
	}
	if im.Channels <= 0 || im.Depth <= 0 || im.Height <= 0 || im.Width <= 0 {
		return 0, fmt.Errorf("dhash: empty image %dx%dx%dx%d", im.Channels, im.Depth, im.Height, im.Width)
	}
	plane := im.Height * im.Width
	if want := im.NumVoxels() * es; len(im.Voxels) != want {
		return 0, fmt.Errorf("dhash: %d voxel bytes, shape needs %d", len(im.Voxels), want)
	}
	off := (im.Depth / 2) * plane * es // channel 0, middle slice
	slice := im.Voxels[off : off+plane*es]
	var cells [8][9]float64
	for y := range 8 {
		y0, y1 := span(y, 8, im.Height)
		for x := range 9 {
			x0, x1 := span(x, 9, im.Width)
			sum := 0.0
			for r := y0; r < y1; r++ {
				for c := x0; c < x1; c++ {
					v := voxelAt(slice, im.DType, r*im.Width+c)
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						sum += v
					}
				}
			}
			cells[y][x] = sum / float64((y1-y0)*(x1-x0))
		}
	}
	var h uint64
	for y := range 8 {
		for x := range 8 {
			if cells[y][x] < cells[y][x+1] {
				h |= 1 << (y*8 + x)
			}
		}
	}
	return h, nil
}

// span returns the source rows [lo, hi) averaged into cell i of n over a
// length of size; every cell gets at least one source row.
func span(i, n, size int) (int, int) {
	lo := i * size / n
	hi := (i + 1) * size / n
	if hi <= lo {
		hi = lo + 1
	}
	if hi > size {
		lo, hi = size-1, size
	}
	return lo, hi
}

// voxelAt decodes element i of little-endian buffer b.
func voxelAt(b []byte, dt shards.DType, i int) float64 {
	switch dt {
	case shards.Uint8:
		return float64(b[i])
	case shards.Int8:
		return float64(int8(b[i]))
	case shards.Uint16:
		return float64(binary.LittleEndian.Uint16(b[2*i:]))
	case shards.Int16:
		return float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case shards.Float16:
		return float64(halfToFloat(binary.LittleEndian.Uint16(b[2*i:])))
	case shards.Uint32:
		return float64(binary.LittleEndian.Uint32(b[4*i:]))
	case shards.Int32:
		return float64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	case shards.Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	case shards.Uint64:
		return float64(binary.LittleEndian.Uint64(b[8*i:]))
	case shards.Int64:
		return float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
	case shards.Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return 0
}

// halfToFloat decodes an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = frac · 2^-24
		f := float32(frac) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// Hamming returns the number of differing bits of two hashes.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// FormatHash writes a dHash as 16 hex digits (the form stored in reports
// and sample Meta).
func FormatHash(h uint64) string { return fmt.Sprintf("%016x", h) }
