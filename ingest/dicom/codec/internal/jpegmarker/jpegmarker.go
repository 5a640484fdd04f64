// Package jpegmarker reads the marker layer shared by the JPEG family of
// codestreams: markers (0xFF followed by a code, with any number of 0xFF
// fill bytes before it, ITU-T T.81 B.1.1.2) and length-prefixed marker
// segments (T.81 B.1.1.4; JPEG-LS reuses the same syntax, ITU-T T.87
// Annex C). Segments a decoder does not interpret, such as APPn and COM,
// are skipped with Segment.
package jpegmarker

import "encoding/binary"

// Reader walks the markers of one codestream. A codec embeds it in its
// decoder so that its entropy decoders read Data and Pos directly, with no
// call between them and the bytes.
type Reader struct {
	Data []byte
	Pos  int
	// Errf builds the codec's own error for bad data at an offset; it is
	// given fmt-style arguments and called only when the stream is bad.
	Errf func(off int, format string, a ...any) error
	// Truncated is the codec's sentinel for data that end early; it is
	// wrapped with %w so callers can match it with errors.Is.
	Truncated error
}

// NextMarker skips fill bytes and returns the next marker code.
func (r *Reader) NextMarker() (byte, error) {
	if r.Pos >= len(r.Data) {
		return 0, r.Errf(r.Pos, "missing EOI marker: %w", r.Truncated)
	}
	if r.Data[r.Pos] != 0xFF {
		return 0, r.Errf(r.Pos, "expected a marker, found 0x%02X", r.Data[r.Pos])
	}
	for r.Pos < len(r.Data) && r.Data[r.Pos] == 0xFF {
		r.Pos++
	}
	if r.Pos >= len(r.Data) {
		return 0, r.Errf(r.Pos, "missing EOI marker: %w", r.Truncated)
	}
	m := r.Data[r.Pos]
	r.Pos++
	if m == 0 {
		return 0, r.Errf(r.Pos-2, "stuffed zero byte where a marker was expected")
	}
	return m, nil
}

// Segment returns the payload of the length-prefixed marker segment at Pos
// and the payload's offset, and moves past it. The length is checked
// against the bytes present so a hostile length cannot run past the data.
func (r *Reader) Segment() ([]byte, int, error) {
	if r.Pos+2 > len(r.Data) {
		return nil, r.Pos, r.Errf(r.Pos, "segment length past end of data: %w", r.Truncated)
	}
	n := int(binary.BigEndian.Uint16(r.Data[r.Pos:]))
	if n < 2 || r.Pos+n > len(r.Data) {
		return nil, r.Pos, r.Errf(r.Pos, "segment length %d runs past end of data (%d bytes left)", n, len(r.Data)-r.Pos)
	}
	seg, off := r.Data[r.Pos+2:r.Pos+n], r.Pos+2
	r.Pos += n
	return seg, off, nil
}
