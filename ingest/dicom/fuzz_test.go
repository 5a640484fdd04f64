package dicom

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFiles adds every test file (whole, and its first 4 KiB) to f.
func seedFiles(f *testing.F) {
	names, _ := filepath.Glob("testdata/*.dcm")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			continue // keep the corpus small; the small files cover every syntax
		}
		f.Add(b)
	}
}

// FuzzParse feeds arbitrary bytes to the header parser and the pixel
// decoders: they must return an error or a result, never panic or
// allocate beyond what the input can justify.
//
// The allocation check matters as much as the panics: an input that makes
// the header library allocate gigabytes (a length it reads after losing
// step with the element walker) takes seconds per execution, and the
// fuzzer then shows no progress at all instead of a failure. With the
// check such an input fails at once and is kept under testdata/fuzz.
func FuzzParse(f *testing.F) {
	seedFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var p *PixelArray
		var perr error
		n := allocated(func() {
			fl, err := Parse("fuzz.dcm", data)
			if err != nil {
				perr = err
				return
			}
			p, perr = fl.Pixels()
		})
		// Decoded pixels may be up to maxExpansion times the input (plus
		// one MiB), and parsing needs a few copies of the input.
		budget := uint64(32<<20) + uint64(len(data))*(maxExpansion+16)
		if n > budget {
			t.Fatalf("%d input bytes allocated %d MiB (budget %d MiB)", len(data), n>>20, budget>>20)
		}
		if perr == nil && int64(len(p.Data)) != int64(p.Frames)*int64(p.frameBytes()) {
			t.Fatalf("decoded %d bytes for %d frames of %d", len(p.Data), p.Frames, p.frameBytes())
		}

		// Volume assembly parses with parseStream (a deflated file's
		// pixels inflated as they are decoded): under an inflation limit
		// the input can justify, it must stay in the same budget and,
		// where both decode, agree with the whole decode.
		var q *PixelArray
		var qerr error
		n = allocated(func() {
			fl, err := parseWith("fuzz.dcm", data, true, parseOpts{mode: parseStream, maxInflated: int64(len(data))*maxExpansion + 1<<20})
			if err != nil {
				qerr = err
				return
			}
			q, qerr = fl.Pixels()
		})
		if n > budget {
			t.Fatalf("streamed: %d input bytes allocated %d MiB (budget %d MiB)", len(data), n>>20, budget>>20)
		}
		if perr == nil && qerr == nil && (!bytes.Equal(p.Data, q.Data) || p.Photometric != q.Photometric) {
			t.Fatalf("streamed decode differs from the whole decode")
		}
	})
}

// FuzzRLE exercises the RLE segment decoder directly.
func FuzzRLE(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 64, 0, 0, 0}, 4, 4, 1, 1)
	b, err := os.ReadFile("testdata/pydicom_SC_rgb_rle_16bit.dcm")
	if err == nil {
		if fl, err := Parse("seed", b); err == nil && fl.Encapsulated {
			if fr, err := encapsulatedFrames(fl.ds[fl.pix.valueOff:], 1, RLELossless); err == nil {
				f.Add(fr[0], 100, 100, 3, 2)
			}
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte, rows, cols, samples, bps int) {
		if rows <= 0 || cols <= 0 || rows*cols > 1<<16 || samples < 1 || samples > 3 || bps < 1 || bps > 4 {
			return
		}
		dst := make([]byte, rows*cols*samples*bps)
		_ = decodeRLE(frame, dst, rows, cols, samples, bps)
	})
}

// FuzzWalkTar walks arbitrary bytes as a tar: the walk must end in an
// error or nil, never panic, and every member it places (tarMember.hdr,
// .at) must lie where the ranged read of a bucket's tar will look for it:
// its bytes at at, and its headers from hdr parsing again to its name and
// size.
func FuzzWalkTar(f *testing.F) {
	for _, format := range []tar.Format{tar.FormatUSTAR, tar.FormatPAX, tar.FormatGNU} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i, name := range []string{"a/1.dcm", strings.Repeat("long/", 30) + "2.dcm", "b/3"} {
			if format == tar.FormatUSTAR && len(name) > 100 {
				continue
			}
			data := bytes.Repeat([]byte{byte(i + 1)}, 700*i)
			if err := tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg, Format: format}); err != nil {
				f.Fatal(err)
			}
			if _, err := tw.Write(data); err != nil {
				f.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = walkTarReader(context.Background(), "x.tar", bytes.NewReader(b), func(m tarMember) error {
			data, err := io.ReadAll(m.r)
			if err != nil || m.at < 0 {
				return err
			}
			if m.hdr < 0 || m.at < m.hdr+512 || m.at+m.ref.Size > int64(len(b)) || !bytes.Equal(b[m.at:m.at+m.ref.Size], data) {
				t.Fatalf("%s: placed at %d (headers at %d), not where its %d bytes are", m.ref, m.at, m.hdr, len(data))
			}
			if err := checkMemberHeader(b[m.hdr:m.at], m.ref, m.hdr); err != nil {
				t.Fatal(err)
			}
			return nil
		})
	})
}
