package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	sdtag "github.com/suyashkumar/dicom/pkg/tag"
)

// This file is a minimal element walker (DICOM PS3.5 §7.1, §7.5): it does
// not decode values, it only steps over elements to find where the
// top-level Pixel Data element starts. suyashkumar/dicom parses the header
// bytes; the walker exists because that library (v1.0.7) cannot stop before
// the pixel data without reading it, drops the Basic Offset Table of
// encapsulated pixel data, and does not inflate deflated datasets.

const maxNesting = 64

// Well-known tags, as group<<16|element.
const (
	tagItem          = 0xFFFEE000
	tagItemDelim     = 0xFFFEE00D
	tagSeqDelim      = 0xFFFEE0DD
	tagPixelData     = 0x7FE00010
	tagFloatPixel    = 0x7FE00008
	tagDoublePixel   = 0x7FE00009
	tagTransferUID   = 0x00020010
	tagMediaSOPClass = 0x00020002
)

// errShort means the buffer ended inside an element; a caller holding a
// prefix of the file reads more and walks again.
var errShort = io.ErrUnexpectedEOF

// syntax is how a dataset is encoded.
type syntax struct {
	bo       binary.ByteOrder
	implicit bool
}

// longVR reports whether an explicit VR uses the 2-byte reserved field and
// a 4-byte length (PS3.5 Table 7.1-1).
func longVR(a, b byte) bool {
	switch string([]byte{a, b}) {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// standardVR reports whether a and b name a VR of PS3.5 Table 6.2-1.
func standardVR(a, b byte) bool {
	if longVR(a, b) {
		return true
	}
	switch string([]byte{a, b}) {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US":
		return true
	}
	return false
}

// followFirstElement corrects sx to the VR encoding the dataset's first
// element shows, as pydicom does (it warns "Expected explicit VR, but
// found implicit VR"): writers exist that label implicit VR data with an
// explicit VR transfer syntax, and the reverse. The byte order is kept.
func followFirstElement(ds []byte, sx syntax) syntax {
	if len(ds) < 6 || sx.bo.Uint16(ds) == 0xFFFE {
		return sx
	}
	sx.implicit = !standardVR(ds[4], ds[5])
	return sx
}

// elemHeader is one decoded element header.
type elemHeader struct {
	tag    uint32
	vr     [2]byte
	vl     uint32 // 0xFFFFFFFF = undefined
	hdrLen int
}

const undefinedLength = 0xFFFFFFFF

// readHeader decodes the element header at b[off:].
func readHeader(b []byte, off int, sx syntax) (elemHeader, error) {
	var h elemHeader
	if off+8 > len(b) {
		return h, errShort
	}
	g := sx.bo.Uint16(b[off:])
	e := sx.bo.Uint16(b[off+2:])
	h.tag = uint32(g)<<16 | uint32(e)
	if g == 0xFFFE || sx.implicit {
		// Item tags never carry a VR (PS3.5 §7.5).
		h.vl = sx.bo.Uint32(b[off+4:])
		h.hdrLen = 8
		return h, nil
	}
	h.vr = [2]byte{b[off+4], b[off+5]}
	if longVR(h.vr[0], h.vr[1]) {
		if off+12 > len(b) {
			return h, errShort
		}
		h.vl = sx.bo.Uint32(b[off+8:])
		h.hdrLen = 12
		return h, nil
	}
	if h.vr[0] < 'A' || h.vr[0] > 'Z' || h.vr[1] < 'A' || h.vr[1] > 'Z' {
		return h, fmt.Errorf("bad VR %q at offset %d (tag %08X)", h.vr[:], off, h.tag)
	}
	h.vl = uint32(sx.bo.Uint16(b[off+6:]))
	h.hdrLen = 8
	return h, nil
}

// pixelRef locates the top-level pixel data element inside a dataset.
type pixelRef struct {
	found    bool
	hdrOff   int // offset of the element header
	valueOff int // offset of the value
	vl       uint32
	float    bool // Float/Double Float Pixel Data (not decoded)
}

// findPixelData walks the top-level elements of ds and returns where the
// Pixel Data element is. It returns errShort when ds ends inside an element
// before pixel data was found (the caller may hold only a prefix).
func findPixelData(ds []byte, sx syntax) (pixelRef, error) {
	off := 0
	for off < len(ds) {
		h, err := readHeader(ds, off, sx)
		if err != nil {
			if err == errShort && len(ds)-off < 8 && allZero(ds[off:]) {
				return pixelRef{}, nil // trailing padding
			}
			return pixelRef{}, err
		}
		if h.tag == tagPixelData || h.tag == tagFloatPixel || h.tag == tagDoublePixel {
			return pixelRef{found: true, hdrOff: off, valueOff: off + h.hdrLen, vl: h.vl, float: h.tag != tagPixelData}, nil
		}
		next, err := skipValue(ds, off+h.hdrLen, h, sx, 0)
		if err != nil {
			return pixelRef{}, err
		}
		off = next
	}
	return pixelRef{}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// skipValue returns the offset just after the value of the element whose
// header is h and whose value starts at off.
func skipValue(b []byte, off int, h elemHeader, sx syntax, depth int) (int, error) {
	if h.vl != undefinedLength {
		end := off + int(h.vl)
		if end > len(b) || end < off {
			return 0, errShort
		}
		return end, nil
	}
	if depth > maxNesting {
		return 0, errors.New("sequences nested too deeply")
	}
	// An undefined-length UN holds implicit VR little endian content
	// (PS3.5 §6.2.2 note).
	if !sx.implicit && h.vr == [2]byte{'U', 'N'} {
		sx = syntax{bo: binary.LittleEndian, implicit: true}
	}
	for {
		ih, err := readHeader(b, off, syntax{bo: sx.bo, implicit: true})
		if err != nil {
			return 0, err
		}
		off += 8
		switch ih.tag {
		case tagSeqDelim:
			return off, nil
		case tagItem:
			if ih.vl != undefinedLength {
				end := off + int(ih.vl)
				if end > len(b) || end < off {
					return 0, errShort
				}
				off = end
				continue
			}
			// Undefined-length item: elements up to the item delimiter.
			for {
				eh, err := readHeader(b, off, sx)
				if err != nil {
					return 0, err
				}
				if eh.tag == tagItemDelim {
					off += eh.hdrLen
					break
				}
				off, err = skipValue(b, off+eh.hdrLen, eh, sx, depth+1)
				if err != nil {
					return 0, err
				}
			}
		default:
			return 0, fmt.Errorf("unexpected tag %08X inside undefined-length element %08X at offset %d", ih.tag, h.tag, off-8)
		}
	}
}

// libVR is the VR suyashkumar/dicom will use for an element: the explicit
// one, or its dictionary's in implicit syntax.
func libVR(h elemHeader, sx syntax) string {
	if !sx.implicit {
		return string(h.vr[:])
	}
	info, err := sdtag.Find(sdtag.Tag{Group: uint16(h.tag >> 16), Element: uint16(h.tag)})
	if err != nil {
		return "UN"
	}
	return info.VR
}

// libSafe reports whether suyashkumar/dicom can parse the element whose
// value is b[off:end] without trusting a length it cannot check: the
// library allocates an element's declared length up front, so an
// undefined length (0xFFFFFFFF) on anything but a sequence it recognises —
// a private sequence in implicit VR, an undefined-length UN — would make it
// allocate 4 GiB. Sequences are checked recursively.
func libSafe(b []byte, off int, h elemHeader, sx syntax, depth int) bool {
	if depth > maxNesting || !libAgrees(h, sx) {
		return false
	}
	if libVR(h, sx) != "SQ" {
		return h.vl != undefinedLength
	}
	end := len(b)
	if h.vl != undefinedLength {
		end = off + int(h.vl)
		if end > len(b) {
			return false
		}
	}
	for off+8 <= end {
		ih, err := readHeader(b, off, syntax{bo: sx.bo, implicit: true})
		if err != nil {
			return false
		}
		off += 8
		switch ih.tag {
		case tagSeqDelim:
			// The library reads a delimiter's length as a value length.
			return h.vl == undefinedLength && ih.vl == 0
		case tagItem:
		default:
			return false
		}
		itemEnd := end
		if ih.vl != undefinedLength {
			itemEnd = off + int(ih.vl)
			if itemEnd > end {
				return false
			}
		}
		for off < itemEnd {
			eh, err := readHeader(b, off, sx)
			if err != nil {
				return false
			}
			if eh.tag == tagItemDelim {
				if eh.vl != 0 {
					return false
				}
				off += eh.hdrLen
				break
			}
			if !libSafe(b, off+eh.hdrLen, eh, sx, depth+1) {
				return false
			}
			next, err := skipValue(b, off+eh.hdrLen, eh, sx, depth+1)
			if err != nil || next > itemEnd {
				return false
			}
			off = next
		}
	}
	return h.vl != undefinedLength && off == end
}

// libAgrees reports whether suyashkumar/dicom reads element header h as
// the walker did. Where they differ the library would read a length the
// walker never checked against the bytes that remain, and its string and
// byte reads allocate that length before reading (a 37 KB file could ask
// for 4 GiB):
//   - a 16-bit length of 0xFFFF, which the library turns into the 32-bit
//     undefined length;
//   - OV, SV and UV (PS3.5 2019 additions), whose 4-byte length the library
//     reads from the 2 reserved bytes;
//   - the VR "NA" on a data element, for which it reads a 4-byte length;
//   - item and delimiter tags outside the item structure of a sequence.
func libAgrees(h elemHeader, sx syntax) bool {
	if h.tag>>16 == 0xFFFE {
		return false
	}
	if sx.implicit {
		return true
	}
	switch string(h.vr[:]) {
	case "OV", "SV", "UV", "NA":
		return false
	}
	return longVR(h.vr[0], h.vr[1]) || h.vl != 0xFFFF
}

// sanitizeHeader returns the header bytes with every top-level element the
// library cannot parse safely (see libSafe) left out, and the tags left
// out. It returns hdr itself when nothing is dropped.
func sanitizeHeader(hdr []byte, sx syntax) ([]byte, []uint32, error) {
	var out []byte
	var dropped []uint32
	for off := 0; off < len(hdr); {
		h, err := readHeader(hdr, off, sx)
		if err != nil {
			return nil, nil, err
		}
		end, err := skipValue(hdr, off+h.hdrLen, h, sx, 0)
		if err != nil {
			return nil, nil, err
		}
		// Private elements (odd groups) are dropped too: medmd reads none
		// of them, and vendors put hundreds there that cost parse time.
		if h.tag>>16&1 == 1 || !libSafe(hdr, off+h.hdrLen, h, sx, 0) {
			if out == nil {
				out = append(make([]byte, 0, len(hdr)), hdr[:off]...)
			}
			if h.tag>>16&1 == 0 {
				dropped = append(dropped, h.tag)
			}
		} else if out != nil {
			out = append(out, hdr[off:end]...)
		}
		off = end
	}
	if out == nil {
		return hdr, nil, nil
	}
	return out, dropped, nil
}
