package radfilter

import (
	"crypto/sha256"
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

// HashSide is the side of the dHash grid: HashSide×HashSide bits.
const HashSide = 16

// flatFraction of the slice's intensity range is the smallest step between
// neighbouring cells that sets a hash bit.
const flatFraction = 0.0075

// PHash is a 256-bit perceptual hash (bit y·16+x in word (y·16+x)/64).
type PHash [4]uint64

// DHash returns the 256-bit difference hash of the image's representative
// slice: channel 0 of the middle slice (Depth/2), box-averaged to 17×16
// cells, bit (y,x) set when cell (y,x+1) is brighter than cell (y,x) by
// more than 0.75% of the slice's range (flatFraction).
//
// dHash ignores brightness and contrast changes and survives resizing and
// recompression, which is what near-duplicate figures across articles and
// re-exported volumes differ by. It is 256 bits rather than the common 64
// because radiology slices share so much anatomy that 8×8 grids of two
// different patients' slices often differ by only a few bits.
// An image whose voxel buffer does not match its shape is an error.
func DHash(im *shards.Image) (PHash, error) {
	var h PHash
	es := im.DType.Size()
	if es == 0 {
		return h, fmt.Errorf("dhash: unknown dtype %q", im.DType)
	}
	if im.Channels <= 0 || im.Depth <= 0 || im.Height <= 0 || im.Width <= 0 {
		return h, fmt.Errorf("dhash: empty image %dx%dx%dx%d", im.Channels, im.Depth, im.Height, im.Width)
	}
	plane := im.Height * im.Width
	if want := im.NumVoxels() * es; len(im.Voxels) != want {
		return h, fmt.Errorf("dhash: %d voxel bytes, shape needs %d", len(im.Voxels), want)
	}
	off := (im.Depth / 2) * plane * es // channel 0, middle slice
	slice := im.Voxels[off : off+plane*es]
	var cells [HashSide][HashSide + 1]float64
	for y := range HashSide {
		y0, y1 := span(y, HashSide, im.Height)
		for x := range HashSide + 1 {
			x0, x1 := span(x, HashSide+1, im.Width)
			sum := 0.0
			for r := y0; r < y1; r++ {
				for c := x0; c < x1; c++ {
					v := im.DType.Decode(slice, r*im.Width+c)
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						sum += v
					}
				}
			}
			cells[y][x] = sum / float64((y1-y0)*(x1-x0))
		}
	}
	// A bit is set only when the step exceeds a small fraction of the
	// slice's range: flat regions (air, background, padding) then give
	// stable zeros instead of bits decided by noise.
	lo, hi := math.Inf(1), math.Inf(-1)
	for y := range HashSide {
		for x := range HashSide + 1 {
			lo, hi = math.Min(lo, cells[y][x]), math.Max(hi, cells[y][x])
		}
	}
	eps := flatFraction * (hi - lo)
	for y := range HashSide {
		for x := range HashSide {
			if cells[y][x]+eps < cells[y][x+1] {
				b := y*HashSide + x
				h[b/64] |= 1 << (b % 64)
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

// Hamming returns the number of differing bits of two hashes.
func Hamming(a, b PHash) int {
	n := 0
	for i := range a {
		n += bits.OnesCount64(a[i] ^ b[i])
	}
	return n
}

// String writes the hash as 64 hex digits, word 0 first.
func (h PHash) String() string { return fmt.Sprintf("%016x%016x%016x%016x", h[0], h[1], h[2], h[3]) }

// ParsePHash reads String's form.
func ParsePHash(s string) (PHash, error) {
	var h PHash
	if len(s) != 64 {
		return h, fmt.Errorf("phash %q: want 64 hex digits", s)
	}
	for i := range h {
		if _, err := fmt.Sscanf(s[16*i:16*i+16], "%x", &h[i]); err != nil {
			return h, fmt.Errorf("phash %q: %w", s, err)
		}
	}
	return h, nil
}
