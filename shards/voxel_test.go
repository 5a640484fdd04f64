package shards

import (
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
