package dicom

import (
	"encoding/binary"
	"fmt"
)

// decodeRLE decodes one RLE Lossless frame (PS3.5 Annex G) into dst, which
// must hold rows*cols*samples*bytesPerSample bytes and receives the samples
// interleaved and little-endian (dst[(p*samples+s)*bps + b]).
//
// The frame starts with a 64-byte header: the segment count and 15 segment
// offsets. Segments hold one byte plane each, ordered sample by sample and,
// within a sample, most significant byte first (G.2).
func decodeRLE(frame []byte, dst []byte, rows, cols, samples, bps int) error {
	if len(frame) < 64 {
		return fmt.Errorf("RLE frame of %d bytes is shorter than its 64-byte header", len(frame))
	}
	nseg := int(binary.LittleEndian.Uint32(frame))
	if nseg != samples*bps {
		return fmt.Errorf("RLE frame has %d segments, want %d (samples %d × bytes %d)", nseg, samples*bps, samples, bps)
	}
	if nseg > 15 {
		return fmt.Errorf("RLE frame declares %d segments (max 15)", nseg)
	}
	npix := rows * cols
	if len(dst) < npix*nseg {
		return fmt.Errorf("RLE destination too small")
	}
	var offs [16]int
	for i := 0; i < nseg; i++ {
		offs[i] = int(binary.LittleEndian.Uint32(frame[4+4*i:]))
	}
	offs[nseg] = len(frame)
	plane := make([]byte, npix)
	for seg := 0; seg < nseg; seg++ {
		start, end := offs[seg], offs[seg+1]
		if start < 64 || end > len(frame) || start > end {
			return fmt.Errorf("RLE segment %d has bad bounds [%d,%d) in a %d-byte frame", seg, start, end, len(frame))
		}
		n := unpackBits(frame[start:end], plane)
		if n < npix {
			return fmt.Errorf("RLE segment %d decodes to %d bytes, want %d", seg, n, npix)
		}
		s := seg / bps
		b := bps - 1 - seg%bps // MSB segment first; dst is little-endian
		stride := samples * bps
		o := s*bps + b
		for p := 0; p < npix; p++ {
			dst[p*stride+o] = plane[p]
		}
	}
	return nil
}

// unpackBits decodes a PackBits segment into out and returns the bytes
// written (at most len(out); extra output is dropped, as decoders do for
// segments padded to an even length).
func unpackBits(src, out []byte) int {
	n := 0
	for i := 0; i < len(src) && n < len(out); {
		c := int8(src[i])
		i++
		switch {
		case c >= 0:
			cnt := int(c) + 1
			if i+cnt > len(src) {
				cnt = len(src) - i
			}
			n += copy(out[n:], src[i:i+cnt])
			i += cnt
		case c != -128:
			cnt := 1 - int(c)
			if i >= len(src) {
				return n
			}
			v := src[i]
			i++
			for k := 0; k < cnt && n < len(out); k++ {
				out[n] = v
				n++
			}
		}
	}
	return n
}
