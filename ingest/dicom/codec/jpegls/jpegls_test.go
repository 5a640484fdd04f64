package jpegls

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frames returns the encapsulated frames of a DICOM file written by the
// reference tools (one fragment per frame, as DCMTK and GDCM write them);
// the full pixel path is tested in package dicom.
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
	i += 12
	var out [][]byte
	for first := true; i+8 <= len(b); first = false {
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

func references(t testing.TB) map[string]string {
	f, err := os.Open("testdata/reference.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			out[name] = sum
		}
	}
	return out
}

// pixelBytes lays samples out as DICOM native pixel data does (one byte
// per sample up to 8 bits, else two, little endian).
func pixelBytes(img *Image) []byte {
	if img.Precision <= 8 {
		out := make([]byte, len(img.Pix))
		for i, v := range img.Pix {
			out[i] = byte(v)
		}
		return out
	}
	out := make([]byte, 2*len(img.Pix))
	for i, v := range img.Pix {
		binary.LittleEndian.PutUint16(out[2*i:], v)
	}
	return out
}

// TestReference decodes every file gen.sh made and compares the pixels
// with the SHA-256 of what CharLS (through DCMTK's dcmdjpls) decodes;
// for lossless files that is the original image, for near-lossless ones
// the reference decoder's output, which a conforming decoder reproduces
// exactly.
func TestReference(t *testing.T) {
	refs := references(t)
	if len(refs) < 20 {
		t.Fatalf("only %d references", len(refs))
	}
	for name, want := range refs {
		t.Run(name, func(t *testing.T) {
			h := sha256.New()
			for i, fr := range frames(t, filepath.Join("testdata", name+".dcm")) {
				img, err := Decode(fr)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if lossless := strings.Contains(name, "_ls_"); lossless != (img.Near == 0) {
					t.Errorf("frame %d: NEAR %d", i, img.Near)
				}
				h.Write(pixelBytes(img))
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != want {
				t.Errorf("pixels sha256 %s, reference %s", got, want)
			}
		})
	}
}

// TestLSESegment makes sure the custom-parameter files really carry an
// LSE preset segment (else the test above would not cover it).
func TestLSESegment(t *testing.T) {
	for _, name := range []string{"dcmtk_ls_mr_u12_lse", "dcmtk_ls_mr_u8_lse", "dcmtk_nl_mr_u12_near1_lse"} {
		fr := frames(t, filepath.Join("testdata", name+".dcm"))[0]
		if !bytes.Contains(fr, []byte{0xFF, 0xF8, 0, 13, 1}) {
			t.Errorf("%s: no LSE id 1 segment", name)
		}
	}
}

// restartStream splices separately coded horizontal strips of one image
// into a single stream with a restart interval of the strip height. T.87
// resets every coding variable and the prediction lines at a restart
// marker, so such a stream decodes to the strips stacked.
func restartStream(t *testing.T, strips [][]byte, rows int) []byte {
	t.Helper()
	var out []byte
	for k, s := range strips {
		sos := bytes.Index(s, []byte{0xFF, 0xDA})
		hdrLen := int(binary.BigEndian.Uint16(s[sos+2:]))
		body := s[sos+2+hdrLen : scanEnd(s, sos+2+hdrLen)]
		if k == 0 {
			hdr := append([]byte(nil), s[:sos]...)
			sof := bytes.Index(hdr, []byte{0xFF, 0xF7})
			binary.BigEndian.PutUint16(hdr[sof+5:], uint16(rows*len(strips)))
			hdr = append(hdr, 0xFF, 0xDD, 0, 4, 0, byte(rows))
			out = append(hdr, s[sos:sos+2+hdrLen]...)
		} else {
			out = append(out, 0xFF, mRST0+byte((k-1)&7))
		}
		out = append(out, body...)
	}
	return append(out, 0xFF, mEOI)
}

func TestRestartInterval(t *testing.T) {
	// The 2-frame file's frames are 64 rows of the same width each:
	// strips of a 192-row image.
	fr := frames(t, "testdata/dcmtk_ls_mr_u16_2f.dcm")
	want := []uint16{}
	for _, f := range fr {
		img, err := Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, img.Pix...)
	}
	s := restartStream(t, [][]byte{fr[0], fr[1], fr[0]}, 64)
	img, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, want[:64*64]...)
	if img.Height != 192 || len(img.Pix) != len(want) {
		t.Fatalf("got %dx%d", img.Width, img.Height)
	}
	for i := range want {
		if img.Pix[i] != want[i] {
			t.Fatalf("sample %d: %d, want %d", i, img.Pix[i], want[i])
		}
	}
	// A wrong RST number is an error.
	bad := bytes.Replace(s, []byte{0xFF, 0xD1}, []byte{0xFF, 0xD5}, 1)
	if _, err := Decode(bad); err == nil || !strings.Contains(err.Error(), "RST1") {
		t.Fatalf("wrong RST: %v", err)
	}
}

