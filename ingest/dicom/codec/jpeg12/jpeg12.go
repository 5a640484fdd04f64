// Package jpeg12 decodes sequential DCT JPEG with Huffman coding at 8 or
// 12 bits per sample (ITU-T T.81 processes 1, 2 and 4: SOF0 and SOF1),
// the compression of DICOM transfer syntaxes 1.2.840.10008.1.2.4.50 and
// .4.51. The standard library's image/jpeg stops at 8 bits.
//
// The inverse DCT is libjpeg's default integer "islow" transform
// (jidctint.c: 13-bit constants, 2 or 1 pass-one bits, the same rounding
// and range limiting), so results equal DCMTK's dcmdjpeg, which uses
// libjpeg 6b, sample for sample. Samples are returned as coded — no colour
// conversion — with sub-sampled components enlarged by replication
// (libjpeg's default "fancy" upsampling interpolates, so sub-sampled
// colour images differ from it by a few grey levels; DICOM's 12-bit
// images are monochrome). Progressive, lossless, hierarchical and
// arithmetic-coded frames are rejected with an error.
//
// Hostile input: every declared size is checked against the caller's
// sample budget and against the bytes present (every coded block takes at
// least two bits) before anything is allocated, and a scan whose data end
// before its last block is an error, never a partly grey image.
package jpeg12

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/medmd/medmd/ingest/dicom/codec/internal/jpegmarker"
)

// MaxSamples is the budget Decode uses: width×height×components.
const MaxSamples = 1 << 28

// Image is a decoded frame: samples interleaved per pixel
// (Pix[(y*Width+x)*Components+c]), unsigned, Precision bits.
type Image struct {
	Width, Height, Components, Precision int
	Pix                                  []uint16
}

// Config is a stream's frame header.
type Config struct {
	Width, Height, Components, Precision int
}

