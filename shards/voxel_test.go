package shards

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestHalfToFloat(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08}, {0x8000, 0}} {
		if got := HalfToFloat32(tc.h); got != tc.want {
			t.Errorf("HalfToFloat32(%#x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if !math.IsInf(float64(HalfToFloat32(0x7c00)), 1) || !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("inf/nan")
	}
}

func TestDecodeEveryDType(t *testing.T) {
	for _, tc := range []struct {
		d    DType
		b    []byte
		want float64
	}{
		{Uint8, []byte{0, 200}, 200}, {Int8, []byte{0, 0x9c}, -100},
		{Uint16, []byte{0, 0, 0x34, 0x12}, 0x1234}, {Int16, []byte{0, 0, 0x18, 0xfc}, -1000},
		{Float16, []byte{0, 0, 0x00, 0xc0}, -2}, {Uint32, []byte{0, 0, 0, 0, 1, 0, 0, 0x80}, 1<<31 + 1},
		{Int32, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, -1}, {Float32, []byte{0, 0, 0, 0, 0, 0, 0xc0, 0x3f}, 1.5},
		{Uint64, append(make([]byte, 8), 7, 0, 0, 0, 0, 0, 0, 0), 7}, {Int64, append(make([]byte, 8), 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), -2},
		{Float64, append(make([]byte, 8), 0, 0, 0, 0, 0, 0, 0x04, 0xc0), -2.5},
	} {
		if got := tc.d.Decode(tc.b, 1); got != tc.want {
			t.Errorf("%s.Decode = %v, want %v", tc.d, got, tc.want)
		}
	}
}

func TestViewAndBytes(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("views read host order; the expectations are little-endian")
	}
	// 17 bytes: one trailing byte past every element size but 1.
	b := make([]byte, 17)
	for i := range b {
		b[i] = byte(i*37 + 1)
	}
	for _, tc := range []struct {
		d    DType
		view func([]byte) (n int, at func(int) float64, back []byte)
	}{
		{Uint8, viewCase[uint8]}, {Int8, viewCase[int8]},
		{Uint16, viewCase[uint16]}, {Int16, viewCase[int16]},
		{Uint32, viewCase[uint32]}, {Int32, viewCase[int32]},
		{Uint64, viewCase[uint64]}, {Int64, viewCase[int64]},
		{Float32, viewCase[float32]}, {Float64, viewCase[float64]},
	} {
		n, at, back := tc.view(b)
		if want := len(b) / tc.d.Size(); n != want {
			t.Errorf("%s: %d elements, want %d (trailing partial element left out)", tc.d, n, want)
		}
		for i := 0; i < n; i++ {
			got, want := at(i), tc.d.Decode(b, i)
			if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("%s[%d] = %v, want %v", tc.d, i, got, want)
			}
		}
		// Bytes gives back the same memory, without the partial element.
		if len(back) != n*tc.d.Size() || (n > 0 && &back[0] != &b[0]) {
			t.Errorf("%s: Bytes(View(b)) is %d bytes at another address", tc.d, len(back))
		}
	}
	// Writes through a view are writes to b, and the other way round.
	v := View[uint16](b)
	v[1] = 0xbeef
	if b[2] != 0xef || b[3] != 0xbe {
		t.Errorf("write through the view not seen in b: % x", b[2:4])
	}
	b[0], b[1] = 0x34, 0x12
	if v[0] != 0x1234 {
		t.Errorf("write to b not seen through the view: %#x", v[0])
	}
	// Empty and too-short inputs give nil, not a slice over nothing.
	if View[uint64](b[:7]) != nil || View[float32](nil) != nil || Bytes[int16](nil) != nil || Bytes([]float64{}) != nil {
		t.Error("empty view not nil")
	}
}

// viewCase views b as []T and reports its length, element reader and
// Bytes of the view.
func viewCase[T Scalar](b []byte) (int, func(int) float64, []byte) {
	v := View[T](b)
	return len(v), func(i int) float64 { return float64(v[i]) }, Bytes(v)
}
