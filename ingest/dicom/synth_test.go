package dicom

import (
	"context"
	"os"
	"testing"
)

// TestSynthSeries writes a replicated CT series with shuffled names plus a
// localizer and checks Scan orders it, skips the localizer and reads HU.
func TestSynthSeries(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 7, SeriesUID: "1.2.3.4", SliceStep: 2}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 2, SeriesUID: "1.2.3.5", ImageType: `ORIGINAL\PRIMARY\LOCALIZER`, NamePrefix: "loc"}); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 || res.Series[0].Depth != 7 {
		for _, s := range res.Series {
			t.Logf("series %s depth %d warnings %v", s.ID, s.Depth, s.Warnings)
		}
		t.Fatalf("got %d series, skipped %v", len(res.Series), res.Skipped)
	}
	s := res.Series[0]
	for i, sl := range s.Slices {
		if sl.Hdr.InstanceNumber != i+1 {
			t.Fatalf("slice %d is instance %d", i, sl.Hdr.InstanceNumber)
		}
	}
	if s.Spacing[2] != 2 {
		t.Fatalf("slice spacing %v", s.Spacing)
	}
	imgs, err := ReadSeries(context.Background(), s, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if imgs[0].DType != "int16" || imgs[0].Depth != 7 {
		t.Fatalf("%s depth %d", imgs[0].DType, imgs[0].Depth)
	}
}
