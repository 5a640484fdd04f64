package dicom

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
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

// TestSeriesWarnings builds series with the defects dcm2niix warns about
// and checks each is detected and recorded, never silently fixed.
func TestSeriesWarnings(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		build    func(dir string) error
		depth    int
		volumes  int
		wantWarn string
	}{
		{"clean", func(d string) error {
			return WriteSynthSeries(d, tmpl, SynthOptions{Slices: 5, SeriesUID: "1.9.1"})
		}, 5, 1, ""},
		{"4D", func(d string) error {
			if err := WriteSynthSeries(d, tmpl, SynthOptions{Slices: 4, SeriesUID: "1.9.2", NamePrefix: "t0_"}); err != nil {
				return err
			}
			return WriteSynthSeries(d, tmpl, SynthOptions{Slices: 4, SeriesUID: "1.9.2", NamePrefix: "t1_", FirstInstance: 100})
		}, 4, 2, "4D: 2 volumes"},
		{"duplicates", func(d string) error {
			if err := WriteSynthSeries(d, tmpl, SynthOptions{Slices: 4, SeriesUID: "1.9.3"}); err != nil {
				return err
			}
			return WriteSynthSeries(d, tmpl, SynthOptions{Slices: 4, SeriesUID: "1.9.3", NamePrefix: "copy_"})
		}, 4, 1, "4 duplicate images"},
		{"missing slice", func(d string) error {
			if err := WriteSynthSeries(d, tmpl, SynthOptions{Slices: 6, SeriesUID: "1.9.4"}); err != nil {
				return err
			}
			return os.Remove(filepath.Join(d, "00003.dcm"))
		}, 5, 1, "non-uniform slice spacing"},
		{"gantry tilt", func(d string) error {
			return WriteSynthSeries(d, tmpl, SynthOptions{Slices: 5, SeriesUID: "1.9.5", SliceStep: 2, Shear: 0.5})
		}, 5, 1, "gantry tilt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.build(dir); err != nil {
				t.Fatal(err)
			}
			res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
			if err != nil || len(res.Series) != 1 {
				t.Fatalf("scan: %v, %d series", err, len(res.Series))
			}
			s := res.Series[0]
			warns := strings.Join(s.Warnings, "; ")
			if s.Depth != tc.depth || s.Volumes != tc.volumes {
				t.Fatalf("depth %d volumes %d (warnings %q)", s.Depth, s.Volumes, warns)
			}
			if tc.wantWarn == "" && warns != "" || !strings.Contains(warns, tc.wantWarn) {
				t.Fatalf("warnings %q, want %q", warns, tc.wantWarn)
			}
			imgs, err := ReadSeries(context.Background(), s, ReadOptions{Canonical: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(imgs) != tc.volumes || imgs[0].Depth != tc.depth {
				t.Fatalf("%d images of depth %d", len(imgs), imgs[0].Depth)
			}
			if tc.wantWarn != "" && !strings.Contains(imgs[0].Meta["warnings"], tc.wantWarn) {
				t.Fatalf("image meta warnings %q", imgs[0].Meta["warnings"])
			}
		})
	}
}

// TestRescaleVariants: per-slice varying slopes give a float32 volume with
// a warning; MONOCHROME1 is kept as stored and flagged for display.
func TestRescaleVariants(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 3, SeriesUID: "1.9.9", SlopeStep: 0.5, Photometric: "MONOCHROME1"}); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	if err != nil || len(res.Series) != 1 {
		t.Fatalf("scan: %v", err)
	}
	imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im := imgs[0]
	if im.DType != "float32" || !strings.Contains(im.Meta["warnings"], "vary between slices") || im.Meta["invert_for_display"] != "true" {
		t.Fatalf("%s meta %v", im.DType, im.Meta)
	}
	// Slice k = stored×(1+k/2) − 1024: the same stored voxel across slices.
	plane := im.Width * im.Height
	v := func(k int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(im.Voxels[4*(k*plane+1000):]))
	}
	stored := (v(0) + 1024)
	for k := 0; k < 3; k++ {
		if want := stored*float32(1+0.5*float64(k)) - 1024; math.Abs(float64(v(k)-want)) > 1e-3 {
			t.Fatalf("slice %d: %v, want %v", k, v(k), want)
		}
	}
}
