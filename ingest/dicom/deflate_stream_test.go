package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// explicitLE encodes one explicit VR little endian element (PS3.5 §7.1.2):
// OB and OW take a 32-bit length after two reserved bytes, the rest 16 bits.
func explicitLE(g, e uint16, vr string, v []byte) []byte {
	out := binary.LittleEndian.AppendUint16(nil, g)
	out = binary.LittleEndian.AppendUint16(out, e)
	out = append(out, vr...)
	if vr == "OB" || vr == "OW" {
		out = append(out, 0, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(v)))
	} else {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(v)))
	}
	return append(out, v...)
}

// withMeta wraps a dataset in a preamble, DICM and a file meta group
// naming the transfer syntax ts.
func withMeta(ts string, ds []byte) []byte {
	out := append(make([]byte, 128), "DICM"...)
	out = append(out, explicitLE(2, 0x10, "UI", padUID(ts))...)
	return append(out, ds...)
}

// deflateRaw compresses b as raw deflate (RFC 1951), as PS3.5 §A.5 asks.
func deflateRaw(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDeflatedStream decodes native multi-frame layouts (masked and signed
// 16 bits, 32 bits, planar RGB, YBR_FULL_422, 1-bit frames that do not end
// on a byte) from one dataset stored three ways: as is, deflated and
// inflated whole, and deflated and inflated frame by frame into the
// caller's buffers (volume assembly). All must equal decodeNative on the
// whole value; frames the caller skips are inflated and dropped.
func TestDeflatedStream(t *testing.T) {
	us := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	cs := func(s string) []byte {
		if len(s)%2 == 1 {
			s += " "
		}
		return []byte(s)
	}
	cases := []struct {
		name                          string
		frames, rows, cols, spp       int
		alloc, stored, high, rep, pla int
		photometric                   string
	}{
		{"u16_bits12", 3, 4, 6, 1, 16, 12, 11, 0, 0, "MONOCHROME2"},
		{"s16_bits12_high13", 3, 4, 6, 1, 16, 12, 13, 1, 0, "MONOCHROME2"},
		{"u32", 2, 3, 5, 1, 32, 32, 31, 0, 0, "MONOCHROME2"},
		{"rgb_planar", 2, 4, 6, 3, 8, 8, 7, 0, 1, "RGB"},
		{"rgb_interleaved", 2, 4, 6, 3, 8, 8, 7, 0, 0, "RGB"},
		{"ybr_full_422", 2, 4, 6, 3, 8, 8, 7, 0, 0, "YBR_FULL_422"},
		{"bits1_odd", 3, 3, 5, 1, 1, 1, 0, 0, 0, "MONOCHROME2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &Header{Rows: c.rows, Columns: c.cols, SamplesPerPixel: c.spp, BitsAllocated: c.alloc, BitsStored: c.stored,
				HighBit: c.high, PixelRep: c.rep, PlanarConfiguration: c.pla, Photometric: c.photometric}
			dt, err := storedDType(c.alloc, c.rep)
			if err != nil {
				t.Fatal(err)
			}
			want := &PixelArray{Frames: c.frames, Rows: c.rows, Cols: c.cols, Samples: c.spp, DType: dt, Photometric: c.photometric}
			raw := make([]byte, nativeBytes(want, h))
			rng := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			for i := range raw {
				raw[i] = byte(rng.Uint32())
			}
			want.Data = make([]byte, c.frames*want.frameBytes())
			if err := decodeNative(raw, want, h, binary.LittleEndian); err != nil {
				t.Fatal(err)
			}
			vr := "OW"
			if c.alloc <= 8 {
				vr = "OB"
			}
			ds := bytes.Join([][]byte{
				explicitLE(0x0008, 0x0016, "UI", padUID("1.2.840.10008.5.1.4.1.1.7")),
				explicitLE(0x0028, 0x0002, "US", us(c.spp)),
				explicitLE(0x0028, 0x0004, "CS", cs(c.photometric)),
				explicitLE(0x0028, 0x0006, "US", us(c.pla)),
				explicitLE(0x0028, 0x0008, "IS", cs(strconv.Itoa(c.frames))),
				explicitLE(0x0028, 0x0010, "US", us(c.rows)),
				explicitLE(0x0028, 0x0011, "US", us(c.cols)),
				explicitLE(0x0028, 0x0100, "US", us(c.alloc)),
				explicitLE(0x0028, 0x0101, "US", us(c.stored)),
				explicitLE(0x0028, 0x0102, "US", us(c.high)),
				explicitLE(0x0028, 0x0103, "US", us(c.rep)),
				explicitLE(0x7FE0, 0x0010, vr, append(raw, make([]byte, len(raw)%2)...)),
			}, nil)
			native := withMeta(ExplicitVRLittleEndian, ds)
			deflated := withMeta(DeflatedExplicitVRLE, deflateRaw(t, ds))
			check := func(how string, got []byte, ph string) {
				t.Helper()
				if !bytes.Equal(got, want.Data) {
					t.Errorf("%s: decoded values differ", how)
				}
				if ph != want.Photometric {
					t.Errorf("%s: photometric %s, want %s", how, ph, want.Photometric)
				}
			}
			for _, w := range []struct {
				how  string
				data []byte
				mode parseMode
			}{{"native", native, parseAll}, {"deflated", deflated, parseAll}, {"deflated, streamed", deflated, parseStream}} {
				f, err := parseWith(w.how, w.data, true, parseOpts{mode: w.mode})
				if err != nil {
					t.Fatalf("%s: %v", w.how, err)
				}
				p, err := f.Pixels()
				if err != nil {
					t.Fatalf("%s: %v", w.how, err)
				}
				check(w.how, p.Data, p.Photometric)
			}

			// Volume assembly's way: each frame into its own slot, frame 1
			// left out.
			f, err := parseWith("streamed", deflated, true, parseOpts{mode: parseStream})
			if err != nil {
				t.Fatal(err)
			}
			fb := want.frameBytes()
			got := make([]byte, len(want.Data))
			ph, err := f.decodeFramesInto(func(i int) []byte {
				if i == 1 {
					return nil
				}
				return got[i*fb : (i+1)*fb]
			})
			if err != nil {
				t.Fatal(err)
			}
			copy(got[fb:2*fb], want.Data[fb:2*fb])
			check("frame by frame", got, ph)
			if _, err := f.Pixels(); err == nil {
				t.Error("a streamed file decoded twice: want an error")
			}
		})
	}
}

