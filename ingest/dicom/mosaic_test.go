package dicom

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/shards"
)

// mosaicGolden is testdata/mosaic/golden.json (see make_mosaic.py).
type mosaicGolden struct {
	Shape   []int     `json:"shape"`
	Affine  []float64 `json:"affine"`
	Volumes []string  `json:"volumes_int32_sha256"`
}

// mosaicDir unpacks the two DWI mosaics (b=0, b=1000) into a folder,
// passing each file's bytes through edit.
func mosaicDir(t *testing.T, edit func(*testing.T, []byte) []byte) string {
	return mosaicFiles(t, edit, "nibabel_siemens_dwi_0.dcm", "nibabel_siemens_dwi_1000.dcm")
}

// mosaicFiles unpacks testdata/mosaic/<name>.gz files into a folder.
func mosaicFiles(t *testing.T, edit func(*testing.T, []byte) []byte, names ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b := readGz(t, filepath.Join("testdata", "mosaic", n+".gz"))
		if err := os.WriteFile(filepath.Join(dir, n), edit(t, b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func asStored(_ *testing.T, b []byte) []byte { return b }

// reverseNormal negates the CSA SliceNormalVector in place, as
// make_mosaic.py's reverse_normal does.
func reverseNormal(t *testing.T, b []byte) []byte {
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte("SliceNormalVector"))
	if i < 0 {
		t.Fatal("no SliceNormalVector")
	}
	for _, r := range [][2]string{{"0.00523632\x00", "-0.0052363\x00"}, {"0.99998629\x00", "-0.9999863\x00"}} {
		j := bytes.Index(b[i:], []byte(r[0]))
		if j < 0 {
			t.Fatal("SliceNormalVector items not found")
		}
		copy(b[i+j:], r[1])
	}
	return b
}

func readMosaic(t *testing.T, dir string) (*Series, []*shards.Image) {
	t.Helper()
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 {
		t.Fatalf("%d series, skipped %v", len(res.Series), res.Skipped)
	}
	s := res.Series[0]
	imgs, err := ReadSeries(context.Background(), s, ReadOptions{Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, imgs
}

// int32Hash hashes an image's values as little-endian int32, so images
// that differ only in storage type (dcm2niix writes int16 where medmd
// keeps the stored uint16) compare equal.
func int32Hash(im *shards.Image) string {
	n := len(im.Voxels) / im.DType.Size()
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(int32(at(im.Voxels, im.DType, i))))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestMosaicGolden unpacks a Siemens DWI series of two mosaics and
// compares it voxel for voxel, and its affine, with dcm2niix's conversion
// recorded in testdata/mosaic/golden.json (both in canonical RAS), as
// stored and with the CSA slice normal reversed (tiles stacked the other
// way), and does the same for a real oblique EPI mosaic with its pixels.
func TestMosaicGolden(t *testing.T) {
	var golden map[string]mosaicGolden
	b, err := os.ReadFile("testdata/mosaic/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	dwi := []string{"nibabel_siemens_dwi_0.dcm", "nibabel_siemens_dwi_1000.dcm"}
	for _, c := range []struct {
		name  string
		files []string
		edit  func(*testing.T, []byte) []byte
		grid  int
	}{
		{"as_stored", dwi, asStored, 7},
		{"csa_normal_reversed", dwi, reverseNormal, 7},
		{"heudiconv_axasc35", []string{"heudiconv_axasc35.dcm"}, asStored, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, ok := golden[c.name]
			if !ok {
				t.Fatalf("no golden %q", c.name)
			}
			s, imgs := readMosaic(t, mosaicFiles(t, c.edit, c.files...))
			if s.Mosaic == nil || s.Mosaic.Grid != c.grid {
				t.Fatalf("mosaic %+v, want a %dx%d grid", s.Mosaic, c.grid, c.grid)
			}
			checkMosaic(t, s, imgs, g)
		})
	}
}

func checkMosaic(t *testing.T, s *Series, imgs []*shards.Image, g mosaicGolden) {
	t.Helper()
	if s.Mosaic == nil || s.Mosaic.Images != g.Shape[2] || s.Depth != g.Shape[2] || s.Volumes != len(g.Volumes) {
		t.Fatalf("mosaic %+v depth %d volumes %d warnings %v", s.Mosaic, s.Depth, s.Volumes, s.Warnings)
	}
	if len(imgs) != len(g.Volumes) {
		t.Fatalf("%d volumes, dcm2niix %d", len(imgs), len(g.Volumes))
	}
	for v, im := range imgs {
		if im.Width != g.Shape[0] || im.Height != g.Shape[1] || im.Depth != g.Shape[2] {
			t.Fatalf("volume %d: %dx%dx%d, dcm2niix %v", v, im.Width, im.Height, im.Depth, g.Shape)
		}
		// 1 µm: dcm2niix's direction cosines differ from the header's
		// 6-decimal ImageOrientationPatient in the 7th digit, which moves
		// the origin by 0.3 µm across the mosaic.
		for i, w := range g.Affine {
			if math.Abs(im.Affine[i]-w) > 1e-3 {
				t.Fatalf("volume %d affine\n%v\ndcm2niix\n%v", v, im.Affine[:12], g.Affine)
			}
		}
		if got := int32Hash(im); got != g.Volumes[v] {
			t.Errorf("volume %d voxels %s, dcm2niix %s", v, got, g.Volumes[v])
		}
	}
}

// TestMosaicMeta checks the per-volume diffusion values and mosaic size.
func TestMosaicMeta(t *testing.T) {
	_, imgs := readMosaic(t, mosaicDir(t, asStored))
	for _, c := range []struct {
		v          int
		key, value string
	}{
		{0, "diffusion_b_value", "0"},
		{1, "diffusion_b_value", "1000"},
		{1, "diffusion_gradient_lps", `0.999974\0.00505012\-0.00505012`},
		{0, "mosaic_images", "48"},
		{1, "volume", "1"},
	} {
		if got := imgs[c.v].Meta[c.key]; got != c.value {
			t.Errorf("volume %d meta %s = %q, want %q", c.v, c.key, got, c.value)
		}
	}
	if _, ok := imgs[0].Meta["diffusion_gradient_lps"]; ok {
		t.Errorf("b=0 volume has a gradient: %q", imgs[0].Meta["diffusion_gradient_lps"])
	}
}

// TestMosaicAgainstDcm2niix repeats the comparison with the dcm2niix
// installed here, when there is one.
func TestMosaicAgainstDcm2niix(t *testing.T) {
	bin, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed")
	}
	in := mosaicDir(t, asStored)
	out := t.TempDir()
	if b, err := exec.Command(bin, "-z", "n", "-b", "n", "-f", "ref", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, b)
	}
	ref, err := nifti.ReadFile(context.Background(), filepath.Join(out, "ref.nii"), nifti.Options{AllVolumes: true})
	if err != nil {
		t.Fatal(err)
	}
	_, imgs := readMosaic(t, in)
	if len(ref.Images) != len(imgs) {
		t.Fatalf("%d volumes, dcm2niix %d", len(imgs), len(ref.Images))
	}
	for v := range imgs {
		compareGeometry(t, imgs[v], ref.Images[v], 1e-3)
		if int32Hash(imgs[v]) != int32Hash(ref.Images[v]) {
			t.Errorf("volume %d voxels differ from dcm2niix", v)
		}
	}
}

// TestMosaicUnpack checks the tile order on a tiny mosaic: 3 slices of
// 2x2 on a 2x2 grid, two volumes, 16-bit samples.
func TestMosaicUnpack(t *testing.T) {
	m := &Mosaic{Images: 3, Grid: 2, Rows: 2, Cols: 2}
	var in []byte
	for v := 0; v < 2; v++ {
		// Mosaic rows: tile (0,0) | tile (0,1), then tile (1,0) | blank.
		for _, row := range [][4]uint16{{1, 2, 11, 12}, {3, 4, 13, 14}, {21, 22, 99, 99}, {23, 24, 99, 99}} {
			for _, x := range row {
				in = binary.LittleEndian.AppendUint16(in, x+uint16(100*v))
			}
		}
	}
	out := m.unpack(in, 2, 2)
	var got []uint16
	for i := 0; i+1 < len(out); i += 2 {
		got = append(got, binary.LittleEndian.Uint16(out[i:]))
	}
	want := []uint16{1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24, 101, 102, 103, 104, 111, 112, 113, 114, 121, 122, 123, 124}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// TestMosaicNotUnpacked: a MOSAIC whose count does not tile the image, or
// without a CSA count, stays 2D with a warning naming why.
func TestMosaicNotUnpacked(t *testing.T) {
	for _, c := range []struct {
		name string
		h    Header
		want string
	}{
		{"no CSA", Header{ImageType: []string{"ORIGINAL", "MOSAIC"}, Rows: 64, Columns: 64, SamplesPerPixel: 1}, "no CSA NumberOfImagesInMosaic"},
		{"bad CSA", Header{ImageType: []string{"MOSAIC"}, Rows: 64, Columns: 64, SamplesPerPixel: 1, MR: MRInfo{CSAError: "malformed CSA header: 5000 tags"}}, "5000 tags"},
		{"no tiling", Header{ImageType: []string{"MOSAIC"}, Rows: 100, Columns: 100, SamplesPerPixel: 1, MR: MRInfo{MosaicImages: 9}}, "do not tile"},
		{"colour", Header{ImageType: []string{"MOSAIC"}, Rows: 96, Columns: 96, SamplesPerPixel: 3, MR: MRInfo{MosaicImages: 9}}, "3 samples"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, why := mosaicOf(&c.h)
			if m != nil || !containsStr(why, c.want) {
				t.Fatalf("mosaic %+v, why %q; want nil and %q", m, why, c.want)
			}
		})
	}
	if m, why := mosaicOf(&Header{ImageType: []string{"MOSAIC"}, Rows: 96, Columns: 96, SamplesPerPixel: 1, MR: MRInfo{MosaicImages: 9}}); m == nil || m.Rows != 32 || m.Grid != 3 {
		t.Fatalf("9 tiles of 32x32: %+v %q", m, why)
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestCSA reads nibabel's CSA2 test headers and checks the values
// nibabel's csareader reads from them.
func TestCSA(t *testing.T) {
	for _, c := range []struct {
		file    string
		want    MRInfo
		wantErr string
	}{
		{"nibabel_csa2_b0.bin", MRInfo{MosaicImages: 48, SliceNormal: [3]float64{0, 0.00523632, 0.99998629}, HasSliceNormal: true, HasBValue: true}, ""},
		{"nibabel_csa2_b1000.bin", MRInfo{MosaicImages: 48, SliceNormal: [3]float64{0, 0.00523632, 0.99998629}, HasSliceNormal: true,
			BValue: 1000, HasBValue: true, Gradient: [3]float64{0.99997449, 0.00505012, -0.00505012}, HasGradient: true}, ""},
		{"nibabel_csa2_zero_len.bin.gz", MRInfo{}, ""},
		{"nibabel_csa_str_valid.bin", MRInfo{}, ""},
		{"nibabel_csa_str_1001n_items.bin", MRInfo{}, "1001"},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join("testdata", "mosaic", c.file)
			var b []byte
			if filepath.Ext(p) == ".gz" {
				b = readGz(t, p)
			} else {
				var err error
				if b, err = os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			var m MRInfo
			m.applyCSA(b)
			if c.wantErr != "" {
				if !containsStr(m.CSAError, c.wantErr) {
					t.Fatalf("error %q, want %q", m.CSAError, c.wantErr)
				}
				return
			}
			if m != c.want {
				t.Fatalf("got %+v\nwant %+v", m, c.want)
			}
		})
	}
}

// TestCSATruncated cuts a real CSA header at every length: each prefix is
// an error (never a panic, never a partial result taken as whole).
func TestCSATruncated(t *testing.T) {
	b, err := os.ReadFile("testdata/mosaic/nibabel_csa2_b1000.bin")
	if err != nil {
		t.Fatal(err)
	}
	// The last item's padding may be missing, so only cuts before the
	// final item's value must fail.
	for n := 0; n < len(b)-4; n++ {
		if _, err := csaTags(b[:n], csaWanted); err == nil || !errors.Is(err, errCSA) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
}

// TestMRInfoFromFile reads the CSA header and diffusion values through the
// file parser (the private block is found by its creator).
func TestMRInfoFromFile(t *testing.T) {
	dir := mosaicDir(t, asStored)
	h, err := ReadHeader(filepath.Join(dir, "nibabel_siemens_dwi_1000.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if h.MR.MosaicImages != 48 || h.MR.BValue != 1000 || !h.MR.HasGradient || h.MR.CSAError != "" {
		t.Fatalf("%+v", h.MR)
	}
}

// FuzzCSA feeds arbitrary bytes to the CSA parser, seeded with real CSA2
// headers: it must return an error or values, never panic, and allocate
// no more than the input justifies.
//
// Run it with a short -fuzzminimizetime (e.g. 5s): the worker minimizes
// each new interesting input for up to 60 s by default, and the progress
// line shows 0 execs/s meanwhile.
func FuzzCSA(f *testing.F) {
	for _, n := range []string{"nibabel_csa2_b0.bin", "nibabel_csa2_b1000.bin", "nibabel_csa_str_valid.bin", "nibabel_csa_str_1001n_items.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", "mosaic", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m MRInfo
		n := allocated(func() { m.applyCSA(data) })
		if n > uint64(64*len(data)+64<<10) {
			t.Fatalf("%d bytes allocated for %d bytes of input", n, len(data))
		}
		if m.MosaicImages < 0 || m.MosaicImages > maxMosaicImages {
			t.Fatalf("mosaic images %d", m.MosaicImages)
		}
	})
}

// TestEnhancedDiffusion reads an enhanced MR object whose b-values and
// gradients are only in the per-frame MR Diffusion Sequence (see
// make_enhanced_dwi.py): two volumes of two slices, b=0 then b=1000
// along (0, 1, 0).
func TestEnhancedDiffusion(t *testing.T) {
	res, err := Scan(context.Background(), []string{mosaicFiles(t, asStored, "enhanced_dwi.dcm")}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 {
		t.Fatalf("%d series, skipped %v", len(res.Series), res.Skipped)
	}
	s := res.Series[0]
	if s.Depth != 2 || s.Volumes != 2 {
		t.Fatalf("depth %d volumes %d warnings %v", s.Depth, s.Volumes, s.Warnings)
	}
	imgs, err := ReadSeries(context.Background(), s, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v          int
		key, value string
	}{
		{0, "diffusion_b_value", "0"},
		{0, "diffusion_gradient_lps", ""},
		{1, "diffusion_b_value", "1000"},
		{1, "diffusion_gradient_lps", `0\1\0`},
	} {
		if got := imgs[c.v].Meta[c.key]; got != c.value {
			t.Errorf("volume %d meta %s = %q, want %q", c.v, c.key, got, c.value)
		}
	}
}
