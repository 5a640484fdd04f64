package normalize

// Canonical RAS orientation, one implementation for every reader: an exact
// port of nibabel's io_orientation (including its SVD step, so oblique
// affines choose the axes nibabel chooses), inv_ornt_aff and
// apply_orientation. ingest/nifti uses the pieces directly to keep its
// fast paths (flip in place, typed reorient into a single buffer);
// Canonical applies them to a shards.Image (DICOM, stages).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/medmd/medmd/shards"
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
	r := Polar(rs)
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

// Polar returns U·Vᵀ restricted to the singular values above nibabel's
// rank tolerance (the closest orthogonal matrix for a full-rank a), from an
// eigen-decomposition of AᵀA by cyclic Jacobi rotations. For orientation
// only the arg-max pattern of the result matters, so the precision lost to
// forming AᵀA is harmless. The NIfTI writer uses it too, for the qform
// quaternion (nifti_mat44_to_quatern's orthogonalisation).
func Polar(a [3][3]float64) [3][3]float64 {
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

// CanonicalShape returns the output shape (i, j, k) after applying o to an
// input of shape in.
func (o Orientation) CanonicalShape(in [3]int) [3]int {
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

// Reorient copies src (one channel of one volume, input shape in, i
// fastest) into dst in canonical order. Rows whose inner axis is
// contiguous in the input are block copies (forward or reversed); others
// gather by stride.
func Reorient[T shards.Scalar](dst, src []T, o Orientation, in [3]int) {
	reorientSlabs(dst, src, o, in, 0, o.CanonicalShape(in)[2])
}

// reorientSlabs is Reorient for output slices k0 ≤ k < k1 only, so
// disjoint slabs can be filled concurrently.
func reorientSlabs[T shards.Scalar](dst, src []T, o Orientation, in [3]int, k0, k1 int) {
	out := o.CanonicalShape(in)
	step, base := o.strides(in)
	n0 := out[0]
	d := k0 * out[0] * out[1]
	for k := k0; k < k1; k++ {
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

// reorientBytesSlabs is reorientSlabs on raw little-endian elements of
// size bytes; it reports false for an unsupported size.
func reorientBytesSlabs(dst, src []byte, size int, o Orientation, in [3]int, k0, k1 int) bool {
	switch size {
	case 1:
		reorientSlabs(dst, src, o, in, k0, k1)
	case 2:
		reorientSlabs(shards.View[uint16](dst), shards.View[uint16](src), o, in, k0, k1)
	case 4:
		reorientSlabs(shards.View[uint32](dst), shards.View[uint32](src), o, in, k0, k1)
	case 8:
		reorientSlabs(shards.View[uint64](dst), shards.View[uint64](src), o, in, k0, k1)
	default:
		return false
	}
	return true
}

// ReorientBytes reorients raw (elements of size 1, 2, 4 or 8 bytes, i
// fastest), which it may modify: an identity orientation returns raw
// itself, flips only are done in place in raw, and permutations go to a
// new buffer. Callers that own raw (a reader's fresh buffer) use it to
// avoid a second volume; Canonical, whose input may be shared or
// read-only, copies instead.
func ReorientBytes(raw []byte, size int, o Orientation, shape [3]int) []byte {
	if o.IsIdentity() {
		return raw
	}
	if o.isFlipOnly() {
		switch size {
		case 1:
			flipInPlace(raw, o, shape)
		case 2:
			flipInPlace(shards.View[uint16](raw), o, shape)
		case 4:
			flipInPlace(shards.View[uint32](raw), o, shape)
		case 8:
			flipInPlace(shards.View[uint64](raw), o, shape)
		}
		return raw
	}
	dst := make([]byte, len(raw))
	reorientBytesSlabs(dst, raw, size, o, shape, 0, o.CanonicalShape(shape)[2])
	return dst
}

// Canonical reorders and flips im's voxel axes so that i, j, k increase
// towards Right, Anterior, Superior, exactly as nibabel's
// as_closest_canonical (OrientationOf, then apply_orientation), updating
// the affine and spacing, and records a "canonical" transform with the
// original codes. An image already in RAS is left untouched (no copy, no
// transform); a singular affine is an error, as in nibabel. Channels are
// kept. Voxels are copied once into a new buffer, in parallel over output
// slices, element by element (no conversion): im.Voxels may be shared or
// read-only (a mapped shard), so it is never written.
func Canonical(im *shards.Image) error {
	return canonical(im, Orientation.copyVoxels)
}

// CanonicalOwned is Canonical for voxels the caller owns and nothing else
// reads (a reader's freshly decoded volume): an orientation that only
// flips axes (DICOM's LPS, the common case) is applied in place by
// ReorientBytes, so the volume is never held twice; a permutation still
// copies once.
func CanonicalOwned(im *shards.Image) error {
	return canonical(im, Orientation.ownVoxels)
}

// copyVoxels reorients vox (channels planes of shape in) into a new
// buffer, in parallel over output slices.
func (o Orientation) copyVoxels(vox []byte, sz, channels int, in [3]int) []byte {
	out := o.CanonicalShape(in)
	vol := in[0] * in[1] * in[2]
	dst := make([]byte, len(vox))
	for c := 0; c < channels; c++ {
		s := vox[c*vol*sz : (c+1)*vol*sz]
		d := dst[c*vol*sz : (c+1)*vol*sz]
		parallel(out[2], func(lo, hi int) { reorientBytesSlabs(d, s, sz, o, in, lo, hi) })
	}
	return dst
}

// ownVoxels reorients vox in place when o only flips, else as copyVoxels.
func (o Orientation) ownVoxels(vox []byte, sz, channels int, in [3]int) []byte {
	if !o.isFlipOnly() {
		return o.copyVoxels(vox, sz, channels, in)
	}
	vol := in[0] * in[1] * in[2]
	for c := 0; c < channels; c++ {
		ReorientBytes(vox[c*vol*sz:(c+1)*vol*sz], sz, o, in)
	}
	return vox
}

// canonical does the work of Canonical with reorient moving the voxels.
func canonical(im *shards.Image, reorient func(o Orientation, vox []byte, sz, channels int, in [3]int) []byte) error {
	if err := checkVoxels(im); err != nil {
		return err
	}
	o, err := OrientationOf(im.Affine)
	if err != nil {
		return fmt.Errorf("canonical: %w", err)
	}
	if o.IsIdentity() {
		return nil
	}
	in := [3]int{im.Width, im.Height, im.Depth}
	out := o.CanonicalShape(in)
	sz := im.DType.Size()
	switch sz {
	case 1, 2, 4, 8:
	default:
		return fmt.Errorf("canonical: unsupported element size %d", sz)
	}
	dst := reorient(o, im.Voxels, sz, im.Channels, in)
	im.Affine = o.CanonicalAffine(im.Affine, in)
	var sp [3]float64
	for a, m := range o {
		sp[m.Axis] = im.Spacing[a]
	}
	im.Spacing = sp
	im.Voxels = dst
	im.Width, im.Height, im.Depth = out[0], out[1], out[2]
	return AddTransform(im, "canonical", map[string]any{"from": o.Codes(), "to": "RAS"})
}

// isFlipOnly reports whether o keeps every axis in place (only flips).
func (o Orientation) isFlipOnly() bool {
	return o[0].Axis == 0 && o[1].Axis == 1 && o[2].Axis == 2
}

// flipInPlace applies a flip-only orientation to buf (shape in, i fastest)
// without a second volume buffer: rows reversed in place, rows and slices
// swapped through one temporary slice.
func flipInPlace[T shards.Scalar](buf []T, o Orientation, in [3]int) {
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

// reverseCopy sets dst[x] = src[len-1-x]. Elements of 1, 2 or 4 bytes
// go eight bytes at a time (reverseLanes).
func reverseCopy[T shards.Scalar](dst, src []T) {
	n := len(dst)
	e := int(unsafe.Sizeof(dst[0:1][0]))
	x := 0
	if e < 8 && n > 0 {
		d, s := shards.Bytes(dst), shards.Bytes(src[:n])
		nb := n * e
		for ; x+8 <= nb; x += 8 {
			binary.LittleEndian.PutUint64(d[x:], reverseLanes(binary.LittleEndian.Uint64(s[nb-8-x:]), e))
		}
		x /= e
	}
	for ; x < n; x++ {
		dst[x] = src[n-1-x]
	}
}

// reverseInPlace reverses s; elements of 1, 2 or 4 bytes go eight bytes
// at a time from both ends (reverseLanes).
func reverseInPlace[T shards.Scalar](s []T) {
	n := len(s)
	e := int(unsafe.Sizeof(s[0:1][0]))
	a, b := 0, n
	if e < 8 && n > 0 {
		p := shards.Bytes(s)
		ab, bb := 0, n*e
		for ; bb-ab >= 16; ab, bb = ab+8, bb-8 {
			wa := binary.LittleEndian.Uint64(p[ab:])
			wb := binary.LittleEndian.Uint64(p[bb-8:])
			binary.LittleEndian.PutUint64(p[ab:], reverseLanes(wb, e))
			binary.LittleEndian.PutUint64(p[bb-8:], reverseLanes(wa, e))
		}
		a, b = ab/e, bb/e
	}
	for b--; a < b; a, b = a+1, b-1 {
		s[a], s[b] = s[b], s[a]
	}
}

// reverseLanes reverses the order of the e-byte elements (e = 1, 2 or
// 4) of the little-endian word x, keeping each element's bytes.
func reverseLanes(x uint64, e int) uint64 {
	switch e {
	case 1:
		return bits.ReverseBytes64(x)
	case 2:
		x = bits.RotateLeft64(x, 32)
		return x&0x0000FFFF0000FFFF<<16 | x>>16&0x0000FFFF0000FFFF
	default:
		return bits.RotateLeft64(x, 32)
	}
}
