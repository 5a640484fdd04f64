package dicom

import (
	"path/filepath"
	"testing"
)

// TestVRMismatch reads a file whose transfer syntax says explicit VR but
// whose dataset is implicit VR (pydicom's SC_rgb_jpeg.dcm): like pydicom,
// the reader follows the encoding the first element shows, and the pixels
// match pydicom+gdcm's.
func TestVRMismatch(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "pydicom_SC_rgb_jpeg.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows != 256 || f.Columns != 256 || f.SamplesPerPixel != 3 || f.Photometric != "RGB" || f.Modality != "OT" {
		t.Fatalf("header %dx%dx%d %s %s", f.Columns, f.Rows, f.SamplesPerPixel, f.Photometric, f.Modality)
	}
	p, err := f.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	// pydicom+gdcm decodes it to the same pixels as
	// SC_jpeg_no_color_transform.dcm (an APP14 too short to hold its
	// transform flag names no colour space).
	ref := readGz(t, filepath.Join("testdata", "lossy", "pydicom_SC_jpeg_no_color_transform.u8.gz"))
	if p.Photometric != "RGB" || len(p.Data) != len(ref) {
		t.Fatalf("%s, %d bytes; want RGB, %d", p.Photometric, len(p.Data), len(ref))
	}
	maxd := 0
	for i := range ref {
		d := int(ref[i]) - int(p.Data[i])
		maxd = max(maxd, d, -d)
	}
	if maxd > lossyTolerance {
		t.Fatalf("differs from pydicom+gdcm by up to %d", maxd)
	}
}
