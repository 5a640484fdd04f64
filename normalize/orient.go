package normalize

import (
	"fmt"
	"math"

	"github.com/medmd/medmd/shards"
)

// AxisCodes returns the orientation of an affine's voxel axes as three
// letters (e.g. "LAS"): for voxel axes i, j, k, the world direction each
// increases towards. It follows nibabel's io_orientation: axes are taken
// in order i, j, k; each picks the world axis with the largest absolute
// component of its (normalised) direction among those not yet taken. For
// oblique affines nibabel first replaces the matrix by its closest
// orthogonal one; for the mildly oblique acquisitions seen in practice both
// choose the same axes.
func AxisCodes(aff [16]float64) (perm [3]int, flip [3]bool, codes string) {
	var R [3][3]float64 // R[world][voxel]
	for a := 0; a < 3; a++ {
		n := math.Sqrt(aff[a]*aff[a] + aff[4+a]*aff[4+a] + aff[8+a]*aff[8+a])
		for w := 0; w < 3; w++ {
			if n > 0 {
				R[w][a] = aff[w*4+a] / n
			}
		}
	}
	pos, neg := "RAS", "LPI"
	used := [3]bool{}
	b := make([]byte, 3)
	for a := 0; a < 3; a++ {
		best, bw := -1.0, -1
		for w := 0; w < 3; w++ {
			if !used[w] && math.Abs(R[w][a]) > best {
				best, bw = math.Abs(R[w][a]), w
			}
		}
		used[bw] = true
		perm[a] = bw
		flip[a] = R[bw][a] < 0
		if flip[a] {
			b[a] = neg[bw]
		} else {
			b[a] = pos[bw]
		}
	}
	return perm, flip, string(b)
}

// Canonical reorders and flips im's voxel axes so that i, j, k increase
// towards Right, Anterior, Superior (nibabel.as_closest_canonical), updating
// the affine, spacing and Plane-independent geometry, and records a
// "canonical" transform with the original codes. An image already in RAS
// is left untouched (no copy, no transform). Channels are kept. Data is
// copied once, in parallel, element by element (no conversion).
func Canonical(im *shards.Image) error {
	if err := checkVoxels(im); err != nil {
		return err
	}
	perm, flip, codes := AxisCodes(im.Affine)
	if codes == "RAS" {
		return nil
	}
	// in dims along voxel axes i, j, k
	inN := [3]int{im.Width, im.Height, im.Depth}
	inStride := [3]int{1, im.Width, im.Width * im.Height}
	// output axis w takes input axis a with perm[a] == w
	var outN, st [3]int
	off := 0
	for a := 0; a < 3; a++ {
		w := perm[a]
		outN[w] = inN[a]
		st[w] = inStride[a]
		if flip[a] {
			st[w] = -inStride[a]
			off += (inN[a] - 1) * inStride[a]
		}
	}
	vol := inN[0] * inN[1] * inN[2]
	sz := im.DType.Size()
	out := make([]byte, len(im.Voxels))
	for c := 0; c < im.Channels; c++ {
		s := im.Voxels[c*vol*sz : (c+1)*vol*sz]
		d := out[c*vol*sz : (c+1)*vol*sz]
		switch sz {
		case 1:
			permute(viewAs[uint8](d), viewAs[uint8](s), outN, st, off)
		case 2:
			permute(viewAs[uint16](d), viewAs[uint16](s), outN, st, off)
		case 4:
			permute(viewAs[uint32](d), viewAs[uint32](s), outN, st, off)
		case 8:
			permute(viewAs[uint64](d), viewAs[uint64](s), outN, st, off)
		default:
			return fmt.Errorf("canonical: unsupported element size %d", sz)
		}
	}
	// New affine: old index a = flip ? n_a−1−new_w : new_w, so
	// A' = A·M with M[a][w] = ±1 and M[a][3] = n_a−1 where flipped.
	var M [16]float64
	M[15] = 1
	for a := 0; a < 3; a++ {
		w := perm[a]
		if flip[a] {
			M[a*4+w] = -1
			M[a*4+3] = float64(inN[a] - 1)
		} else {
			M[a*4+w] = 1
		}
	}
	im.Affine = matMul4(im.Affine, M)
	var sp [3]float64
	for a := 0; a < 3; a++ {
		sp[perm[a]] = im.Spacing[a]
	}
	im.Spacing = sp
	im.Voxels = out
	im.Width, im.Height, im.Depth = outN[0], outN[1], outN[2]
	return AddTransform(im, "canonical", map[string]any{"from": codes, "to": "RAS"})
}

func permute[T number](dst, src []T, n [3]int, st [3]int, off int) {
	parallel(n[2], func(lo, hi int) {
		for k := lo; k < hi; k++ {
			for j := 0; j < n[1]; j++ {
				d := dst[(k*n[1]+j)*n[0] : (k*n[1]+j+1)*n[0]]
				p := off + k*st[2] + j*st[1]
				if st[0] == 1 {
					copy(d, src[p:p+len(d)])
					continue
				}
				for i := range d {
					d[i] = src[p]
					p += st[0]
				}
			}
		}
	})
}

func matMul4(a, b [16]float64) [16]float64 {
	var c [16]float64
	for r := 0; r < 4; r++ {
		for col := 0; col < 4; col++ {
			var s float64
			for k := 0; k < 4; k++ {
				s += a[r*4+k] * b[k*4+col]
			}
			c[r*4+col] = s
		}
	}
	return c
}
