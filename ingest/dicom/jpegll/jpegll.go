// Package jpegll decodes lossless JPEG (ITU-T T.81 process 14, Annex H):
// the Huffman-coded predictive mode DICOM uses for transfer syntaxes
// 1.2.840.10008.1.2.4.57 and .70. All seven predictors (selection values
// 1–7), point transforms, restart intervals, 2–16-bit precision and
// interleaved or one-scan-per-component images are supported; component
// sampling factors must be 1 (as in every DICOM use).
//
// The standard library's image/jpeg has no lossless mode, hence this
// package.
package jpegll

import (
	"errors"
	"fmt"
)

// MaxPixels bounds width×height×components from an untrusted header.
const MaxPixels = 1 << 28

// Image is a decoded frame: samples interleaved per pixel
// (Pix[(y*Width+x)*Components+c]), unsigned, Precision bits.
type Image struct {
	Width, Height, Components, Precision int
	Pix                                  []uint16
}

// Error is a malformed stream: offset into the input and reason.
type Error struct {
	Offset int
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("jpeg lossless: %s at byte %d", e.Reason, e.Offset)
}

// ErrNotLossless is returned for a stream whose frame is not SOF3.
var ErrNotLossless = errors.New("jpeg lossless: not a lossless (SOF3) JPEG stream")

type huffman struct {
	// lookup holds, for each 9-bit prefix, length<<8 | value (0 = slow path).
	lookup  [1 << lookBits]uint16
	maxcode [18]int32
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	ok      bool
}

const lookBits = 9

func (h *huffman) build(counts [16]int, vals []uint8) error {
	h.vals = vals
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := counts[l-1]
		h.valptr[l] = int32(k)
		h.mincode[l] = code
		for i := 0; i < n; i++ {
			// A code of l bits must fit in l bits before it indexes the
			// lookup table: checked per code, not after the level, so a
			// crafted count never writes past the table.
			if code >= 1<<l {
				return errors.New("bad Huffman table: too many codes")
			}
			if l <= lookBits {
				shift := lookBits - l
				base := int(code) << shift
				for j := 0; j < 1<<shift; j++ {
					h.lookup[base+j] = uint16(l)<<8 | uint16(vals[k])
				}
			}
			code++
			k++
		}
		if n > 0 {
			h.maxcode[l] = code - 1
		} else {
			h.maxcode[l] = -1
		}
		code <<= 1
	}
	h.maxcode[17] = 1 << 30
	h.ok = true
	return nil
}

type component struct {
	id, h, v int
	td       int // DC table of the current scan
}

type decoder struct {
	data   []byte
	pos    int
	bits   uint64
	nbits  int
	marker bool // hit a marker: feed zeros
	// pastEnd counts the zero bytes fed after the data ran out with no
	// marker: a scan that consumes any of them was cut short, and its
	// last samples would be made up.
	pastEnd  int
	width    int
	height   int
	prec     int
	comps    []component
	tables   [4]huffman
	restart  int
	pix      []uint16
	sawFrame bool
}

// Decode decodes a whole lossless JPEG stream.
func Decode(data []byte) (*Image, error) {
	d := &decoder{data: data}
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, &Error{0, "missing SOI marker"}
	}
	d.pos = 2
	for {
		m, err := d.nextMarker()
		if err != nil {
			return nil, err
		}
		switch {
		case m == 0xD9: // EOI
			if !d.sawFrame || d.pix == nil {
				return nil, &Error{d.pos, "EOI before any scan"}
			}
			return d.image(), nil
		case m == 0xC3:
			if err := d.readSOF(); err != nil {
				return nil, err
			}
		case m == 0xC4:
			if err := d.readDHT(); err != nil {
				return nil, err
			}
		case m == 0xDD:
			seg, err := d.segment()
			if err != nil {
				return nil, err
			}
			if len(seg) < 2 {
				return nil, &Error{d.pos, "short DRI"}
			}
			d.restart = int(seg[0])<<8 | int(seg[1])
		case m == 0xDA:
			if err := d.readScan(); err != nil {
				return nil, err
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return nil, fmt.Errorf("%w (SOF%d)", ErrNotLossless, m-0xC0)
		case m >= 0xD0 && m <= 0xD7: // stray RST: skip
		default: // APPn, COM, DQT, DNL…: skip the segment
			if _, err := d.segment(); err != nil {
				return nil, err
			}
		}
	}
}

func (d *decoder) image() *Image {
	return &Image{Width: d.width, Height: d.height, Components: len(d.comps), Precision: d.prec, Pix: d.pix}
}

// nextMarker skips to the next marker and returns its code.
func (d *decoder) nextMarker() (byte, error) {
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] != 0xFF {
			d.pos++
			continue
		}
		m := d.data[d.pos+1]
		if m == 0xFF { // fill byte
			d.pos++
			continue
		}
		d.pos += 2
		if m == 0x00 {
			continue
		}
		return m, nil
	}
	if d.sawFrame && d.pix != nil {
		return 0xD9, nil // tolerate a missing EOI
	}
	return 0, &Error{d.pos, "unexpected end of stream"}
}

