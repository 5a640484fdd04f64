package jpeg12

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frames returns the encapsulated frames of a DICOM file written by
// DCMTK (one fragment per frame); the full pixel path is tested in
// package dicom.
func frames(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF})
	if i < 0 {
		t.Fatalf("%s: no encapsulated pixel data", path)
	}
	var out [][]byte
	for i, first := i+12, true; i+8 <= len(b); first = false {
		tag := binary.LittleEndian.Uint32(b[i:])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if tag == 0xE0DDFFFE {
			break
		}
		if tag != 0xE000FFFE || i+8+n > len(b) {
			t.Fatalf("%s: bad item at %d", path, i)
		}
		if !first {
			out = append(out, b[i+8:i+8+n])
		}
		i += 8 + n
	}
	return out
}

// TestReference compares every file gen.sh made with DCMTK's dcmdjpeg
// (libjpeg 6b, islow IDCT). The goal is ±1 grey level; the same IDCT
// arithmetic makes the result exact, and the test insists on that.
func TestReference(t *testing.T) {
	names, _ := filepath.Glob("testdata/*.dcm")
	if len(names) < 7 {
		t.Fatalf("only %d test files", len(names))
	}
	for _, name := range names {
		base := strings.TrimSuffix(filepath.Base(name), ".dcm")
		t.Run(base, func(t *testing.T) {
			ref, err := os.ReadFile(strings.TrimSuffix(name, ".dcm") + ".ref")
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(frames(t, name)[0])
			if err != nil {
				t.Fatal(err)
			}
			want := make([]uint16, len(img.Pix))
			if img.Precision > 8 {
				if len(ref) != 2*len(want) {
					t.Fatalf("reference has %d bytes for %d samples", len(ref), len(want))
				}
				for i := range want {
					want[i] = binary.LittleEndian.Uint16(ref[2*i:])
				}
			} else {
				if len(ref) != len(want) {
					t.Fatalf("reference has %d bytes for %d samples", len(ref), len(want))
				}
				for i := range want {
					want[i] = uint16(ref[i])
				}
			}
			off, worst := 0, 0
			for i, v := range img.Pix {
				if d := int(v) - int(want[i]); d != 0 {
					off++
					worst = max(worst, d, -d)
				}
			}
			if worst > 1 {
				t.Fatalf("%d samples differ, by up to %d", off, worst)
			}
			if off > 0 {
				t.Errorf("%d of %d samples differ by 1 from libjpeg's islow", off, len(want))
			}
		})
	}
}

func TestHostile(t *testing.T) {
	good := frames(t, "testdata/dcmtk_ext12_q90.dcm")[0]
	sof := bytes.Index(good, []byte{0xFF, 0xC1})
	huge := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(huge[sof+5:], 65535)
	binary.BigEndian.PutUint16(huge[sof+7:], 65535)
	wide := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(wide[sof+7:], 65535)
	lying := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(lying[sof+2:], 0xFFF0)
	prog := append([]byte(nil), good...)
	prog[sof+1] = 0xC2
	tests := []struct {
		name string
		data []byte
		max  int
		want error
		msg  string
	}{
		{"huge SOF", huge, 64 * 64, ErrTooLarge, "65535x65535"},
		{"more blocks than bits", wide, MaxSamples, ErrTruncated, "blocks need"},
		{"lying SOF length", lying, MaxSamples, nil, "runs past end"},
		{"progressive", prog, MaxSamples, ErrUnsupported, "progressive"},
		{"cut in scan", good[:len(good)*2/3], MaxSamples, ErrTruncated, ""},
		{"no EOI", good[:len(good)-2], MaxSamples, ErrTruncated, "EOI"},
		{"empty", nil, MaxSamples, nil, "SOI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := DecodeLimit(tc.data, tc.max)
			if err == nil {
				t.Fatalf("decoded %dx%d", img.Width, img.Height)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v is not %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	for n := 0; n < len(good)-1; n++ {
		if _, err := Decode(good[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := DecodeConfig(frames(t, "testdata/dcmtk_ext12_u10.dcm")[0])
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (Config{Width: 64, Height: 50, Components: 1, Precision: 12}) {
		t.Fatalf("%+v", cfg)
	}
}

func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.dcm")
	for _, n := range names {
		f.Add(frames(f, n)[0])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeLimit(data, 1<<20)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("pix %d for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"dcmtk_ext12_q90", "dcmtk_ext8_q85"} {
		fr := frames(b, filepath.Join("testdata", name+".dcm"))[0]
		img, err := Decode(fr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(img.Pix) * (img.Precision + 7) / 8))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
