package nifti

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"unsafe"
)

// AxisMap says where one input voxel axis goes: to output axis Axis, with
// Flip reversing its direction. It is one row of nibabel's "ornt" array.
type AxisMap struct {
	Axis int
	Flip bool
}

// Orientation is nibabel's io_orientation(affine): for each input axis i, j,
// k the RAS world axis it is closest to and whether it points the opposite
// way. Applying it (Reorient) gives the canonical RAS+ voxel order.
type Orientation [3]AxisMap

// IsIdentity reports whether the voxels are already in RAS+ order.
func (o Orientation) IsIdentity() bool {
	return o == Orientation{{0, false}, {1, false}, {2, false}}
}

// Codes returns the axis codes of the input axes, like nibabel's
// aff2axcodes: "LAS" means i points Left, j Anterior, k Superior.
func (o Orientation) Codes() string {
	pos, neg := "RAS", "LPI"
	b := make([]byte, 3)
	for i, m := range o {
		if m.Flip {
			b[i] = neg[m.Axis]
		} else {
			b[i] = pos[m.Axis]
		}
	}
	return string(b)
}

// errSingular is returned when an input axis does not move in world space.
var errSingular = errors.New("affine is singular: an axis does not map to world space, cannot reorient")

// OrientationOf computes nibabel's io_orientation for a row-major affine:
// normalise the columns of the 3×3 part by their lengths, take the closest
// orthogonal matrix (the polar factor U·Vᵀ of its SVD, dropping singular
// values below max·3·eps), then for each input axis in turn pick the world
// axis with the largest absolute component, removing chosen world axes from
// later choices.
func OrientationOf(aff [16]float64) (Orientation, error) {
	var rs [3][3]float64
	for j := range 3 {
		n := math.Sqrt(aff[j]*aff[j] + aff[4+j]*aff[4+j] + aff[8+j]*aff[8+j])
		if n == 0 {
			n = 1
		}
		for i := range 3 {
			rs[i][j] = aff[4*i+j] / n
		}
	}
	r := polar(rs)
	var o Orientation
	for in := range 3 {
		zero := true
		for i := range 3 {
			if math.Abs(r[i][in]) > 1e-8 { // np.allclose(col, 0)
				zero = false
			}
		}
		if zero {
			return o, errSingular
		}
		best := 0
		for i := 1; i < 3; i++ {
			if math.Abs(r[i][in]) > math.Abs(r[best][in]) {
				best = i
			}
		}
		o[in] = AxisMap{Axis: best, Flip: r[best][in] < 0}
		for j := range 3 {
			r[best][j] = 0
		}
	}
	return o, nil
}

// polar returns U·Vᵀ restricted to the singular values above nibabel's rank
// tolerance, from an eigen-decomposition of AᵀA by cyclic Jacobi rotations.
// Only the arg-max pattern of the result matters, so the precision lost to
// forming AᵀA is harmless.
func polar(a [3][3]float64) [3][3]float64 {
	var m [3][3]float64 // AᵀA
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				m[i][j] += a[k][i] * a[k][j]
			}
		}
	}
	v := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	for sweep := 0; sweep < 50; sweep++ {
		off := m[0][1]*m[0][1] + m[0][2]*m[0][2] + m[1][2]*m[1][2]
		if off < 1e-300 {
			break
		}
		for p := 0; p < 2; p++ {
			for q := p + 1; q < 3; q++ {
				if m[p][q] == 0 {
					continue
				}
				theta := (m[q][q] - m[p][p]) / (2 * m[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range 3 { // m = Jᵀ m J
					mkp, mkq := m[k][p], m[k][q]
					m[k][p] = c*mkp - s*mkq
					m[k][q] = s*mkp + c*mkq
				}
				for k := range 3 {
					mpk, mqk := m[p][k], m[q][k]
					m[p][k] = c*mpk - s*mqk
					m[q][k] = s*mpk + c*mqk
				}
				for k := range 3 {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p] = c*vkp - s*vkq
					v[k][q] = s*vkp + c*vkq
				}
			}
		}
	}
	var sv [3]float64
	smax := 0.0
	for i := range 3 {
		sv[i] = math.Sqrt(max(m[i][i], 0))
		smax = max(smax, sv[i])
	}
	tol := smax * 3 * 0x1p-52
	var r [3][3]float64
	for s := range 3 {
		if sv[s] <= tol {
			continue
		}
		// u = A v / σ; R += u vᵀ
		var u [3]float64
		for i := range 3 {
			for k := range 3 {
				u[i] += a[i][k] * v[k][s]
			}
			u[i] /= sv[s]
		}
		for i := range 3 {
			for j := range 3 {
				r[i][j] += u[i] * v[j][s]
			}
		}
	}
	return r
}

// canonicalShape returns the output shape (i, j, k) after applying o to an
// input of shape in.
func (o Orientation) canonicalShape(in [3]int) [3]int {
	var out [3]int
	for a, m := range o {
		out[m.Axis] = in[a]
	}
	return out
}