// segment returns the payload of a length-prefixed marker segment.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, &Error{d.pos, "truncated segment length"}
	}
	n := int(d.data[d.pos])<<8 | int(d.data[d.pos+1])
	if n < 2 || d.pos+n > len(d.data) {
		return nil, &Error{d.pos, fmt.Sprintf("segment length %d overruns the stream", n)}
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

func (d *decoder) readSOF() error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	if d.sawFrame {
		return &Error{d.pos, "second SOF"}
	}
	if len(seg) < 6 {
		return &Error{d.pos, "short SOF3"}
	}
	d.prec = int(seg[0])
	d.height = int(seg[1])<<8 | int(seg[2])
	d.width = int(seg[3])<<8 | int(seg[4])
	nf := int(seg[5])
	if d.prec < 2 || d.prec > 16 {
		return &Error{d.pos, fmt.Sprintf("precision %d outside 2..16", d.prec)}
	}
	if nf < 1 || nf > 4 || len(seg) < 6+3*nf {
		return &Error{d.pos, fmt.Sprintf("bad component count %d", nf)}
	}
	if d.width == 0 || d.height == 0 {
		return &Error{d.pos, "zero image size (DNL not supported)"}
	}
	// Every sample costs at least one bit of Huffman code.
	if d.width*d.height*nf > MaxPixels || d.width*d.height*nf > 8*len(d.data)+64 {
		return &Error{d.pos, fmt.Sprintf("image %dx%dx%d exceeds the size limit", d.width, d.height, nf)}
	}
	for i := 0; i < nf; i++ {
		c := component{id: int(seg[6+3*i]), h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15)}
		if c.h != 1 || c.v != 1 {
			return &Error{d.pos, fmt.Sprintf("component %d has sampling %dx%d (only 1x1 supported)", c.id, c.h, c.v)}
		}
		d.comps = append(d.comps, c)
	}
	d.pix = make([]uint16, d.width*d.height*nf)
	d.sawFrame = true
	return nil
}

func (d *decoder) readDHT() error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	for len(seg) > 0 {
		if len(seg) < 17 {
			return &Error{d.pos, "short DHT"}
		}
		class, id := seg[0]>>4, int(seg[0]&15)
		if id > 3 {
			return &Error{d.pos, fmt.Sprintf("Huffman table id %d", id)}
		}
		var counts [16]int
		total := 0
		for i := 0; i < 16; i++ {
			counts[i] = int(seg[1+i])
			total += counts[i]
		}
		if total > 256 || len(seg) < 17+total {
			return &Error{d.pos, "DHT overruns its segment"}
		}
		vals := append([]uint8(nil), seg[17:17+total]...)
		if class == 0 { // lossless uses DC tables only
			if err := d.tables[id].build(counts, vals); err != nil {
				return &Error{d.pos, err.Error()}
			}
		}
		seg = seg[17+total:]
	}
	return nil
}

func (d *decoder) readScan() error {
	seg, err := d.segment()
	if err != nil {
		return err
	}
	if !d.sawFrame {
		return &Error{d.pos, "SOS before SOF3"}
	}
	if len(seg) < 1 {
		return &Error{d.pos, "short SOS"}
	}
	ns := int(seg[0])
	if ns < 1 || ns > len(d.comps) || len(seg) < 1+2*ns+3 {
		return &Error{d.pos, fmt.Sprintf("bad scan component count %d", ns)}
	}
	idx := make([]int, ns)
	for i := 0; i < ns; i++ {
		cid, td := int(seg[1+2*i]), int(seg[2+2*i]>>4)
		found := -1
		for k, c := range d.comps {
			if c.id == cid {
				found = k
			}
		}
		if found < 0 {
			return &Error{d.pos, fmt.Sprintf("scan names unknown component %d", cid)}
		}
		if td > 3 || !d.tables[td].ok {
			return &Error{d.pos, fmt.Sprintf("scan uses undefined Huffman table %d", td)}
		}
		d.comps[found].td = td
		idx[i] = found
	}
	pred := int(seg[1+2*ns])
	pt := int(seg[3+2*ns] & 15)
	if pred < 1 || pred > 7 {
		// Selection value 0 (no prediction) is reserved for hierarchical
		// mode; treat anything else as an error.
		return &Error{d.pos, fmt.Sprintf("predictor selection value %d", pred)}
	}
	if pt >= d.prec {
		return &Error{d.pos, fmt.Sprintf("point transform %d ≥ precision %d", pt, d.prec)}
	}
	d.bits, d.nbits, d.marker, d.pastEnd = 0, 0, false, 0
	if err := d.decodeScan(idx, pred, pt); err != nil {
		return err
	}
	if d.pastEnd*8 > d.nbits {
		return &Error{len(d.data), "scan truncated: the data ends before the last sample"}
	}
	return nil
}

