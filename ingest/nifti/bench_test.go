package nifti

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// benchVolume writes a 181×217×181 uint8 volume in LAS order (the MNI grid
// size) made by nearest-neighbour upsampling of the real anatomical.nii,
// so the reader has to flip an axis, as .nii and .nii.gz.
func benchVolume(b *testing.B) (nii, gz string) {
	b.Helper()
	res, err := ReadFile(ctx, "testdata/anatomical.nii", Options{})
	if err != nil {
		b.Fatal(err)
	}
	src := res.Images[0]
	s16 := shards.View[int16](src.Voxels)
	const W, H, D = 181, 217, 181
	vox := make([]byte, W*H*D)
	for k := 0; k < D; k++ {
		for j := 0; j < H; j++ {
			for i := 0; i < W; i++ {
				v := s16[(k*src.Depth/D*src.Height+j*src.Height/H)*src.Width+i*src.Width/W]
				vox[(k*H+j)*W+i] = byte(min(max(int(v)/4, 0), 255))
			}
		}
	}
	im := &shards.Image{Channels: 1, Width: W, Height: H, Depth: D, DType: shards.Uint8, Voxels: vox,
		Spacing: [3]float64{1, 1, 1}, Affine: [16]float64{-1, 0, 0, 90, 0, 1, 0, -126, 0, 0, 1, -72, 0, 0, 0, 1}}
	dir := b.TempDir()
	nii, gz = filepath.Join(dir, "v.nii"), filepath.Join(dir, "v.nii.gz")
	if err := WriteFile(nii, im); err != nil {
		b.Fatal(err)
	}
	if err := WriteFile(gz, im); err != nil {
		b.Fatal(err)
	}
	return nii, gz
}

// BenchmarkReadCanonical is the testing.B twin of `medmd perf nifti`.
func BenchmarkReadCanonical(b *testing.B) {
	nii, gz := benchVolume(b)
	for _, p := range []string{nii, gz} {
		b.Run(fmt.Sprintf("file=%s/size=181x217x181", filepath.Base(p)), func(b *testing.B) {
			b.SetBytes(181 * 217 * 181)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ReadFile(ctx, p, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReorient measures the voxel permutation alone for each element
// size on a PLS-like orientation (permuted and flipped).
func BenchmarkReorient(b *testing.B) {
	shape := [3]int{181, 217, 181}
	o := normalize.Orientation{{Axis: 1, Flip: true}, {Axis: 0, Flip: true}, {Axis: 2, Flip: false}}
	for _, size := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("orient=PLS/elem=%d", size), func(b *testing.B) {
			raw := make([]byte, shape[0]*shape[1]*shape[2]*size)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				normalize.ReorientBytes(raw, size, o, shape)
			}
		})
	}
	_ = os.Getenv
}
