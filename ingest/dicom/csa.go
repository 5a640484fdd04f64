package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file reads the Siemens CSA image header, the private element
// (0029,xx10) of the block whose creator is "SIEMENS CSA HEADER", in its
// CSA2 ("SV10") layout, and the standard diffusion attributes. The layout
// is undocumented by Siemens; it is described by SPM's spm_dicom_headers
// and nibabel's nicom/csareader.py, which this parser follows:
//
//	"SV10" | 4 unused bytes | uint32 nTags | uint32 (77)
//	nTags × { name [64]byte NUL-terminated | int32 VM | VR [4]byte |
//	          int32 SyngoDT | int32 nItems | int32 (77 or 205)
//	          nItems × { int32 x0 | int32 len | int32 x2 | int32 x3 |
//	                     len bytes, padded to a multiple of 4 } }
//
// All integers are little endian whatever the dataset's byte order. Every
// count and length is checked against the bytes that remain before it is
// used, so a hostile header costs at most its own size.

// MRInfo is what medmd reads from MR headers beyond the standard image
// attributes: the Siemens CSA image header and the diffusion attributes.
// Zero values and false Has* flags mean absent.
type MRInfo struct {
	// MosaicImages is the CSA NumberOfImagesInMosaic: the number of
	// slices tiled into one Siemens MOSAIC image (0 when absent).
	MosaicImages int
	// SliceNormal is the CSA SliceNormalVector (patient LPS): the
	// direction in which the mosaic's tiles advance, which may be opposite
	// to the row × column cross product.
	SliceNormal    [3]float64
	HasSliceNormal bool
	// BValue (s/mm²) and Gradient (unit vector, patient LPS) come from the
	// standard Diffusion b-value (0018,9087) and Diffusion Gradient
	// Orientation (0018,9089), else from CSA B_value and
	// DiffusionGradientDirection.
	BValue      float64
	HasBValue   bool
	Gradient    [3]float64
	HasGradient bool
	// CSAError says why a CSA header that was present could not be read.
	CSAError string
}

// Diffusion is one frame's MR Diffusion Sequence (0018,9117) of an
// enhanced MR object (PS3.3 §C.8.13.5.9): b-value (s/mm²) and gradient
// orientation (patient LPS).
type Diffusion struct {
	BValue      float64
	HasBValue   bool
	Gradient    [3]float64
	HasGradient bool
}

// diffusionFrom reads an MR Diffusion Sequence item: Diffusion b-value
// (0018,9087) and, in its Diffusion Gradient Direction Sequence
// (0018,9076), Diffusion Gradient Orientation (0018,9089).
func diffusionFrom(ix elemIndex) Diffusion {
	var d Diffusion
	if v, ok := ix.float(0x00189087); ok && v >= 0 {
		d.BValue, d.HasBValue = v, true
	}
	if it := ix.item(0x00189076); it != nil {
		if v := it.floats(0x00189089); len(v) == 3 {
			copy(d.Gradient[:], v)
			d.HasGradient = finite3(d.Gradient)
		}
	}
	return d
}

const (
	csaMaxTags  = 1000 // nibabel's MAX_CSA_ITEMS
	csaMaxItems = 1000
	csaTagSize  = 64 + 4 + 4 + 4 + 4 + 4
	csaItemHead = 16
)

var errCSA = errors.New("malformed CSA header")

// csaTags parses a CSA2 header into tag name → item strings (trailing NULs
// and spaces trimmed; empty items after the VM dropped). Only the tags in
// want are kept, so a header costs no allocation beyond what is asked.
func csaTags(b []byte, want map[string]bool) (map[string][]string, error) {
	if len(b) < 16 || string(b[:4]) != "SV10" {
		return nil, fmt.Errorf("%w: no SV10 signature (CSA1 headers are not read)", errCSA)
	}
	le := binary.LittleEndian
	n := le.Uint32(b[8:])
	if n == 0 || n > csaMaxTags {
		return nil, fmt.Errorf("%w: %d tags", errCSA, n)
	}
	off := 16
	out := map[string][]string{}
	for t := uint32(0); t < n; t++ {
		if len(b)-off < csaTagSize {
			return nil, fmt.Errorf("%w: tag %d at offset %d: %w", errCSA, t, off, errShort)
		}
		name := cstr(b[off : off+64])
		vm := int32(le.Uint32(b[off+64:]))
		nItems := int32(le.Uint32(b[off+76:]))
		off += csaTagSize
		// Each item needs at least its 16-byte head: a count the bytes
		// left cannot hold is rejected before any loop runs on it.
		if nItems < 0 || nItems > csaMaxItems || int(nItems) > (len(b)-off)/csaItemHead {
			return nil, fmt.Errorf("%w: tag %q claims %d items", errCSA, name, nItems)
		}
		keep := want[name]
		nValues := int(vm)
		if vm <= 0 {
			nValues = int(nItems)
		}
		var items []string
		for i := 0; i < int(nItems); i++ {
			if len(b)-off < csaItemHead {
				return nil, fmt.Errorf("%w: item %d of %q: %w", errCSA, i, name, errShort)
			}
			l := int32(le.Uint32(b[off+4:]))
			off += csaItemHead
			if l < 0 || int(l) > len(b)-off {
				return nil, fmt.Errorf("%w: item %d of %q is %d bytes, %d left", errCSA, i, name, l, len(b)-off)
			}
			if keep && i < nValues && l > 0 {
				items = append(items, cstr(b[off:off+int(l)]))
			}
			// Values are padded to a 4-byte boundary; the padding may be
			// missing after the last item.
			off = min(off+int(l+3)&^3, len(b))
		}
		if keep {
			out[name] = items
		}
	}
	return out, nil
}

