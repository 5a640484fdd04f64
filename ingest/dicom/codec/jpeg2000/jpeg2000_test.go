package jpeg2000

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type golden struct {
	file, sha, kind string
}

// goldens reads testdata/reference.sha256 (written by testdata/gen.sh).
func goldens(t testing.TB) []golden {
	f, err := os.Open("testdata/reference.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gs []golden
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			t.Fatalf("bad reference line %q", sc.Text())
		}
		gs = append(gs, golden{fs[1], fs[0], fs[2]})
	}
	return gs
}

// rawPlanar renders img as opj_decompress writes .rawl files: components
// planar, one byte a sample up to 8 bits, else two little-endian bytes.
// Sub-sampled components are written at their own sizes (from Planes),
// as gen.sh records them.
func rawPlanar(img *Image) []byte {
	if img.Planes != nil {
		var out []byte
		for _, p := range img.Planes {
			out = appendSamples(out, p.Pix, 0, 1, img.Precision)
		}
		return out
	}
	return rawUpsampled(img)
}

// rawUpsampled renders img.Pix, all components at the image's size, as
// opj_decompress -upsample writes .rawl files.
func rawUpsampled(img *Image) []byte {
	var out []byte
	for c := 0; c < img.Components; c++ {
		out = appendSamples(out, img.Pix, c, img.Components, img.Precision)
	}
	return out
}

func appendSamples(out []byte, pix []int32, first, step, prec int) []byte {
	for i := first; i < len(pix); i += step {
		v := pix[i]
		if prec <= 8 {
			out = append(out, byte(v))
		} else {
			out = append(out, byte(v), byte(v>>8))
		}
	}
	return out
}

func TestGoldens(t *testing.T) {
	for _, g := range goldens(t) {
		t.Run(g.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", g.file))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			// Sub-sampled images are checked against their own sizes.
			if img.Planes == nil && (img.Width != 64 || img.Height != 64) {
				t.Fatalf("decoded %dx%d, want 64x64", img.Width, img.Height)
			}
			got := rawPlanar(img)
			sum := sha256.Sum256(got)
			if hex.EncodeToString(sum[:]) == g.sha {
				return // equal to OpenJPEG (and, when lossless, to the original)
			}
			if g.kind == "lossless" {
				t.Fatalf("lossless decode differs from the original pixels")
			}
			ref := readGzip(t, filepath.Join("testdata", g.file+".ref.gz"))
			if len(ref) != len(got) {
				t.Fatalf("%d bytes, reference %d", len(got), len(ref))
			}
			wide := img.Precision > 8
			n := len(got)
			if wide {
				n /= 2
			}
			for i := 0; i < n; i++ {
				var a, r int
				if wide {
					a, r = int(int16(uint16(got[2*i])|uint16(got[2*i+1])<<8)), int(int16(uint16(ref[2*i])|uint16(ref[2*i+1])<<8))
				} else {
					a, r = int(got[i]), int(ref[i])
				}
				if a-r > 1 || r-a > 1 {
					t.Fatalf("sample %d: %d, OpenJPEG %d", i, a, r)
				}
			}
		})
	}
}

// TestUpsampled checks Image.Pix of the sub-sampled test files against
// opj_decompress -upsample (testdata/upsampled.sha256, from gen.sh).
func TestUpsampled(t *testing.T) {
	b, err := os.ReadFile("testdata/upsampled.sha256")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 2 {
			t.Fatalf("bad line %q", line)
		}
		t.Run(fs[1], func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", fs[1]))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if img.Planes == nil {
				t.Fatal("no sub-sampled planes")
			}
			if len(img.Pix) != img.Width*img.Height*img.Components {
				t.Fatalf("%d samples for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Components)
			}
			sum := sha256.Sum256(rawUpsampled(img))
			if hex.EncodeToString(sum[:]) != fs[0] {
				t.Fatal("upsampled pixels differ from opj_decompress -upsample")
			}
		})
	}
}