func TestHostile(t *testing.T) {
	good := frames(t, "testdata/dcmtk_ls_mr_u12.dcm")[0]
	sof := bytes.Index(good, []byte{0xFF, 0xF7})
	sos := bytes.Index(good, []byte{0xFF, 0xDA})
	huge := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(huge[sof+5:], 65535)
	binary.BigEndian.PutUint16(huge[sof+7:], 65535)
	tall := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(tall[sof+5:], 65535)
	mapping := append([]byte(nil), good[:sos]...)
	mapping = append(mapping, 0xFF, 0xF8, 0, 5, 2, 1, 1)
	mapping = append(mapping, good[sos:]...)
	tm := append([]byte(nil), good...)
	tm[sos+6] = 1 // first component's mapping table selector
	lying := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(lying[sof+2:], 0xFFF0)
	tests := []struct {
		name string
		data []byte
		max  int
		want error  // errors.Is target, or nil
		msg  string // substring of the message
	}{
		{"huge SOF", huge, 64 * 64, ErrTooLarge, "65535x65535"},
		{"huge SOF default budget", huge, MaxSamples, ErrTooLarge, "65535x65535"},
		{"more lines than bits", tall, MaxSamples, ErrTruncated, "65535 lines"},
		{"mapping table LSE", mapping, MaxSamples, ErrMappingTable, "LSE id 2"},
		{"mapping table in SOS", tm, MaxSamples, ErrMappingTable, "mapping table 1"},
		{"lying SOF length", lying, MaxSamples, nil, "runs past end"},
		{"cut in scan", good[:len(good)/2], MaxSamples, ErrTruncated, ""},
		{"no EOI", good[:len(good)-2], MaxSamples, ErrTruncated, "EOI"},
		{"empty", nil, MaxSamples, nil, "SOI"},
		{"baseline JPEG", []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0}, MaxSamples, nil, "not a JPEG-LS"},
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
	// Every prefix of a stream is an error, never a panic or a partial image.
	for n := 0; n < len(good)-1; n++ {
		if _, err := Decode(good[:n]); err == nil {
			t.Fatalf("prefix of %d bytes decoded", n)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := DecodeConfig(frames(t, "testdata/dcmtk_ls_rgb8_ilv2.dcm")[0])
	if err != nil {
		t.Fatal(err)
	}
	if cfg != (Config{Width: 48, Height: 48, Components: 3, Precision: 8}) {
		t.Fatalf("%+v", cfg)
	}
}

func FuzzDecode(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.dcm")
	for _, n := range names {
		for _, fr := range frames(f, n) {
			f.Add(fr)
		}
	}
	// Run with a short -fuzzminimizetime (-fuzzminimizetime=5s): Go
	// minimises every new interesting input by trying to drop each byte
	// and each byte range, O(n²) execs for an n-byte input, reporting no
	// execs until it is done. With seed frames of 3–9 KB and the default
	// 60 s, the fuzzer sat at its baseline count for most of a minute after
	// every find. The limit keeps each exec seed-sized (the seeds are at
	// most 64×64×3 samples): a mutated SOF that claims a wide frame is
	// otherwise filled by run mode from a few bytes (2^15 samples per
	// bit), a million samples per exec.
	const fuzzMaxSamples = 1 << 15
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeLimit(data, fuzzMaxSamples)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("pix %d for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"dcmtk_ls_mr_u16", "dcmtk_ls_rgb8_ilv2", "dcmtk_nl_mr_u16_near2"} {
		fr := frames(b, filepath.Join("testdata", name+".dcm"))[0]
		img, err := Decode(fr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(pixelBytes(img))))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