// fill tops the bit buffer up to at least 57 bits, unstuffing 0xFF00 and
// stopping at a marker (after which zeros are fed).
func (d *decoder) fill() {
	for d.nbits <= 56 {
		var b byte
		if d.marker {
			b = 0
		} else if d.pos >= len(d.data) || d.data[d.pos] == 0xFF && d.pos+1 == len(d.data) {
			// A lone 0xFF at the end is half a marker: the data ends here.
			d.pos = len(d.data)
			d.pastEnd++
			b = 0
		} else {
			b = d.data[d.pos]
			if b == 0xFF {
				if d.data[d.pos+1] == 0x00 {
					d.pos += 2
				} else {
					d.marker = true
					b = 0
				}
			} else {
				d.pos++
			}
		}
		d.bits |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

func (d *decoder) decodeHuff(h *huffman) (int, error) {
	if d.nbits < 16 {
		d.fill()
	}
	if v := h.lookup[d.bits>>(64-lookBits)]; v != 0 {
		l := int(v >> 8)
		d.bits <<= l
		d.nbits -= l
		return int(v & 0xFF), nil
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		code = code<<1 | int32(d.bits>>63)
		d.bits <<= 1
		d.nbits--
		if code <= h.maxcode[l] {
			return int(h.vals[h.valptr[l]+code-h.mincode[l]]), nil
		}
	}
	return 0, &Error{d.pos, "bad Huffman code"}
}

func (d *decoder) receive(n int) int {
	if d.nbits < n {
		d.fill()
	}
	v := int(d.bits >> (64 - n))
	d.bits <<= n
	d.nbits -= n
	return v
}

// diff decodes one difference value (H.1.2.2, F.1.2.1): a category SSSS
// and SSSS extra bits; SSSS 16 means 32768 with no extra bits.
func (d *decoder) diff(h *huffman) (int, error) {
	s, err := d.decodeHuff(h)
	if err != nil {
		return 0, err
	}
	switch {
	case s == 0:
		return 0, nil
	case s == 16:
		return 32768, nil
	case s > 16:
		return 0, &Error{d.pos, fmt.Sprintf("difference category %d", s)}
	}
	v := d.receive(s)
	if v < 1<<(s-1) {
		v += -(1 << s) + 1
	}
	return v, nil
}

// handleRestart consumes an RSTn marker at a restart interval boundary.
func (d *decoder) handleRestart() error {
	// Drop the bits left in the buffer and look for the marker.
	d.bits, d.nbits = 0, 0
	if d.marker {
		d.marker = false
	}
	for d.pos+1 < len(d.data) {
		if d.data[d.pos] == 0xFF && d.data[d.pos+1] >= 0xD0 && d.data[d.pos+1] <= 0xD7 {
			d.pos += 2
			return nil
		}
		if d.data[d.pos] == 0xFF && d.data[d.pos+1] != 0x00 && d.data[d.pos+1] != 0xFF {
			return &Error{d.pos, "missing RST marker"}
		}
		d.pos++
	}
	return &Error{d.pos, "missing RST marker"}
}

func (d *decoder) decodeScan(idx []int, pred, pt int) error {
	w, hgt, nc := d.width, d.height, len(d.comps)
	mask := (1 << (d.prec - pt)) - 1
	def := 1 << (d.prec - pt - 1)
	mcus := 0
	firstLine := true // start of image or of a restart interval
	firstSample := true
	for y := 0; y < hgt; y++ {
		for x := 0; x < w; x++ {
			if d.restart > 0 && mcus > 0 && mcus%d.restart == 0 {
				if err := d.handleRestart(); err != nil {
					return err
				}
				firstLine, firstSample = true, true
			}
			if x == 0 && y > 0 && !firstSample {
				firstLine = false
			}
			for _, ci := range idx {
				h := &d.tables[d.comps[ci].td]
				df, err := d.diff(h)
				if err != nil {
					return err
				}
				o := (y*w+x)*nc + ci
				var p int
				switch {
				case firstSample:
					p = def
				case firstLine:
					p = int(d.pix[o-nc])
				case x == 0:
					p = int(d.pix[o-w*nc])
				default:
					ra := int(d.pix[o-nc])
					rb := int(d.pix[o-w*nc])
					rc := int(d.pix[o-w*nc-nc])
					switch pred {
					case 1:
						p = ra
					case 2:
						p = rb
					case 3:
						p = rc
					case 4:
						p = ra + rb - rc
					case 5:
						p = ra + ((rb - rc) >> 1)
					case 6:
						p = rb + ((ra - rc) >> 1)
					case 7:
						p = (ra + rb) >> 1
					}
				}
				d.pix[o] = uint16((p + df) & mask)
			}
			firstSample = false
			mcus++
		}
		if y == 0 {
			firstLine = false
		}
	}
	if pt > 0 {
		// Values were decoded at reduced precision; shift them back, but
		// only for the components of this scan (done once per component).
		for y := 0; y < hgt; y++ {
			for x := 0; x < w; x++ {
				for _, ci := range idx {
					o := (y*w+x)*nc + ci
					d.pix[o] <<= uint(pt)
				}
			}
		}
	}
	return nil
}
