package dicom

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

func newTestSource(t *testing.T, base string, p ingest.Params) *Source {
	t.Helper()
	full := ingest.Params{"include_localizers": false, "include_derived": false, "canonical": true,
		"max_voxels": DefaultMaxVoxels, "task": "modality", "instruction": "What imaging modality is shown in this image?", "license": ""}
	for k, v := range p {
		full[k] = v
	}
	src, err := newSource(full, base)
	if err != nil {
		t.Fatal(err)
	}
	return src.(*Source)
}

// writeArchives puts test files into a zip and a tar.gz, plus a member
// with an escaping name that must be ignored.
func writeArchives(t *testing.T, dir string) {
	t.Helper()
	zf, err := os.Create(filepath.Join(dir, "ct.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	for _, n := range []string{"pydicom_CT_small.dcm", "pydicom_JPEG2000.dcm", "../escape.dcm"} {
		src := n
		if strings.HasPrefix(n, "..") {
			src = "pydicom_MR_small.dcm"
		}
		b, err := os.ReadFile(filepath.Join("testdata", src))
		if err != nil {
			t.Fatal(err)
		}
		if n == "pydicom_JPEG2000.dcm" {
			b = asUnsupported(t, b)
		}
		name := "scans/" + n
		if strings.HasPrefix(n, "..") {
			name = n
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	zw.Close()
	zf.Close()
	tf, err := os.Create(filepath.Join(dir, "mr.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(tf)
	tw := tar.NewWriter(gz)
	b, _ := os.ReadFile("testdata/pydicom_rtdose.dcm")
	tw.WriteHeader(&tar.Header{Name: "a/mr1", Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
	tw.Write(b)
	tw.WriteHeader(&tar.Header{Name: "a/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
	tw.Close()
	gz.Close()
	tf.Close()
}

func TestSourcePlanRead(t *testing.T) {
	dir := t.TempDir()
	writeArchives(t, dir)
	src := newTestSource(t, dir, ingest.Params{"paths": []string{".", mustAbs(t, brainDir)}})
	units, err := src.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, u := range units {
		ids = append(ids, u.ID)
	}
	// CT_small (zip), the RT dose (tar), the 20-slice MR, and the JPEG
	// 2000 file as a unit that fails with its reason; the escaping member
	// is skipped.
	if len(units) != 4 {
		for _, u := range units {
			t.Logf("%s: %v", u.ID, u.Paths)
		}
		t.Fatalf("units %v", ids)
	}
	var sawUnsupported, sawBrain bool
	for _, u := range units {
		samples, err := src.Read(context.Background(), u)
		if strings.HasPrefix(u.ID, "file:") {
			if err == nil || !strings.Contains(err.Error(), "unsupported transfer syntax "+unsupportedSyntax) {
				t.Fatalf("%s: want unsupported error, got %v", u.ID, err)
			}
			sawUnsupported = true
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", u.ID, err)
		}
		s := samples[0]
		im := s.Images[0]
		if s.Source != "dicom" || !strings.HasPrefix(s.Group, "dicom:") || s.ID != shards.MakeID("dicom", u.ID, "0") || im.SourceSHA256 == "" {
			t.Fatalf("sample %+v", s)
		}
		se := u.Data.(*Series)
		for k, v := range im.Meta {
			if pn := se.Header().PatientName; pn != "" && strings.Contains(v, pn) || k == "patient_id" {
				t.Fatalf("meta %s=%q carries a patient identifier", k, v)
			}
		}
		if im.Modality == "CT" {
			// HU: air around the phantom is about -1000.
			if im.DType != shards.Int16 || im.Meta["rescale_intercept"] != "-1024" {
				t.Fatalf("CT image %s meta %v", im.DType, im.Meta)
			}
		}
		if im.Depth == 20 {
			sawBrain = true
			if s.Response != "MRI" || im.Plane != "axial" {
				t.Fatalf("brain sample response %q plane %q", s.Response, im.Plane)
			}
		}
	}
	if !sawUnsupported || !sawBrain {
		t.Fatalf("units %v", ids)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
