package dicom

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestSamePosition: a five-slice series made from a real CT slice plus one
// more image (another instance) at the position of the first. The volume
// keeps five slices; the extra image is reported by name, in the scan and
// as a quarantine record of the series' read, as dcm2niix reports it.
func TestSamePosition(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 5, SeriesUID: "1.9.7"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 1, SeriesUID: "1.9.7", NamePrefix: "extra_", FirstInstance: 100}); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("scan: %v %+v", err, res)
	}
	se := res.Series[0]
	if se.Depth != 5 || se.Volumes != 1 || len(se.SamePosition) != 1 || !strings.HasSuffix(se.SamePosition[0].Ref, "extra_00000.dcm") {
		t.Fatalf("depth %d, %d volumes, left out %+v", se.Depth, se.Volumes, se.SamePosition)
	}

	src := newTestSource(t, dir, ingest.Params{"paths": []string{"."}})
	units, err := src.Plan(context.Background())
	if err != nil || len(units) != 1 {
		t.Fatalf("plan: %v, %d units", err, len(units))
	}
	smps, err := src.Read(context.Background(), units[0])
	var part *ingest.Partial
	if !errors.As(err, &part) || len(part.Parts) != 1 || part.Parts[0].Reason != ReasonSamePosition {
		t.Fatalf("want one %q part, got %v", ReasonSamePosition, err)
	}
	if msg := part.Parts[0].Err.Error(); !strings.HasPrefix(msg, "extra_00000.dcm: ") || strings.Contains(msg, dir) {
		t.Errorf("quarantine message %q: want the file relative to the source root", msg)
	}
	if len(smps) != 1 || smps[0].Images[0].Depth != 5 {
		t.Fatalf("samples %d", len(smps))
	}
}
