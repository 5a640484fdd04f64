package dicom

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/shards"
)

const brainDir = "../../testdata/dicom/mr-brain-20"

func TestScanSeries(t *testing.T) {
	res, err := Scan(context.Background(), []string{brainDir}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || res.Files != 20 {
		t.Fatalf("got %d series from %d files, want 1 from 20 (skipped %v)", len(res.Series), res.Files, res.Skipped)
	}
	s := res.Series[0]
	if s.Depth != 20 || s.Volumes != 1 || len(s.Warnings) != 0 {
		t.Fatalf("depth %d volumes %d warnings %v", s.Depth, s.Volumes, s.Warnings)
	}
	imgs, err := ReadSeries(context.Background(), s, ReadOptions{Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	im := imgs[0]
	if im.Width != 256 || im.Height != 256 || im.Depth != 20 || im.DType != shards.Int16 || im.Modality != "MR" {
		t.Fatalf("image %dx%dx%d %s %s", im.Width, im.Height, im.Depth, im.DType, im.Modality)
	}
}

// TestAgainstDcm2niix converts the 20-slice series with dcm2niix and with
// medmd and compares voxels and world coordinates after both are put in
// canonical RAS orientation.
func TestAgainstDcm2niix(t *testing.T) {
	bin, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed (apt-get install dcm2niix)")
	}
	dir := t.TempDir()
	out, err := exec.Command(bin, "-z", "n", "-f", "ref", "-o", dir, brainDir).CombinedOutput()
	if err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, out)
	}
	ref, err := nifti.ReadFile(context.Background(), filepath.Join(dir, "ref.nii"), nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), []string{brainDir}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	compareImages(t, imgs[0], ref.Images[0])
}

// TestEnhancedAgainstDcm2niix reads a Philips enhanced MR multi-frame
// object (176 sagittal frames, geometry in per-frame functional groups)
// and compares geometry and values with dcm2niix after canonicalisation.
func TestEnhancedAgainstDcm2niix(t *testing.T) {
	dir := t.TempDir()
	gunzipTo(t, "testdata/nibabel_philips_mprage.dcm.gz", filepath.Join(dir, "in", "mprage.dcm"))
	res, err := Scan(context.Background(), []string{filepath.Join(dir, "in")}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || res.Series[0].Depth != 176 {
		t.Fatalf("series %+v skipped %v", res.Series, res.Skipped)
	}
	s := res.Series[0]
	if g := s.Slices[1].Geom; !g.HasPosition || g.Slope == 1 {
		t.Fatalf("per-frame geometry not read: %+v", g)
	}
	imgs, err := ReadSeries(context.Background(), s, ReadOptions{Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	if imgs[0].DType != shards.Float32 {
		t.Fatalf("Philips rescale slope should give float32, got %s", imgs[0].DType)
	}
	bin, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed")
	}
	if out, err := exec.Command(bin, "-z", "n", "-f", "ref", "-o", dir, filepath.Join(dir, "in")).CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, out)
	}
	ref, err := nifti.ReadFile(context.Background(), filepath.Join(dir, "ref.nii"), nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	compareGeometry(t, imgs[0], ref.Images[0], 1e-3)
}

func gunzipTo(t *testing.T, src, dst string) {
	t.Helper()
	out := readGz(t, src)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func compareGeometry(t *testing.T, got, want *shards.Image, tol float64) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height || got.Depth != want.Depth {
		t.Fatalf("dims %dx%dx%d, dcm2niix %dx%dx%d", got.Width, got.Height, got.Depth, want.Width, want.Height, want.Depth)
	}
	for i := 0; i < 12; i++ {
		if math.Abs(got.Affine[i]-want.Affine[i]) > tol {
			t.Fatalf("affine\n%v\ndcm2niix\n%v", got.Affine, want.Affine)
		}
	}
}

func compareImages(t *testing.T, got, want *shards.Image) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height || got.Depth != want.Depth {
		t.Fatalf("dims %dx%dx%d, dcm2niix %dx%dx%d", got.Width, got.Height, got.Depth, want.Width, want.Height, want.Depth)
	}
	for i := 0; i < 12; i++ {
		if math.Abs(got.Affine[i]-want.Affine[i]) > 1e-3 {
			t.Fatalf("affine\n%v\ndcm2niix\n%v", got.Affine, want.Affine)
		}
	}
	if got.DType != want.DType || !bytes.Equal(got.Voxels, want.Voxels) {
		t.Fatalf("voxels differ (%s vs dcm2niix %s)", got.DType, want.DType)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
