package dicom

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSidecarMatchesDcm2niix converts real series and compares the
// sidecar's BIDS keys with what dcm2niix -b y wrote for the same files
// (testdata/dcm2niix_sidecar): same key names, same values and units. The
// keys listed in want must be present in both.
func TestSidecarMatchesDcm2niix(t *testing.T) {
	tests := []struct {
		name   string
		in     func(t *testing.T) string
		golden string
		deid   DeidOptions
		want   []string
		absent []string
	}{
		{
			name:   "siemens mosaic dwi",
			in:     func(t *testing.T) string { return mosaicDir(t, asStored) },
			golden: "nibabel_siemens_dwi.json",
			want: []string{"Modality", "MagneticFieldStrength", "Manufacturer", "ManufacturersModelName", "ImageType",
				"SeriesNumber", "AcquisitionTime", "AcquisitionNumber", "SliceThickness", "SpacingBetweenSlices",
				"EchoTime", "RepetitionTime", "FlipAngle", "ScanOptions", "ImageOrientationPatientDICOM"},
			absent: []string{"SeriesDescription", "ProtocolName"},
		},
		{
			name:   "siemens mosaic dwi, descriptions kept",
			in:     func(t *testing.T) string { return mosaicDir(t, asStored) },
			golden: "nibabel_siemens_dwi.json",
			deid:   DeidOptions{KeepDescriptions: true, Dates: DatesKeep},
			want:   []string{"SeriesDescription", "ProtocolName", "EchoTime", "RepetitionTime"},
		},
		{
			name: "ge ct",
			in: func(t *testing.T) string {
				dir := filepath.Join(t.TempDir(), "in")
				copyFile(t, filepath.Join("testdata", "dcmtk_ct_sv5.dcm"), filepath.Join(dir, "ct.dcm"))
				return dir
			},
			golden: "dcmtk_ct_sv5.json",
			deid:   DeidOptions{Dates: DatesKeep},
			want: []string{"Modality", "Manufacturer", "ManufacturersModelName", "ImageType", "SeriesNumber",
				"AcquisitionTime", "AcquisitionNumber", "ConvolutionKernel", "ScanOptions"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ref map[string]any
			b, err := os.ReadFile(filepath.Join("testdata", "dcm2niix_sidecar", tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			rep, err := Convert(context.Background(), tc.in(t), t.TempDir(), ConvertOptions{Deid: tc.deid})
			if err != nil || len(rep.Written) == 0 {
				t.Fatalf("convert: %v, %+v", err, rep)
			}
			var got map[string]any
			b, err = os.ReadFile(rep.Written[0].Sidecar)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.want {
				if _, ok := got[k]; !ok {
					t.Errorf("sidecar lacks %s (dcm2niix: %v)", k, ref[k])
				}
				if _, ok := ref[k]; !ok {
					t.Errorf("dcm2niix's sidecar lacks %s: the test's list is wrong", k)
				}
			}
			for _, k := range tc.absent {
				if v, ok := got[k]; ok {
					t.Errorf("sidecar has %s = %v although descriptions are not kept", k, v)
				}
			}
			// Every key both write must agree, except the free texts,
			// which de-identification cleans (cleanDescription), and the
			// converter's name.
			for k, rv := range ref {
				gv, ok := got[k]
				if !ok || k == "SeriesDescription" || k == "ProtocolName" || k == "ConversionSoftware" {
					continue
				}
				if !sameJSON(gv, rv) {
					t.Errorf("%s = %v, dcm2niix %v", k, gv, rv)
				}
			}
		})
	}
}

// sameJSON compares decoded JSON values, numbers to dcm2niix's six
// significant digits.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-5*math.Max(1, math.Abs(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// TestExpandName fills dcm2niix-style file name templates, with the free
// texts replaced by the modality unless descriptions are kept.
func TestExpandName(t *testing.T) {
	h := &Header{Modality: "MR", ProtocolName: "CBU_DTI 64D", SeriesDescription: "dwi b1000", SeriesNumber: 12,
		AcquisitionNumber: 3, Manufacturer: "SIEMENS", Attrs: map[uint32]string{}}
	keep := DeidOptions{KeepDescriptions: true}
	tests := []struct {
		tmpl string
		o    DeidOptions
		want string
	}{
		{"%p_%s", DeidOptions{}, "MR_12"},
		{"%p_%s", keep, "CBU_DTI_64D_12"},
		{"%d_%4s", keep, "dwi_b1000_0012"},
		{"%d", DeidOptions{}, "MR"},
		{"%m_%y_%u_%e", DeidOptions{}, "Siemens_MR_3_1"},
		{"sub/../%s", DeidOptions{}, "sub_.._12"},
	}
	for _, tc := range tests {
		if got := ExpandName(tc.tmpl, h, tc.o); got != tc.want {
			t.Errorf("ExpandName(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	for _, bad := range []string{"%i", "%n_%s", "%t", "%k"} {
		if err := checkNameTemplate(bad); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
}