// Error is a malformed or unsupported stream: offset into the input and
// reason.
type Error struct {
	Offset int
	Reason string
	Err    error // the sentinel this error wraps, or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("jpeg: %s at byte %d", e.Reason, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTooLarge is returned when the frame exceeds the caller's budget.
var ErrTooLarge = errors.New("frame larger than the allowed size")

// ErrTruncated is returned when the data end before the frame does.
var ErrTruncated = errors.New("truncated data")

// ErrUnsupported is returned for JPEG processes this package does not
// decode (progressive, lossless, hierarchical, arithmetic coding).
var ErrUnsupported = errors.New("unsupported JPEG process")

type component struct {
	id, h, v, tq int
	bw, bh       int // blocks across and down, padded to whole MCUs
	stride       int // samples per plane row (bw*8)
	plane        []uint16
	dcPred       int32
	td, ta       int // tables of the current scan
	done         bool
}

type decoder struct {
	jpegmarker.Reader
	width      int
	height     int
	prec       int
	comps      []component
	hmax, vmax int
	mcusX      int
	mcusY      int
	qt         [4][64]int32
	qtOK       [4]bool
	dc, ac     [4]huffman
	restart    int
	maxSamp    int
	sawFrame   bool
	br         bitReader
}

// Decode decodes a whole stream, bounding the frame by MaxSamples.
func Decode(data []byte) (*Image, error) { return DecodeLimit(data, MaxSamples) }

// DecodeLimit decodes a whole stream whose frame may hold at most
// maxSamples samples (width×height×components); a larger frame fails with
// ErrTooLarge before anything is allocated.
func DecodeLimit(data []byte, maxSamples int) (*Image, error) {
	d := &decoder{Reader: jpegmarker.Reader{Data: data, Truncated: ErrTruncated}, maxSamp: maxSamples}
	d.Errf = d.errf
	if err := d.decode(false); err != nil {
		return nil, err
	}
	return d.image(), nil
}

// DecodeConfig reads the frame header only.
func DecodeConfig(data []byte) (Config, error) {
	d := &decoder{Reader: jpegmarker.Reader{Data: data, Truncated: ErrTruncated}, maxSamp: MaxSamples}
	d.Errf = d.errf
	if err := d.decode(true); err != nil {
		return Config{}, err
	}
	return Config{d.width, d.height, len(d.comps), d.prec}, nil
}

func (d *decoder) errf(off int, format string, a ...any) error {
	e := fmt.Errorf(format, a...)
	return &Error{Offset: off, Reason: e.Error(), Err: errors.Unwrap(e)}
}

func (d *decoder) decode(configOnly bool) error {
	if len(d.Data) < 4 || d.Data[0] != 0xFF || d.Data[1] != 0xD8 {
		return d.errf(0, "missing SOI marker")
	}
	d.Pos = 2
	for {
		m, err := d.NextMarker()
		if err != nil {
			return err
		}
		switch {
		case m == 0xD9: // EOI
			if !d.sawFrame {
				return d.errf(d.Pos, "EOI before a frame")
			}
			for _, c := range d.comps {
				if !c.done {
					return d.errf(d.Pos, "EOI before component %d was decoded: %w", c.id, ErrTruncated)
				}
			}
			return nil
		case m == 0xC0 || m == 0xC1:
			if err := d.readSOF(); err != nil {
				return err
			}
			if configOnly {
				return nil
			}
		case m == 0xC4:
			if err := d.readDHT(); err != nil {
				return err
			}
		case m == 0xDB:
			if err := d.readDQT(); err != nil {
				return err
			}
		case m == 0xDD:
			seg, off, err := d.Segment()
			if err != nil {
				return err
			}
			if len(seg) != 2 {
				return d.errf(off, "DRI length %d", len(seg)+2)
			}
			d.restart = int(binary.BigEndian.Uint16(seg))
		case m == 0xDA:
			if !d.sawFrame {
				return d.errf(d.Pos-2, "SOS before SOF")
			}
			if err := d.readScan(); err != nil {
				return err
			}
		case m == 0xC2, m == 0xC6, m == 0xCA, m == 0xCE:
			return d.errf(d.Pos-2, "progressive JPEG (SOF%d): %w", m-0xC0, ErrUnsupported)
		case m == 0xC3 || m == 0xC7 || m == 0xCB || m == 0xCF:
			return d.errf(d.Pos-2, "lossless JPEG (SOF%d): %w", m-0xC0, ErrUnsupported)
		case m >= 0xC5 && m <= 0xCF && m != 0xC8 && m != 0xCC:
			return d.errf(d.Pos-2, "JPEG process SOF%d: %w", m-0xC0, ErrUnsupported)
		case m == 0xF7:
			return d.errf(d.Pos-2, "JPEG-LS stream: %w", ErrUnsupported)
		case m >= 0xD0 && m <= 0xD7:
			return d.errf(d.Pos-2, "unexpected RST%d marker", m-0xD0)
		default: // APPn, COM, DNL-less others: skip
			if _, _, err := d.Segment(); err != nil {
				return err
			}
		}
	}
}

func (d *decoder) readSOF() error {
	seg, off, err := d.Segment()
	if err != nil {
		return err
	}
	if d.sawFrame {
		return d.errf(off, "second SOF")
	}
	if len(seg) < 6 {
		return d.errf(off, "SOF too short")
	}
	d.prec = int(seg[0])
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if d.prec != 8 && d.prec != 12 {
		return d.errf(off, "precision %d (DCT JPEG has 8 or 12): %w", d.prec, ErrUnsupported)
	}
	if d.height == 0 {
		// A DNL marker would give the height after the first scan.
		return d.errf(off, "height 0 (DNL): %w", ErrUnsupported)
	}
	if d.width == 0 || nc < 1 || nc > 4 || len(seg) != 6+3*nc {
		return d.errf(off, "SOF of %dx%d with %d components and length %d", d.width, d.height, nc, len(seg)+2)
	}
	d.hmax, d.vmax = 1, 1
	for i := 0; i < nc; i++ {
		c := seg[6+3*i:]
		h, v, tq := int(c[1]>>4), int(c[1]&15), int(c[2])
		if h < 1 || h > 4 || v < 1 || v > 4 || tq > 3 {
			return d.errf(off+6+3*i, "component %d: sampling %dx%d, table %d", c[0], h, v, tq)
		}
		for _, p := range d.comps {
			if p.id == int(c[0]) {
				return d.errf(off+6+3*i, "duplicate component id %d", c[0])
			}
		}
		d.comps = append(d.comps, component{id: int(c[0]), h: h, v: v, tq: tq})
		d.hmax, d.vmax = max(d.hmax, h), max(d.vmax, v)
	}
	for _, c := range d.comps {
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return d.errf(off, "sampling factors %dx%d not a divisor of %dx%d", c.h, c.v, d.hmax, d.vmax)
		}
	}
	d.sawFrame = true
	n := uint64(d.width) * uint64(d.height) * uint64(nc)
	if n > uint64(d.maxSamp) {
		return d.errf(off, "%dx%dx%d: %w (%d samples)", d.width, d.height, nc, ErrTooLarge, d.maxSamp)
	}
	d.mcusX = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	blocks := 0
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.stride = c.bw * 8
		blocks += c.blocksW(d) * c.blocksH(d)
	}
	// Each block codes at least a DC and an AC end-of-block code of one
	// bit each (T.81 F.1.2); a non-interleaved scan codes no MCU padding,
	// so count the unpadded blocks.
	if need := blocks / 4; need > len(d.Data) {
		return d.errf(off, "%d blocks need at least %d bytes, stream has %d: %w", blocks, need, len(d.Data), ErrTruncated)
	}
	return nil
}