func readGzip(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConfig(t *testing.T) {
	tests := []struct {
		file string
		want Config
	}{
		{"u16_default.j2k", Config{64, 64, 1, 16, false}},
		{"u16_jp2.jp2", Config{64, 64, 1, 16, false}},
		{"s16.j2k", Config{64, 64, 1, 16, true}},
		{"u12.j2k", Config{64, 64, 1, 12, false}},
		{"rgb8_rct.j2k", Config{64, 64, 3, 8, false}},
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeConfig(b)
		if err != nil || got != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
}

// TestHostile feeds damaged codestreams: each must fail with an error,
// never panic or allocate beyond the budget.
func TestHostile(t *testing.T) {
	good, err := os.ReadFile("testdata/u16_layers.j2k")
	if err != nil {
		t.Fatal(err)
	}
	sizOff := bytes.Index(good, []byte{0xFF, 0x51})
	set32 := func(b []byte, off int, v uint32) []byte {
		b = append([]byte(nil), b...)
		b[off], b[off+1], b[off+2], b[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		return b
	}
	tests := []struct {
		name  string
		data  []byte
		limit int
		want  error // nil: any error
	}{
		{"empty", nil, MaxSamples, nil},
		{"soc only", good[:2], MaxSamples, ErrTruncated},
		{"truncated header", good[:60], MaxSamples, ErrTruncated},
		{"truncated data", good[:len(good)/2], MaxSamples, ErrTruncated},
		{"no EOC", good[:len(good)-2], MaxSamples, nil},
		{"huge image", set32(set32(good, sizOff+6, 1<<30), sizOff+10, 1<<30), MaxSamples, ErrTooLarge},
		{"over budget", good, 64*64 - 1, ErrTooLarge},
		{"tiny tiles", set32(set32(good, sizOff+22, 1), sizOff+26, 1), MaxSamples, nil},
		{"lying SIZ length", append(append(append([]byte(nil), good[:sizOff+2]...), 0xFF, 0xFF), good[sizOff+4:]...), MaxSamples, ErrTruncated},
		{"not j2k", []byte("hello, world"), MaxSamples, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeLimit(tt.data, tt.limit)
			if err == nil {
				t.Fatal("no error")
			}
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("%v is not an *Error", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
	// Every truncation of a valid stream errors cleanly.
	for n := 0; n < len(good)-2; n += 7 {
		if _, err := Decode(good[:n]); err == nil {
			t.Fatalf("truncated at %d: no error", n)
		}
	}
}

// TestHostilePacked damages the headers of packed-header, POC and
// sub-sampled codestreams.
func TestHostilePacked(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// patch returns a copy of name's bytes with the bytes after the first
	// occurrence of marker (skipping skip bytes: length and index) set.
	patch := func(name string, marker []byte, skip int, v ...byte) []byte {
		b := append([]byte(nil), read(name)...)
		i := bytes.Index(b, marker)
		if i < 0 {
			t.Fatalf("%s: no marker % X", name, marker)
		}
		copy(b[i+len(marker)+skip:], v)
		return b
	}
	ppm, ppt, poc, siz := []byte{0xFF, 0x60}, []byte{0xFF, 0x61}, []byte{0xFF, 0x5F}, []byte{0xFF, 0x51}
	tests := []struct {
		name string
		data []byte
		want error // nil: any error
	}{
		{"PPM block overruns", patch("u16_ppm_strip.j2k", ppm, 3, 0x7F, 0xFF, 0xFF, 0xFF), ErrTruncated},
		{"PPM block short", patch("u16_ppm_strip.j2k", ppm, 3, 0, 0, 0, 1), nil},
		{"PPT with PPM", insertBefore(read("u16_ppt.j2k"), []byte{0xFF, 0x90}, 0xFF, 0x60, 0, 7, 0, 0, 0, 0, 0), nil},
		{"PPT length lies", patch("u16_ppt.j2k", ppt, 0, 0xFF, 0xF0), ErrTruncated},
		{"POC progression 9", patch("u16_poc.j2k", poc, 2+6, 9), nil},
		{"POC segment length", patch("u16_poc.j2k", poc, 0, 0, 9), nil},
		{"sub-sampling 0", patch("u16_sub2x2.j2k", siz, 2+36+1, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			var je *Error
			if !errors.As(err, &je) {
				t.Fatalf("%v is not an *Error", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("%v, want %v", err, tt.want)
			}
		})
	}
	for _, name := range []string{"u16_ppm_tileparts.j2k", "u16_ppt_tileparts_strip.j2k", "u16_poc_tiles.j2k", "sub3_offset_pcrl.j2k"} {
		good := read(name)
		for n := 0; n < len(good)-2; n += 5 {
			if _, err := Decode(good[:n]); err == nil {
				t.Fatalf("%s truncated at %d: no error", name, n)
			}
		}
	}
}

// FuzzDecode is seeded with every test file; crashers the fuzzer finds
// belong in testdata/fuzz/FuzzDecode, which go test replays.
func FuzzDecode(f *testing.F) {
	for _, g := range goldens(f) {
		b, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeLimit(b, 1<<16)
		if err == nil && len(img.Pix) != img.Width*img.Height*img.Components {
			t.Fatalf("%d samples for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Components)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"u16_default.j2k", "u16_97.j2k"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(64 * 64 * 2)
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMutations decodes randomly damaged copies of every test file (fixed
// seed): each must decode or fail with an *Error, never panic.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, g := range goldens(t) {
		b, err := os.ReadFile(filepath.Join("testdata", g.file))
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 20; k++ {
			m := append([]byte(nil), b...)
			for j := 0; j <= rng.IntN(4); j++ {
				m[rng.IntN(len(m))] = byte(rng.IntN(256))
			}
			if _, err := DecodeLimit(m, 1<<16); err != nil {
				var je *Error
				if !errors.As(err, &je) {
					t.Fatalf("%s mutation %d: %v is not an *Error", g.file, k, err)
				}
			}
		}
	}
}

// insertBefore returns a copy of b with v inserted before the first
// occurrence of marker.
func insertBefore(b, marker []byte, v ...byte) []byte {
	i := bytes.Index(b, marker)
	out := append(append(append([]byte(nil), b[:i]...), v...), b[i:]...)
	return out
}

// dicomFrame returns the frame of a one-frame encapsulated DICOM file:
// its fragments after the Basic Offset Table, joined (GDCM's --split
// writes one frame over many).
func dicomFrame(t testing.TB, path string) []byte {
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
	var frame []byte
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
			frame = append(frame, b[i+8:i+8+n]...)
		}
		i += 8 + n
	}
	return frame
}

// TestGDCM decodes real MR slices compressed by gdcmconv --j2k
// (testdata/gdcm.sh): lossless ones must give the original pixels, the
// lossy one GDCM's (OpenJPEG's) exactly.
func TestGDCM(t *testing.T) {
	b, err := os.ReadFile("testdata/gdcm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(line)
		if len(fs) != 3 {
			t.Fatalf("bad line %q", line)
		}
		t.Run(fs[1], func(t *testing.T) {
			img, err := Decode(dicomFrame(t, filepath.Join("testdata", fs[1])))
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != 256 || img.Height != 256 || img.Components != 1 {
				t.Fatalf("decoded %dx%dx%d, want 256x256x1", img.Width, img.Height, img.Components)
			}
			if img.Reversible != (fs[2] == "lossless") {
				t.Fatalf("reversible %v for a %s file", img.Reversible, fs[2])
			}
			sum := sha256.Sum256(rawPlanar(img))
			if hex.EncodeToString(sum[:]) != fs[0] {
				t.Fatalf("pixels differ from GDCM's (%s)", fs[2])
			}
		})
	}
}
