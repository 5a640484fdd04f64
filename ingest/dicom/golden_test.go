package dicom

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden is one record of testdata/golden.json (see make_golden.py).
type golden struct {
	TransferSyntax string `json:"transfer_syntax"`
	Shape          []int  `json:"shape"`
	DType          string `json:"dtype"`
	SHA256         string `json:"sha256"`
	Photometric    string `json:"photometric"`
	Lossy          string `json:"lossy"`
	RGBDType       string `json:"rgb_dtype"`
	RGBSHA256      string `json:"rgb_sha256"`
	ModalityLUT    *struct {
		DType  string `json:"dtype"`
		SHA256 string `json:"sha256"`
	} `json:"modality_lut"`
	Error string `json:"error"`
}

func loadGolden(t testing.TB) map[string]golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// lossyTolerance is the largest per-sample difference allowed between
// image/jpeg's IDCT and libjpeg's (both conform to the T.81 accuracy test; chroma upsampling matches exactly).
const lossyTolerance = 1

// TestGoldenPixels decodes every test file and compares with pydicom+gdcm.
func TestGoldenPixels(t *testing.T) {
	for name, g := range loadGolden(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			f, err := ReadFile(path)
			if g.Error != "" && g.SHA256 == "" {
				// pydicom cannot decode it: we must not panic, and either
				// decode or give a reason naming the file.
				if err == nil {
					_, err = f.Pixels()
				}
				if err != nil && !strings.Contains(err.Error(), name) {
					t.Errorf("error does not name the file: %v", err)
				}
				t.Logf("pydicom: %s; medmd: %v", g.Error, err)
				return
			}
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			p, err := f.Pixels()
			if !Decodable(f.TransferSyntax) && f.CanDecode() != nil {
				if err == nil || !errors.Is(err, ErrUnsupportedSyntax) || !strings.Contains(err.Error(), f.TransferSyntax) {
					t.Fatalf("want unsupported transfer syntax error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("pixels: %v", err)
			}
			shape := []int{p.Frames, p.Rows, p.Cols, p.Samples}
			if !equalInts(shape, g.Shape) || string(p.DType) != g.DType {
				t.Fatalf("shape %v %s, want %v %s", shape, p.DType, g.Shape, g.DType)
			}
			if g.Lossy != "" {
				ref := readGz(t, filepath.Join("testdata", g.Lossy))
				if len(ref) != len(p.Data) {
					t.Fatalf("lossy reference has %d bytes, want %d", len(ref), len(p.Data))
				}
				maxd, sum := 0, 0
				for i := range ref {
					d := int(ref[i]) - int(p.Data[i])
					if d < 0 {
						d = -d
					}
					sum += d
					maxd = max(maxd, d)
				}
				t.Logf("lossy: max diff %d, mean %.3f", maxd, float64(sum)/float64(len(ref)))
				if maxd > lossyTolerance {
					t.Fatalf("lossy JPEG differs from libjpeg by up to %d (tolerance %d)", maxd, lossyTolerance)
				}
				return
			}
			sum := sha256.Sum256(p.Data)
			if got := hex.EncodeToString(sum[:]); got != g.SHA256 {
				t.Fatalf("sha256 %s, want %s", got, g.SHA256)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readGz(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenColour builds images from the colour test files (PALETTE
// COLOR, YBR) and compares their RGB channels with pydicom's
// apply_color_lut / convert_color_space.
func TestGoldenColour(t *testing.T) {
	for name, g := range loadGolden(t) {
		if g.RGBSHA256 == "" || g.Lossy != "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			res, err := Scan(context.Background(), []string{filepath.Join("testdata", name)}, ScanOptions{IncludeDerived: true, IncludeLocalizers: true})
			if err != nil || len(res.Series) != 1 {
				t.Fatalf("scan: %v %+v", err, res)
			}
			imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			im := imgs[0]
			if im.Channels != 3 || string(im.DType) != g.RGBDType {
				t.Fatalf("%d channels %s, want 3 %s", im.Channels, im.DType, g.RGBDType)
			}
			sum := sha256.Sum256(im.Voxels)
			if got := hex.EncodeToString(sum[:]); got != g.RGBSHA256 {
				t.Fatalf("rgb sha256 %s, want %s", got, g.RGBSHA256)
			}
		})
	}
}

// TestGoldenModalityLUT builds single-slice grey images and compares their
// rescaled values (HU for CT) with pydicom's apply_modality_lut, stored in
// the type medmd documents (see make_golden.py).
func TestGoldenModalityLUT(t *testing.T) {
	for name, g := range loadGolden(t) {
		if g.ModalityLUT == nil || !Decodable(g.TransferSyntax) {
			continue // unsupported syntaxes are covered by TestGoldenPixels
		}
		t.Run(name, func(t *testing.T) {
			res, err := Scan(context.Background(), []string{filepath.Join("testdata", name)}, ScanOptions{IncludeDerived: true, IncludeLocalizers: true})
			if err != nil || len(res.Series) != 1 {
				t.Fatalf("scan: %v %+v", err, res)
			}
			imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			im := imgs[0]
			sum := sha256.Sum256(im.Voxels)
			if string(im.DType) != g.ModalityLUT.DType || hex.EncodeToString(sum[:]) != g.ModalityLUT.SHA256 {
				t.Fatalf("%s %x, want %s %s", im.DType, sum, g.ModalityLUT.DType, g.ModalityLUT.SHA256)
			}
		})
	}
}