// TestDeflatedStreamBad checks a streamed deflated file whose stream ends
// early, or whose pixel data would pass the inflation limit, is reported
// with the reason, and the limit is checked before anything is inflated.
func TestDeflatedStreamBad(t *testing.T) {
	us := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	// Random values barely compress, so half the stream is past the
	// header.
	raw := make([]byte, 64*64*8)
	rng := rand.New(rand.NewPCG(2, 3))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	ds := bytes.Join([][]byte{
		explicitLE(0x0028, 0x0002, "US", us(1)),
		explicitLE(0x0028, 0x0004, "CS", []byte("MONOCHROME2 ")),
		explicitLE(0x0028, 0x0008, "IS", []byte("8 ")),
		explicitLE(0x0028, 0x0010, "US", us(64)),
		explicitLE(0x0028, 0x0011, "US", us(64)),
		explicitLE(0x0028, 0x0100, "US", us(8)),
		explicitLE(0x0028, 0x0101, "US", us(8)),
		explicitLE(0x0028, 0x0102, "US", us(7)),
		explicitLE(0x7FE0, 0x0010, "OB", raw),
	}, nil)
	z := deflateRaw(t, ds)
	cases := []struct {
		name    string
		z       []byte
		limit   int64
		wantErr string
	}{
		{"whole", z, 0, ""},
		{"cut", z[:len(z)/2], 0, "pixel data truncated"},
		{"over_limit", z, int64(len(ds)) - 1, "inflated dataset exceeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseWith(c.name, withMeta(DeflatedExplicitVRLE, c.z), true, parseOpts{mode: parseStream, maxInflated: c.limit})
			if err == nil {
				_, err = f.Pixels()
			}
			if (c.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("want %q, got %v", c.wantErr, err)
			}
		})
	}
}
