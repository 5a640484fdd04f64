package shards

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Scalar is every fixed-size, pointer-free element type a voxel buffer
// holds; View and Bytes reinterpret only these.
type Scalar interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64 | ~float32 | ~float64
}

// View reinterprets b as a []T without copying: element i is the bytes
// b[i*size : (i+1)*size] in the host's byte order. Shards store voxels
// little-endian and medmd builds for little-endian hosts (amd64, arm64),
// so on those the view reads the stored values; code that may meet a
// big-endian host checks binary.NativeEndian first. A trailing partial
// element is left out; an empty or too short b gives nil.
//
// Alignment: &b[0] must be aligned for T (a multiple of T's size, up to
// 8). Buffers from make([]byte) and from the shard reader (Arrow buffers
// are 64-byte aligned) are; a sub-slice starting at a multiple of T's
// size is too. A slice into arbitrary file bytes may not be: copy it
// first (bytes.Clone allocates aligned).
//
// Aliasing and lifetime: the result shares b's memory. Writes through
// either are seen by the other, and the view is valid exactly as long as
// b is (for a memory-mapped shard, until the shard is closed). It keeps
// b's backing array alive like any slice.
func View[T Scalar](b []byte) []T {
	var z T
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// Bytes is View's inverse: v's memory as len(v)·size bytes in the host's
// byte order, without copying. It aliases v and lives as long as v does;
// an empty v gives nil.
func Bytes[T Scalar](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(z)))
}

// Decode returns element i of the little-endian buffer b, read as type d,
// as a float64 (exact for every type but 64-bit integers beyond 2^53). It
// panics like a slice index when i is out of range, and returns 0 for an
// unknown type. It is the slow, general path: hot loops should convert a
// whole buffer at once.
func (d DType) Decode(b []byte, i int) float64 {
	switch d {
	case Uint8:
		return float64(b[i])
	case Int8:
		return float64(int8(b[i]))
	case Uint16:
		return float64(binary.LittleEndian.Uint16(b[2*i:]))
	case Int16:
		return float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case Float16:
		return float64(HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:])))
	case Uint32:
		return float64(binary.LittleEndian.Uint32(b[4*i:]))
	case Int32:
		return float64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	case Float32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	case Uint64:
		return float64(binary.LittleEndian.Uint64(b[8*i:]))
	case Int64:
		return float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
	case Float64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return 0
}

// HalfToFloat32 decodes an IEEE 754 binary16 value (exactly: every half
// is representable as a float32), including subnormals, ±Inf and NaN.
func HalfToFloat32(h uint16) float32 {
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
