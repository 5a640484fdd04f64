package normalize

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/shards"
)

// goldenCase mirrors one entry of testdata/golden/golden.json, written by
// testdata/make_golden.py.
type goldenCase struct {
	Name, Op, Input, Mode, File, Codes, Preset string
	Depth, Height, Width                       int
	Affine                                     []float64
	Spacing                                    []float64
	SrcAffine                                  []float64 `json:"src_affine"`
	Lo, Hi, Plo, Phi, Level                    float64
	WidthHU                                    float64 `json:"-"`
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []json.RawMessage }
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	var out []goldenCase
	for _, raw := range g.Cases {
		var c goldenCase
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		// "width" means pixels for resize cases and HU for windows.
		if c.Op == "window" {
			var w struct{ Width float64 }
			json.Unmarshal(raw, &w)
			c.WidthHU, c.Width = w.Width, 0
		}
		out = append(out, c)
	}
	return out
}

// readNIfTI1 is a test-only NIfTI-1 reader (normalize itself does no I/O):
// header fields per the NIfTI-1 spec (dim at 40, datatype at 70, vox_offset
// at 108), either byte order, optional gzip. The affine comes from
// golden.json (nibabel's), so only the voxel data is parsed here.
func readNIfTI1(t testing.TB, name string) *shards.Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if bo.Uint32(b) != 348 {
		bo = binary.BigEndian
	}
	dim := func(i int) int { return int(bo.Uint16(b[40+2*i:])) }
	nx, ny, nz := dim(1), dim(2), dim(3)
	if dim(0) < 3 {
		nz = 1
	}
	dt := bo.Uint16(b[70:])
	if dt != 4 {
		t.Fatalf("%s: test reader handles int16 only, got datatype %d", name, dt)
	}
	off := int(math.Float32frombits(bo.Uint32(b[108:])))
	if off < 352 {
		off = 352
	}
	n := nx * ny * nz
	vox := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(vox[2*i:], bo.Uint16(b[off+2*i:]))
	}
	pix := func(i int) float64 { return float64(math.Float32frombits(bo.Uint32(b[76+4*i:]))) }
	return &shards.Image{DType: shards.Int16, Channels: 1, Depth: nz, Height: ny, Width: nx,
		Voxels: vox, Spacing: [3]float64{pix(1), pix(2), pix(3)}}
}

func readRaw(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Tolerance for float resize goldens: scipy/skimage compute in float64, we
// accumulate in float32, so |ours−ref| ≤ 1e-5·max|ref| + 1e-4.
func TestResizeGolden(t *testing.T) {
	cases := loadGolden(t)
	defer func() { resamplePath = pathAuto }()
	for _, path := range []int{pathGeneric, pathFused} {
		resamplePath = path
		for _, c := range cases {
			if c.Op != "resize" {
				continue
			}
			t.Run(fmt.Sprintf("%s/path=%d", c.Name, path), func(t *testing.T) {
				im := readNIfTI1(t, c.Input)
				copy(im.Affine[:], c.SrcAffine)
				if err := Resize(im, ResizeOptions{Depth: c.Depth, Height: c.Height, Width: c.Width, Mode: Interp(c.Mode)}); err != nil {
					t.Fatal(err)
				}
				if im.Depth != c.Depth || im.Height != c.Height || im.Width != c.Width || im.DType != shards.Float32 {
					t.Fatalf("got %d×%d×%d %s", im.Depth, im.Height, im.Width, im.DType)
				}
				want := shards.View[float32](readRaw(t, c.File))
				got := shards.View[float32](im.Voxels)
				var maxRef float64
				for _, v := range want {
					maxRef = math.Max(maxRef, math.Abs(float64(v)))
				}
				tol := 1e-5*maxRef + 1e-4
				bad := 0
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > tol {
						if bad < 5 {
							t.Errorf("voxel %d: got %g want %g", i, got[i], want[i])
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d voxels beyond tolerance %g", bad, len(want), tol)
				}
				for i, v := range c.Affine {
					if math.Abs(im.Affine[i]-v) > 1e-9*(1+math.Abs(v)) {
						t.Errorf("affine[%d] = %g, want %g (A·[diag(s)|(s−1)/2])", i, im.Affine[i], v)
					}
				}
				for a := 0; a < 3; a++ {
					if math.Abs(im.Spacing[a]-c.Spacing[a]) > 1e-6 {
						t.Errorf("spacing[%d] = %g, want %g", a, im.Spacing[a], c.Spacing[a])
					}
				}
				if len(im.Transforms) != 1 || im.Transforms[0].Name != "resize" {
					t.Errorf("transforms = %+v", im.Transforms)
				}
			})
		}
	}
}

// TestCanonicalGolden checks Canonical against nibabel.as_closest_canonical
// on an LAS volume and an oblique LPS one: voxels exact, affine to 1e-9.
func TestCanonicalGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		if c.Op != "canonical" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			im := readNIfTI1(t, c.Input)
			copy(im.Affine[:], c.SrcAffine)
			if o, err := OrientationOf(im.Affine); err != nil || o.Codes() != c.Codes {
				t.Errorf("OrientationOf = %s (%v), nibabel says %s", o.Codes(), err, c.Codes)
			}
			if err := Canonical(im); err != nil {
				t.Fatal(err)
			}
			if im.Depth != c.Depth || im.Height != c.Height || im.Width != c.Width {
				t.Fatalf("got %d×%d×%d, want %d×%d×%d", im.Depth, im.Height, im.Width, c.Depth, c.Height, c.Width)
			}
			if !bytes.Equal(im.Voxels, readRaw(t, c.File)) {
				t.Errorf("voxels differ from nibabel's canonical array")
			}
			for i, v := range c.Affine {
				if math.Abs(im.Affine[i]-v) > 1e-9*(1+math.Abs(v)) {
					t.Errorf("affine[%d] = %g, want %g", i, im.Affine[i], v)
				}
			}
			if o, err := OrientationOf(im.Affine); err != nil || o.Codes() != "RAS" {
				t.Errorf("after Canonical codes = %s (%v)", o.Codes(), err)
			}
			n := len(im.Transforms)
			if err := Canonical(im); err != nil || len(im.Transforms) != n {
				t.Errorf("Canonical of a RAS image must be a no-op")
			}
		})
	}
}
