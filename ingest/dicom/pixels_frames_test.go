package dicom

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

// eotFile rebuilds the two-frame JPEG-LS test file (made by DCMTK's
// dcmcjpls, see codec/jpegls/testdata/README.md) as an 8-frame file
// (frames 0,1,0,1,…) whose fragments are located by an Extended Offset
// Table (7FE0,0001)/(7FE0,0002) and an empty Basic Offset Table, the
// layout PS3.3 C.7.6.3.1.8 prescribes. edit may change the table values.
func eotFile(t *testing.T, edit func(offs, lens []uint64)) (data []byte, frames [][]byte) {
	t.Helper()
	b, err := os.ReadFile("codec/jpegls/testdata/dcmtk_ls_mr_u16_2f.dcm")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("2f.dcm", b)
	if err != nil {
		t.Fatal(err)
	}
	two, err := encapsulatedFrames(f.ds[f.pix.valueOff:], 2, f.TransferSyntax)
	if err != nil {
		t.Fatal(err)
	}
	pixTag := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}
	at := bytes.LastIndex(b, pixTag)
	nf := []byte{0x28, 0x00, 0x08, 0x00, 'I', 'S', 2, 0, '2', ' '}
	i := bytes.Index(b[:at], nf)
	if at < 0 || i < 0 {
		t.Fatal("test file layout changed")
	}
	head := append([]byte{}, b[:at]...)
	head[i+8] = '8'
	item := func(v []byte) []byte {
		out := binary.LittleEndian.AppendUint32([]byte{0xFE, 0xFF, 0x00, 0xE0}, uint32(len(v)))
		return append(out, v...)
	}
	var offs, lens []uint64
	var frags []byte
	for k := range 8 {
		fr := two[k%2]
		frames = append(frames, fr)
		offs = append(offs, uint64(len(frags)))
		lens = append(lens, uint64(len(fr)))
		frags = append(frags, item(fr)...)
	}
	if edit != nil {
		edit(offs, lens)
	}
	ov := func(el uint16, v []uint64) []byte {
		out := []byte{0xE0, 0x7F, byte(el), 0, 'O', 'V', 0, 0}
		out = binary.LittleEndian.AppendUint32(out, uint32(8*len(v)))
		for _, x := range v {
			out = binary.LittleEndian.AppendUint64(out, x)
		}
		return out
	}
	data = append(head, ov(1, offs)...)
	data = append(data, ov(2, lens)...)
	data = append(data, pixTag...)
	data = append(data, item(nil)...)
	data = append(data, frags...)
	data = append(data, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0)
	return data, frames
}

// TestExtendedOffsetTable: frames found through the Extended Offset Table
// decode as the same frames of the original file; tables that point
// outside their fragments are errors naming the table.
func TestExtendedOffsetTable(t *testing.T) {
	orig, err := ReadFile("codec/jpegls/testdata/dcmtk_ls_mr_u16_2f.dcm")
	if err != nil {
		t.Fatal(err)
	}
	want, err := orig.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(offs, lens []uint64)
		wantErr string
	}{
		{"valid", nil, ""},
		{"offset past the data", func(offs, _ []uint64) { offs[3] = 1 << 40 }, "extended offset table entry 3"},
		{"offset inside a fragment", func(offs, _ []uint64) { offs[1] += 2 }, "extended offset table entry 1"},
		{"length over the fragment", func(_, lens []uint64) { lens[5] += 2 }, "extended offset table frame 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := eotFile(t, tc.edit)
			f, err := Parse("eot.dcm", data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Pixels()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Frames != 8 {
				t.Fatalf("%d frames", got.Frames)
			}
			for k := range 8 {
				if !bytes.Equal(got.Frame(k), want.Frame(k%2)) {
					t.Fatalf("frame %d differs from original frame %d", k, k%2)
				}
			}
		})
	}
}

// TestDecodeFramesParallel: a multi-frame JPEG-LS file decodes to the same
// bytes on one worker and on several, and a bad frame is reported as the
// lowest failing frame either way.
func TestDecodeFramesParallel(t *testing.T) {
	data, frames := eotFile(t, nil)
	f, err := Parse("eot.dcm", data)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := f.Pixels()
	if err != nil {
		t.Fatal(err)
	}
	bad := append([][]byte{}, frames...)
	bad[3], bad[6] = []byte{0xFF, 0xD8}, []byte{0xFF, 0xD8}
	for _, workers := range []int{1, 3, 8, 32} {
		p := *ref
		p.Data = make([]byte, len(ref.Data))
		if err := decodeFrames(frames, &p, &f.Header, workers); err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if !bytes.Equal(p.Data, ref.Data) || p.Photometric != ref.Photometric {
			t.Fatalf("%d workers: decoded pixels differ", workers)
		}
		err := decodeFrames(bad, &p, &f.Header, workers)
		if err == nil || !strings.HasPrefix(err.Error(), "frame 3:") {
			t.Fatalf("%d workers: error %v, want frame 3's", workers, err)
		}
	}
}
