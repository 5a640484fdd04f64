package normalize

import (
	"bytes"
	"slices"
	"testing"
)

// TestReorientPaths checks the in-place flip path and the reversed-copy
// path against a plain per-voxel gather for every orientation and odd and
// even sizes, for 1- and 4-byte elements.
func TestReorientPaths(t *testing.T) {
	shapes := [][3]int{{5, 4, 3}, {17, 2, 9}, {1, 1, 1}, {33, 7, 2}}
	perms := [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, shape := range shapes {
		n := shape[0] * shape[1] * shape[2]
		for _, perm := range perms {
			for flips := 0; flips < 8; flips++ {
				var o Orientation
				for a := range 3 {
					o[a] = AxisMap{Axis: perm[a], Flip: flips&(1<<a) != 0}
				}
				for _, size := range []int{1, 4} {
					raw := make([]byte, n*size)
					for i := range raw {
						raw[i] = byte(i*7 + i/251)
					}
					want := gatherRef(raw, size, o, shape)
					got := ReorientBytes(bytes.Clone(raw), size, o, shape)
					if !bytes.Equal(got, want) {
						t.Fatalf("shape %v orient %v size %d differs", shape, o, size)
					}
				}
			}
		}
	}
}

func gatherRef(raw []byte, size int, o Orientation, in [3]int) []byte {
	out := o.CanonicalShape(in)
	dst := make([]byte, len(raw))
	d := 0
	for k := 0; k < out[2]; k++ {
		for j := 0; j < out[1]; j++ {
			for i := 0; i < out[0]; i++ {
				oi := [3]int{i, j, k}
				var idx [3]int
				for a, m := range o {
					idx[a] = oi[m.Axis]
					if m.Flip {
						idx[a] = in[a] - 1 - oi[m.Axis]
					}
				}
				p := (idx[0] + in[0]*(idx[1]+in[1]*idx[2])) * size
				copy(dst[d:d+size], raw[p:p+size])
				d += size
			}
		}
	}
	return dst
}

// TestReverse checks the word-at-a-time reversals against
// slices.Reverse for every element size and lengths around the word
// boundaries.
func TestReverse(t *testing.T) {
	for n := 0; n < 40; n++ {
		check := func(name string, f func(int) bool) {
			if !f(n) {
				t.Fatalf("%s n=%d", name, n)
			}
		}
		check("u8", func(n int) bool { return revOK(n, func(i int) uint8 { return uint8(i*7 + 1) }) })
		check("i16", func(n int) bool { return revOK(n, func(i int) int16 { return int16(i*977 - 5) }) })
		check("f32", func(n int) bool { return revOK(n, func(i int) float32 { return float32(i) * 1.5 }) })
		check("f64", func(n int) bool { return revOK(n, func(i int) float64 { return float64(i) * 2.5 }) })
	}
}

func revOK[T interface {
	~uint8 | ~int16 | ~float32 | ~float64
}](n int, f func(int) T) bool {
	src := make([]T, n)
	for i := range src {
		src[i] = f(i)
	}
	want := slices.Clone(src)
	slices.Reverse(want)
	got := slices.Clone(src)
	reverseInPlace(got)
	dst := make([]T, n)
	reverseCopy(dst, src)
	return slices.Equal(got, want) && slices.Equal(dst, want)
}