// CanonicalAffine returns aff · T where T maps an output (canonical) voxel
// index to the input index it came from: exactly nibabel's
// affine.dot(inv_ornt_aff(ornt, shape)).
func (o Orientation) CanonicalAffine(aff [16]float64, in [3]int) [16]float64 {
	var t [4][4]float64
	t[3][3] = 1
	for a, m := range o {
		if m.Flip {
			t[a][m.Axis] = -1
			t[a][3] = float64(in[a] - 1)
		} else {
			t[a][m.Axis] = 1
		}
	}
	var out [16]float64
	for i := range 4 {
		for j := range 4 {
			var s float64
			for k := range 4 {
				s += aff[4*i+k] * t[k][j]
			}
			out[4*i+j] = s
		}
	}
	return out
}

// strides returns, for output axes 0..2, the signed step in the input
// (Fortran order, i fastest) and the input offset of output voxel (0,0,0).
func (o Orientation) strides(in [3]int) (step [3]int, base int) {
	inStride := [3]int{1, in[0], in[0] * in[1]}
	for a, m := range o {
		if m.Flip {
			step[m.Axis] = -inStride[a]
			base += (in[a] - 1) * inStride[a]
		} else {
			step[m.Axis] = inStride[a]
		}
	}
	return step, base
}

// reorient copies src (one channel of one volume, input shape in, i fastest)
// into dst in canonical order. Rows whose inner axis is contiguous in the
// input are block copies (forward or reversed); others gather by stride.
func reorient[T any](dst, src []T, o Orientation, in [3]int) {
	out := o.canonicalShape(in)
	step, base := o.strides(in)
	n0 := out[0]
	d := 0
	for k := 0; k < out[2]; k++ {
		pk := base + k*step[2]
		for j := 0; j < out[1]; j++ {
			p := pk + j*step[1]
			row := dst[d : d+n0]
			switch step[0] {
			case 1:
				copy(row, src[p:p+n0])
			case -1:
				reverseCopy(row, src[p-n0+1:p+1])
			default:
				s0 := step[0]
				for x := range row {
					row[x] = src[p]
					p += s0
				}
			}
			d += n0
		}
	}
}

// isFlipOnly reports whether o keeps every axis in place (only flips).
func (o Orientation) isFlipOnly() bool {
	return o[0].Axis == 0 && o[1].Axis == 1 && o[2].Axis == 2
}

// flipInPlace applies a flip-only orientation to buf (shape in, i fastest)
// without a second volume buffer: rows reversed in place, rows and slices
// swapped through one temporary slice.
func flipInPlace[T any](buf []T, o Orientation, in [3]int) {
	n0, n1, n2 := in[0], in[1], in[2]
	if o[0].Flip {
		for r := 0; r < n1*n2; r++ {
			reverseInPlace(buf[r*n0 : (r+1)*n0])
		}
	}
	if o[1].Flip {
		tmp := make([]T, n0)
		for k := 0; k < n2; k++ {
			sl := buf[k*n0*n1 : (k+1)*n0*n1]
			for j := 0; j < n1/2; j++ {
				a, b := sl[j*n0:(j+1)*n0], sl[(n1-1-j)*n0:(n1-j)*n0]
				copy(tmp, a)
				copy(a, b)
				copy(b, tmp)
			}
		}
	}
	if o[2].Flip {
		m := n0 * n1
		tmp := make([]T, m)
		for k := 0; k < n2/2; k++ {
			a, b := buf[k*m:(k+1)*m], buf[(n2-1-k)*m:(n2-k)*m]
			copy(tmp, a)
			copy(a, b)
			copy(b, tmp)
		}
	}
}

// reverseCopy sets dst[x] = src[len-1-x]; bytes go eight at a time.
func reverseCopy[T any](dst, src []T) {
	n := len(dst)
	var z T
	if unsafe.Sizeof(z) == 1 && n > 0 {
		d := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), n)
		s := unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), n)
		x := 0
		for ; x+8 <= n; x += 8 {
			binary.LittleEndian.PutUint64(d[x:], bits.ReverseBytes64(binary.LittleEndian.Uint64(s[n-8-x:])))
		}
		for ; x < n; x++ {
			d[x] = s[n-1-x]
		}
		return
	}
	for x := range dst {
		dst[x] = src[n-1-x]
	}
}

// reverseInPlace reverses s; bytes go eight at a time from both ends.
func reverseInPlace[T any](s []T) {
	n := len(s)
	var z T
	a, b := 0, n
	if unsafe.Sizeof(z) == 1 && n > 0 {
		p := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n)
		for ; b-a >= 16; a, b = a+8, b-8 {
			wa := binary.LittleEndian.Uint64(p[a:])
			wb := binary.LittleEndian.Uint64(p[b-8:])
			binary.LittleEndian.PutUint64(p[a:], bits.ReverseBytes64(wb))
			binary.LittleEndian.PutUint64(p[b-8:], bits.ReverseBytes64(wa))
		}
	}
	for b--; a < b; a, b = a+1, b-1 {
		s[a], s[b] = s[b], s[a]
	}
}