func (d *decoder) readDQT() error {
	seg, off, err := d.Segment()
	if err != nil {
		return err
	}
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, int(seg[0]&15)
		if tq > 3 || pq > 1 {
			return d.errf(off, "DQT precision %d, table %d", pq, tq)
		}
		n := 64 << pq
		if len(seg) < 1+n {
			return d.errf(off, "DQT table %d short", tq)
		}
		for k := 0; k < 64; k++ {
			var q int32
			if pq == 0 {
				q = int32(seg[1+k])
			} else {
				q = int32(binary.BigEndian.Uint16(seg[1+2*k:]))
			}
			d.qt[tq][zigzag[k]] = q
		}
		d.qtOK[tq] = true
		seg = seg[1+n:]
		off += 1 + n
	}
	return nil
}

func (d *decoder) readDHT() error {
	seg, off, err := d.Segment()
	if err != nil {
		return err
	}
	for len(seg) > 0 {
		if len(seg) < 17 {
			return d.errf(off, "DHT short")
		}
		tc, th := seg[0]>>4, int(seg[0]&15)
		if tc > 1 || th > 3 {
			return d.errf(off, "DHT class %d, table %d", tc, th)
		}
		var counts [16]int
		total := 0
		for i := range counts {
			counts[i] = int(seg[1+i])
			total += counts[i]
		}
		if total > 256 || len(seg) < 17+total {
			return d.errf(off, "DHT with %d codes in %d bytes", total, len(seg))
		}
		vals := append([]byte(nil), seg[17:17+total]...)
		h := &d.dc[th]
		if tc == 1 {
			h = &d.ac[th]
		}
		if err := h.build(counts, vals); err != nil {
			return d.errf(off, "%v", err)
		}
		seg = seg[17+total:]
		off += 17 + total
	}
	return nil
}

func (d *decoder) image() *Image {
	nc := len(d.comps)
	img := &Image{Width: d.width, Height: d.height, Components: nc, Precision: d.prec,
		Pix: make([]uint16, d.width*d.height*nc)}
	for ci := range d.comps {
		c := &d.comps[ci]
		fx, fy := d.hmax/c.h, d.vmax/c.v
		for y := 0; y < d.height; y++ {
			row := c.plane[(y/fy)*c.stride:]
			o := y*d.width*nc + ci
			if fx == 1 {
				for x := 0; x < d.width; x++ {
					img.Pix[o] = row[x]
					o += nc
				}
				continue
			}
			for x := 0; x < d.width; x++ {
				img.Pix[o] = row[x/fx]
				o += nc
			}
		}
	}
	return img
}

// zigzag maps zig-zag order to natural order (T.81 Figure A.6).
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// blocksW and blocksH count the blocks a non-interleaved scan of c codes
// (T.81 A.2.2): the component's own size rounded up to whole blocks.
func (c *component) blocksW(d *decoder) int {
	return ((d.width*c.h+d.hmax-1)/d.hmax + 7) / 8
}

func (c *component) blocksH(d *decoder) int {
	return ((d.height*c.v+d.vmax-1)/d.vmax + 7) / 8
}
