package load

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/dicom"
)

// TestInspectDICOMSetIdentifiers inspects a folder holding pydicom's CT
// slice (patient CompressedSamples^CT1, ID 1CT1) under a folder named
// after the patient: the series shows as the pipeline's keyed ID unless
// ShowIdentifiers, and the patient's name and ID never show.
func TestInspectDICOMSetIdentifiers(t *testing.T) {
	t.Setenv("MEDMD_PSEUDONYM_KEY", "test-key-for-inspect")
	const seriesUID = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
	b, err := os.ReadFile("../dicom/testdata/pydicom_CT_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "CompressedSamples_1CT1")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "ct.dcm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "broken.dcm"), b[:100], 0o644)
	cases := []struct {
		name string
		o    ingest.InspectOptions
		want string
	}{
		{"text", ingest.InspectOptions{}, dicom.PseudoUID(seriesUID)},
		{"json", ingest.InspectOptions{JSON: true}, dicom.PseudoUID(seriesUID)},
		{"text_show", ingest.InspectOptions{ShowIdentifiers: true}, seriesUID},
		{"json_show", ingest.InspectOptions{JSON: true, ShowIdentifiers: true}, seriesUID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := InspectDICOMSet(context.Background(), root, c.o, &buf)
			if err == nil || strings.Contains(err.Error(), "1CT1") {
				t.Errorf("want the broken file reported without the patient ID, got %v", err)
			}
			out := buf.String()
			if !strings.Contains(out, c.want) {
				t.Errorf("output lacks %s:\n%s", c.want, out)
			}
			if !c.o.ShowIdentifiers && strings.Contains(out, seriesUID) {
				t.Errorf("output holds the original series UID:\n%s", out)
			}
			for _, v := range []string{"1CT1", "CompressedSamples"} {
				if strings.Contains(out, v) {
					t.Errorf("output holds %q:\n%s", v, out)
				}
			}
		})
	}
}
