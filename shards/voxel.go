package shards

import (
	"encoding/binary"
	"math"
)

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
