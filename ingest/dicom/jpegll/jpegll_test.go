package jpegll

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// fragments extracts the first JPEG stream of every encapsulated test file
// that is lossless JPEG (a crude scan for SOI…EOI after the pixel data tag;
// enough for seeds and unit tests).
func streams(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	names, _ := filepath.Glob("../testdata/*.dcm")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+4 < len(b); i++ {
			if b[i] == 0xFF && b[i+1] == 0xD8 && b[i+2] == 0xFF {
				// find the SOF marker to check it is lossless
				j := i + 2
				lossless := false
				for j+4 < len(b) && b[j] == 0xFF {
					m := b[j+1]
					if m == 0xC3 {
						lossless = true
					}
					if m == 0xDA || m >= 0xC0 && m <= 0xCF && m != 0xC4 {
						break
					}
					j += 2 + int(binary.BigEndian.Uint16(b[j+2:]))
				}
				if lossless {
					out[filepath.Base(n)] = b[i:]
				}
				break
			}
		}
	}
	return out
}

func TestDecodeAllPredictors(t *testing.T) {
	got := streams(t)
	for _, want := range []string{"dcmtk_mr_sv1.dcm", "dcmtk_mr_sv4.dcm", "dcmtk_mr_sv7.dcm", "dcmtk_rgb_sv4.dcm"} {
		s, ok := got[want]
		if !ok {
			t.Fatalf("no lossless stream found in %s", want)
		}
		img, err := Decode(s)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if img.Width == 0 || len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%s: bad image %+v", want, img.Width)
		}
	}
	// Truncation at every prefix must error or decode, never panic.
	s := got["dcmtk_mr_sv1.dcm"]
	for n := 0; n < len(s); n += 97 {
		Decode(s[:n])
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range streams(f) {
		if len(s) < 8<<10 {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("pix %d for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}
