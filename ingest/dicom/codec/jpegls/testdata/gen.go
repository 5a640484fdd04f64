//go:build ignore

// gen.go makes the small uncompressed DICOM inputs that gen.sh compresses
// with the reference encoders, and extracts pixel data from the reference
// decoders' output.
//
//	go run gen.go inputs SRC.dcm OUTDIR    crops SRC's pixels into test images
//	go run gen.go pixels IN.dcm OUT.raw     writes IN's native pixel data
//
// Every input is cut from one real MR slice (SRC, 256×256, 16-bit), so
// the test images carry real anatomy and noise rather than synthetic
// patterns a codec compresses trivially.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go run gen.go inputs SRC.dcm OUTDIR | pixels IN.dcm OUT.raw")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "inputs":
		err = inputs(os.Args[2], os.Args[3])
	case "pixels":
		var px []byte
		px, err = pixelData(os.Args[2])
		if err == nil {
			err = os.WriteFile(os.Args[3], px, 0o644)
		}
	default:
		err = fmt.Errorf("unknown verb %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// pixelData returns the value of the last native (7FE0,0010) element of
// an explicit VR little endian file.
func pixelData(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, vr := range []string{"OW", "OB"} {
		tag := append([]byte{0xE0, 0x7F, 0x10, 0x00}, vr...)
		i := bytes.LastIndex(b, append(tag, 0, 0))
		if i < 0 {
			continue
		}
		n := int(binary.LittleEndian.Uint32(b[i+8:]))
		if n == -1 || i+12+n > len(b) {
			return nil, fmt.Errorf("%s: pixel data length %d", path, n)
		}
		return b[i+12 : i+12+n], nil
	}
	return nil, fmt.Errorf("%s: no native pixel data", path)
}

type img struct {
	name                  string
	rows, cols, samples   int
	bitsAlloc, bitsStored int
	signed                bool
	frames                int
	px                    []byte
}

func inputs(src, dir string) error {
	raw, err := pixelData(src)
	if err != nil {
		return err
	}
	const W = 256
	at := func(y, x int) int { return int(int16(binary.LittleEndian.Uint16(raw[2*(y*W+x):]))) }
	// crop returns h×w samples of the slice from (y0, x0), mapped by f.
	crop := func(y0, x0, h, w int, f func(v int) int) []int {
		out := make([]int, 0, h*w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out = append(out, f(at(y0+y, x0+x)))
			}
		}
		return out
	}
	pack := func(v []int, bitsAlloc int) []byte {
		var b []byte
		for _, s := range v {
			if bitsAlloc == 8 {
				b = append(b, byte(s))
			} else {
				b = binary.LittleEndian.AppendUint16(b, uint16(s))
			}
		}
		return b
	}
	id := func(v int) int { return v }
	// The slice's values span 0..884: spread them over each bit depth.
	scale := func(bits int) func(int) int {
		return func(v int) int { return min(v*(1<<bits-1)/884, 1<<bits-1) }
	}
	// rgb interleaves three neighbouring crops as R, G, B.
	rgb := func(h, w int) []byte {
		r := crop(96, 96, h, w, scale(8))
		g := crop(100, 80, h, w, scale(8))
		bl := crop(80, 110, h, w, scale(8))
		var out []byte
		for i := range r {
			out = append(out, byte(r[i]), byte(g[i]), byte(bl[i]))
		}
		return out
	}
	imgs := []img{
		{name: "mr_s16", rows: 64, cols: 64, samples: 1, bitsAlloc: 16, bitsStored: 16, signed: true, px: pack(crop(96, 96, 64, 64, id), 16)},
		{name: "mr_u16", rows: 64, cols: 64, samples: 1, bitsAlloc: 16, bitsStored: 16, px: pack(crop(96, 96, 64, 64, func(v int) int { return v*74 + v&63 }), 16)},
		{name: "mr_u12", rows: 64, cols: 60, samples: 1, bitsAlloc: 16, bitsStored: 12, px: pack(crop(70, 100, 64, 60, scale(12)), 16)},
		{name: "mr_u10", rows: 50, cols: 64, samples: 1, bitsAlloc: 16, bitsStored: 10, px: pack(crop(120, 90, 50, 64, scale(10)), 16)},
		{name: "mr_u8", rows: 64, cols: 64, samples: 1, bitsAlloc: 8, bitsStored: 8, px: pack(crop(96, 96, 64, 64, scale(8)), 8)},
		{name: "mr_u5", rows: 48, cols: 40, samples: 1, bitsAlloc: 8, bitsStored: 5, px: pack(crop(100, 100, 48, 40, scale(5)), 8)},
		{name: "mr_u2", rows: 40, cols: 40, samples: 1, bitsAlloc: 8, bitsStored: 2, px: pack(crop(100, 100, 40, 40, scale(2)), 8)},
		{name: "rgb8", rows: 48, cols: 48, samples: 3, bitsAlloc: 8, bitsStored: 8, px: rgb(48, 48)},
		// Two frames, with all-zero background rows so run mode gets long runs.
		{name: "mr_u16_2f", rows: 64, cols: 64, samples: 1, bitsAlloc: 16, bitsStored: 16, frames: 2,
			px: append(pack(crop(0, 96, 64, 64, id), 16), pack(crop(30, 100, 64, 64, id), 16)...)},
	}
	for _, im := range imgs {
		if err := os.WriteFile(filepath.Join(dir, im.name+".dcm"), im.dicom(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dicom writes an explicit VR little endian Secondary Capture file.
func (im img) dicom() []byte {
	var ds, meta bytes.Buffer
	elem := func(b *bytes.Buffer, group, el uint16, vr string, v []byte) {
		if len(v)%2 == 1 {
			pad := byte(' ')
			if vr == "UI" || vr == "OB" {
				pad = 0
			}
			v = append(v, pad)
		}
		binary.Write(b, binary.LittleEndian, [2]uint16{group, el})
		b.WriteString(vr)
		switch vr {
		case "OB", "OW", "UN", "SQ", "UT":
			b.Write([]byte{0, 0})
			binary.Write(b, binary.LittleEndian, uint32(len(v)))
		default:
			binary.Write(b, binary.LittleEndian, uint16(len(v)))
		}
		b.Write(v)
	}
	us := func(v int) []byte { return binary.LittleEndian.AppendUint16(nil, uint16(v)) }
	const sc = "1.2.840.10008.5.1.4.1.1.7"
	sop := "2.25.1" + fmt.Sprint(len(im.name)) + fmt.Sprint(len(im.px))
	elem(&meta, 2, 1, "OB", []byte{0, 1})
	elem(&meta, 2, 2, "UI", []byte(sc))
	elem(&meta, 2, 3, "UI", []byte(sop))
	elem(&meta, 2, 0x10, "UI", []byte("1.2.840.10008.1.2.1"))
	elem(&meta, 2, 0x12, "UI", []byte("1.2.826.0.1.3680043.2.1143.107.104.103.115"))
	photometric := "MONOCHROME2"
	if im.samples == 3 {
		photometric = "RGB"
	}
	elem(&ds, 8, 0x16, "UI", []byte(sc))
	elem(&ds, 8, 0x18, "UI", []byte(sop))
	elem(&ds, 8, 0x60, "CS", []byte("OT"))
	elem(&ds, 0x10, 0x10, "PN", []byte("TEST^"+im.name))
	elem(&ds, 0x10, 0x20, "LO", []byte("TEST"))
	elem(&ds, 0x20, 0xD, "UI", []byte("2.25.11"))
	elem(&ds, 0x20, 0xE, "UI", []byte("2.25.12"))
	elem(&ds, 0x28, 2, "US", us(im.samples))
	elem(&ds, 0x28, 4, "CS", []byte(photometric))
	if im.samples > 1 {
		elem(&ds, 0x28, 6, "US", us(0))
	}
	if im.frames > 1 {
		elem(&ds, 0x28, 8, "IS", []byte(fmt.Sprint(im.frames)))
	}
	elem(&ds, 0x28, 0x10, "US", us(im.rows))
	elem(&ds, 0x28, 0x11, "US", us(im.cols))
	elem(&ds, 0x28, 0x100, "US", us(im.bitsAlloc))
	elem(&ds, 0x28, 0x101, "US", us(im.bitsStored))
	elem(&ds, 0x28, 0x102, "US", us(im.bitsStored-1))
	rep := 0
	if im.signed {
		rep = 1
	}
	elem(&ds, 0x28, 0x103, "US", us(rep))
	vr := "OW"
	if im.bitsAlloc == 8 {
		vr = "OB"
	}
	elem(&ds, 0x7FE0, 0x10, vr, im.px)

	var out bytes.Buffer
	out.Write(make([]byte, 128))
	out.WriteString("DICM")
	elem(&out, 2, 0, "UL", binary.LittleEndian.AppendUint32(nil, uint32(meta.Len())))
	out.Write(meta.Bytes())
	out.Write(ds.Bytes())
	return out.Bytes()
}
