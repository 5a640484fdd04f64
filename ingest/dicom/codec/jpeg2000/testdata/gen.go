//go:build ignore

// gen.go cuts the raw little-endian test images that gen.sh compresses
// with opj_compress out of one real MR slice:
//
//	go run gen.go SRC.dcm OUTDIR
//
// writes OUTDIR/{mr_u16,mr_s16,mr_u12,mr_u8,rgb8,sub3,sub2}.rawl, each 64×64 from
// the middle of SRC (256×256, 16-bit, explicit VR little endian), so the
// test codestreams carry real anatomy and noise.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run gen.go SRC.dcm OUTDIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// pixelData returns the value of the last native (7FE0,0010) OW element.
func pixelData(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tag := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0}
	i := bytes.LastIndex(b, tag)
	if i < 0 {
		return nil, fmt.Errorf("%s: no native pixel data", path)
	}
	n := int(binary.LittleEndian.Uint32(b[i+8:]))
	if i+12+n > len(b) {
		return nil, fmt.Errorf("%s: pixel data length %d", path, n)
	}
	return b[i+12 : i+12+n], nil
}

func run(src, dir string) error {
	px, err := pixelData(src)
	if err != nil {
		return err
	}
	const side, n, x0, y0 = 256, 64, 96, 96
	if len(px) != side*side*2 {
		return fmt.Errorf("%s: %d bytes of pixels, want %d", src, len(px), side*side*2)
	}
	crop := make([]uint16, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			crop[y*n+x] = binary.LittleEndian.Uint16(px[2*((y0+y)*side+x0+x):])
		}
	}
	u16 := func(f func(v uint16) uint16) []byte {
		out := make([]byte, 2*len(crop))
		for i, v := range crop {
			binary.LittleEndian.PutUint16(out[2*i:], f(v))
		}
		return out
	}
	u8 := func(f func(v uint16) byte) []byte {
		out := make([]byte, len(crop))
		for i, v := range crop {
			out[i] = f(v)
		}
		return out
	}
	files := map[string][]byte{
		// Full 16-bit range: the MR values (0–884) stretched by 64 plus
		// their low bits, so the top bit-planes are exercised.
		"mr_u16": u16(func(v uint16) uint16 { return v<<6 | v&63 }),
		// Signed, centred on zero.
		"mr_s16": u16(func(v uint16) uint16 { return uint16(int16(int32(v)*40 - 20000)) }),
		"mr_u12": u16(func(v uint16) uint16 { return min(v*4, 4095) }),
		"mr_u8":  u8(func(v uint16) byte { return byte(min(v/3, 255)) }),
	}
	var rgb []byte
	for _, f := range []func(v uint16) byte{
		func(v uint16) byte { return byte(v >> 2) },
		func(v uint16) byte { return byte(v >> 1) },
		func(v uint16) byte { return 255 - byte(v>>2) },
	} {
		rgb = append(rgb, u8(f)...) // planar, as opj_compress reads raw input
	}
	files["rgb8"] = rgb
	// Components after the first sub-sampled by the given dx×dy,
	// planar at their own sizes, as opj_compress's -F …@1x1:dxxdy:…
	// raw input takes them: the full component, then decimated ones.
	// (opj_decompress turns three components whose second has dx > 1
	// into RGB as if they were sYCC, so the layouts here avoid that.)
	sub := func(d ...[2]int) []byte {
		out := u8(func(v uint16) byte { return byte(v >> 2) })
		for k, s := range d {
			for y := 0; y < n; y += s[1] {
				for x := 0; x < n; x += s[0] {
					// Offset per plane so the planes differ.
					out = append(out, 255-byte(crop[(y+k+1)%n*n+x]>>2))
				}
			}
		}
		return out
	}
	files["sub3"] = sub([2]int{1, 2}, [2]int{2, 2})
	files["sub2"] = sub([2]int{2, 1})
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".rawl"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
