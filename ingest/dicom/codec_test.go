package dicom

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCodecSyntaxes reads one file of each syntax decoded by the codec
// packages through ReadFile and Pixels (the path every source uses) and
// compares the pixels with the reference decoders' output recorded beside
// the files (see codec/*/testdata/gen.sh).
func TestCodecSyntaxes(t *testing.T) {
	lsRef := map[string]string{}
	b, err := os.ReadFile("codec/jpegls/testdata/reference.sha256")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, _ := strings.Cut(line, "  ")
		lsRef[name] = sum
	}
	tests := []struct {
		file, syntax string
		frames       int
	}{
		{"codec/jpegls/testdata/dcmtk_ls_mr_s16.dcm", JPEGLSLossless, 1},
		{"codec/jpegls/testdata/dcmtk_ls_mr_u16_2f.dcm", JPEGLSLossless, 2},
		{"codec/jpegls/testdata/dcmtk_ls_rgb8_ilv1.dcm", JPEGLSLossless, 1},
		{"codec/jpegls/testdata/dcmtk_nl_mr_u16_near2.dcm", JPEGLSNearLossless, 1},
		{"codec/jpegls/testdata/gdcm_nl_mr_u12_near3.dcm", JPEGLSNearLossless, 1},
		{"codec/jpeg12/testdata/dcmtk_ext12_q90.dcm", JPEGExtended12Bit, 1},
		{"codec/jpeg12/testdata/dcmtk_ext8_q85.dcm", JPEGExtended12Bit, 1},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			f, err := ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if f.TransferSyntax != tc.syntax {
				t.Fatalf("syntax %s", f.TransferSyntax)
			}
			p, err := f.Pixels()
			if err != nil {
				t.Fatal(err)
			}
			if p.Frames != tc.frames {
				t.Fatalf("%d frames", p.Frames)
			}
			base := strings.TrimSuffix(filepath.Base(tc.file), ".dcm")
			if want, ok := lsRef[base]; ok {
				sum := sha256.Sum256(p.Data)
				if got := hex.EncodeToString(sum[:]); got != want {
					t.Fatalf("sha256 %s, want %s", got, want)
				}
				return
			}
			ref, err := os.ReadFile(strings.TrimSuffix(tc.file, ".dcm") + ".ref")
			if err != nil {
				t.Fatal(err)
			}
			// 8-bit data go through image/jpeg, whose IDCT is not
			// libjpeg's: ±1 (the 12-bit decoder is exact).
			if len(ref) != len(p.Data) {
				t.Fatalf("%d bytes, reference %d", len(p.Data), len(ref))
			}
			step := p.DType.Size()
			for i := 0; i < len(ref); i += step {
				got, want := int(p.Data[i]), int(ref[i])
				if step == 2 {
					got |= int(p.Data[i+1]) << 8
					want |= int(ref[i+1]) << 8
				}
				if got-want > 1 || want-got > 1 {
					t.Fatalf("byte %d: %d, dcmdjpeg %d", i, got, want)
				}
			}
		})
	}
}
