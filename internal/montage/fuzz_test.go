package montage

import (
	"errors"
	"testing"

	"github.com/medmd/medmd/shards"
)

// FuzzRender feeds arbitrary small shapes, types, voxel bytes and options:
// Render must either draw a picture of the size Size reports or return an
// error, never panic or index out of range.
func FuzzRender(f *testing.F) {
	f.Add(uint8(1), uint8(4), uint8(5), uint8(6), uint8(3), uint8(0), uint8(16), uint8(0), false, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(3), uint8(1), uint8(2), uint8(2), uint8(0), uint8(1), uint8(1), uint8(3), true, []byte{0xff, 0x7f})
	f.Add(uint8(1), uint8(2), uint8(3), uint8(1), uint8(10), uint8(2), uint8(0), uint8(1), false, []byte{0, 0, 0xc0, 0x7f}) // float32 NaN
	dts := []shards.DType{shards.Uint8, shards.Int8, shards.Uint16, shards.Int16, shards.Uint32, shards.Int32,
		shards.Uint64, shards.Int64, shards.Float16, shards.Float32, shards.Float64}
	planes := []string{Axial, Coronal, Sagittal, "bad"}
	f.Fuzz(func(t *testing.T, c, d, h, w, dt, plane, tiles, cols uint8, native bool, seed []byte) {
		typ := dts[int(dt)%len(dts)]
		im := &shards.Image{DType: typ, Channels: int(c % 4), Depth: int(d % 9), Height: int(h % 17), Width: int(w % 17),
			Spacing: [3]float64{float64(d % 3), 1.5, 2}, Affine: shards.IdentityAffine()}
		if plane&4 != 0 {
			im.Affine[3] = 1 // geometry present
		}
		n := im.Channels * im.Depth * im.Height * im.Width * typ.Size()
		if tiles&128 != 0 {
			n++ // mismatched buffer
		}
		im.Voxels = make([]byte, n)
		for i := range im.Voxels {
			if len(seed) > 0 {
				im.Voxels[i] = seed[i%len(seed)] + byte(i)
			}
		}
		o := Options{Plane: planes[int(plane)%len(planes)], Tiles: int(tiles % 40), Columns: int(cols % 7),
			Native: native, MaxPixels: 1 << 20}
		pic, err := Render(im, o)
		w2, h2, serr := Size(im, o)
		if err != nil {
			if serr == nil && !errors.Is(err, ErrTooLarge) && o.Width == 0 {
				// Only the window can fail after Size succeeds; it cannot here.
				t.Fatalf("Render: %v but Size ok", err)
			}
			return
		}
		if serr != nil || pic.Bounds().Dx() != w2 || pic.Bounds().Dy() != h2 {
			t.Fatalf("picture %v, Size %d×%d %v", pic.Bounds(), w2, h2, serr)
		}
	})
}