// cstr is b up to its first NUL, with surrounding spaces trimmed.
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

var csaWanted = map[string]bool{
	"NumberOfImagesInMosaic":     true,
	"SliceNormalVector":          true,
	"B_value":                    true,
	"DiffusionGradientDirection": true,
}

// csaFloats parses every item of a tag as a finite float.
func csaFloats(items []string) ([]float64, bool) {
	out := make([]float64, 0, len(items))
	for _, s := range items {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		out = append(out, f)
	}
	return out, len(out) > 0
}

// applyCSA fills m from a CSA2 image header.
func (m *MRInfo) applyCSA(b []byte) {
	tags, err := csaTags(b, csaWanted)
	if err != nil {
		m.CSAError = err.Error()
		return
	}
	if v, ok := csaFloats(tags["NumberOfImagesInMosaic"]); ok && v[0] >= 1 && v[0] <= maxMosaicImages && v[0] == math.Trunc(v[0]) {
		m.MosaicImages = int(v[0])
	}
	if v, ok := csaFloats(tags["SliceNormalVector"]); ok && len(v) == 3 && unit(v) {
		copy(m.SliceNormal[:], v)
		m.HasSliceNormal = true
	}
	if !m.HasBValue {
		if v, ok := csaFloats(tags["B_value"]); ok && v[0] >= 0 {
			m.BValue, m.HasBValue = v[0], true
		}
	}
	if !m.HasGradient {
		if v, ok := csaFloats(tags["DiffusionGradientDirection"]); ok && len(v) == 3 {
			copy(m.Gradient[:], v)
			m.HasGradient = true
		}
	}
}

// unit reports whether v has length 1 (to 1%).
func unit(v []float64) bool {
	l := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	return math.Abs(l-1) < 0.01
}

// readMRInfo walks the top-level elements of a header (before the pixel
// data) up to group 0x0029 and reads the diffusion attributes and the
// Siemens CSA image header. The header library is not asked: private
// elements never reach it (see sanitizeHeader), and the walker already
// bounds every length by the bytes present.
func readMRInfo(hdr []byte, sx syntax) MRInfo {
	var m MRInfo
	var csaBlock uint32 // 0x10..0xFF: the private block of SIEMENS CSA HEADER
	var csa []byte
	for off := 0; off < len(hdr); {
		h, err := readHeader(hdr, off, sx)
		if err != nil || h.tag > 0x0029FFFF {
			break
		}
		end, err := skipValue(hdr, off+h.hdrLen, h, sx, 0)
		if err != nil {
			break
		}
		v := hdr[off+h.hdrLen : end]
		if h.vl == undefinedLength {
			v = nil // a sequence: nothing here is read from one
		}
		switch {
		case h.tag == 0x00189087 && len(v) == 8: // Diffusion b-value, FD
			if f := math.Float64frombits(sx.bo.Uint64(v)); f >= 0 && !math.IsInf(f, 0) {
				m.BValue, m.HasBValue = f, true
			}
		case h.tag == 0x00189089 && len(v) == 24: // Diffusion Gradient Orientation, FD×3
			for a := 0; a < 3; a++ {
				m.Gradient[a] = math.Float64frombits(sx.bo.Uint64(v[8*a:]))
			}
			m.HasGradient = finite3(m.Gradient)
		case h.tag>>16 == 0x0029 && h.tag&0xFF00 == 0 && h.tag&0xFF >= 0x10:
			if cstr(v) == "SIEMENS CSA HEADER" && csaBlock == 0 {
				csaBlock = h.tag & 0xFF
			}
		case csaBlock != 0 && h.tag == 0x00290000|csaBlock<<8|0x10:
			csa = v
		}
		off = end
	}
	if csa != nil {
		m.applyCSA(csa)
	}
	return m
}

func finite3(v [3]float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
