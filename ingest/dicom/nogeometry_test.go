package dicom

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestNoGeometryMatchesDcm2niix reads an image without position and
// orientation (as CR stores it) and compares it with dcm2niix's conversion
// (testdata/no_geometry/golden.json), both in closest-canonical order:
// same voxels, same axis directions and spacing. dcm2niix writes no
// spatial transform for it (qform and sform codes 0), so the origin of its
// affine is the reader's invention (nibabel centres the image); medmd
// keeps the first pixel at the origin, where dcm2niix assumes it.
func TestNoGeometryMatchesDcm2niix(t *testing.T) {
	var g struct {
		Shape  []int     `json:"shape"`
		Affine []float64 `json:"affine"`
		Sha    string    `json:"voxels_int32_sha256"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "no_geometry", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), []string{filepath.Join("testdata", "no_geometry", "no_geometry.dcm")}, ScanOptions{})
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("scan: %v, %+v", err, res)
	}
	imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{Canonical: true})
	if err != nil || len(imgs) != 1 {
		t.Fatalf("read: %v, %d volumes", err, len(imgs))
	}
	im := imgs[0]
	if got := []int{im.Width, im.Height, im.Depth}; !equalInts(got, g.Shape) {
		t.Fatalf("shape %v, dcm2niix %v", got, g.Shape)
	}
	if got := int32Hash(im); got != g.Sha {
		t.Errorf("voxels differ from dcm2niix's (sha256 %s, want %s)", got, g.Sha)
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			if math.Abs(im.Affine[4*r+c]-g.Affine[4*r+c]) > 1e-4 {
				t.Fatalf("affine\n%v\ndcm2niix\n%v", im.Affine[:12], g.Affine)
			}
		}
	}
	// The first stored pixel sits at the origin: canonical order flipped
	// both in-plane axes, so the origin is at the far corner.
	for a, want := range []float64{-127 * im.Spacing[0], -127 * im.Spacing[1], 0} {
		if math.Abs(im.Affine[4*a+3]-want) > 1e-3 {
			t.Errorf("origin %v, want first pixel at 0", []float64{im.Affine[3], im.Affine[7], im.Affine[11]})
			break
		}
	}
}
