// Package jpegls decodes JPEG-LS (ISO/IEC 14495-1, ITU-T T.87), the
// compression behind DICOM transfer syntaxes 1.2.840.10008.1.2.4.80
// (lossless) and .4.81 (near-lossless).
//
// Supported: 2–16-bit samples, any number of components, all three
// interleave modes (none: one scan per component; line; sample), lossless
// and near-lossless (NEAR > 0) coding, preset coding parameters in LSE
// segments (custom MAXVAL, thresholds T1–T3 and RESET), oversize image
// dimensions (LSE id 4) and restart intervals (DRI with RSTm markers).
// Rejected with an error: mapping tables (LSE ids 2 and 3, non-zero table
// selectors in SOS), point transforms, sub-sampled components and the
// HP colour transforms some encoders signal in APP8 — none of them occur
// in DICOM, and decoding them wrongly would hand out wrong pixels.
//
// The decoder never reads outside its input and never allocates more
// than the caller's sample budget plus a few line buffers; a stream whose
// entropy-coded data end before every sample is decoded is an error,
// never a partly filled image.
package jpegls

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/medmd/medmd/ingest/dicom/codec/internal/jpegmarker"
)

// MaxSamples is the budget Decode uses: width×height×components of one
// frame (512 MiB of uint16).
const MaxSamples = 1 << 28

// Image is a decoded frame: samples interleaved per pixel
// (Pix[(y*Width+x)*Components+c]), unsigned, in [0, MaxVal].
type Image struct {
	Width, Height, Components, Precision int
	// Near is the scans' largest NEAR (0 for a lossless stream).
	Near int
	Pix  []uint16
}

// Error is a malformed or unsupported stream: offset into the input and
// reason.
type Error struct {
	Offset int
	Reason string
	Err    error // the sentinel this error wraps (ErrTruncated, …), or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("jpeg-ls: %s at byte %d", e.Reason, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrMappingTable is returned (inside an *Error; test with errors.Is) for
// streams that use JPEG-LS mapping tables (palettised images), which this
// decoder does not implement.
var ErrMappingTable = errors.New("mapping tables are not supported")

// ErrTooLarge is returned when the frame's declared size exceeds the
// caller's sample budget.
var ErrTooLarge = errors.New("frame larger than the allowed size")

// ErrTruncated is returned when the entropy-coded data end before every
// sample of the frame is decoded.
var ErrTruncated = errors.New("truncated data")

// Config is a stream's frame header.
type Config struct {
	Width, Height, Components, Precision int
}

const (
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDRI  = 0xDD
	mSOF  = 0xF7 // SOF55, JPEG-LS frame
	mLSE  = 0xF8
	mRST0 = 0xD0
	mAPP8 = 0xE8
)

type frameComp struct {
	id      int
	decoded bool
}

type decoder struct {
	jpegmarker.Reader
	width    int
	height   int
	prec     int
	comps    []frameComp
	restart  int
	preset   preset
	oversize [2]int // LSE id 4: height, width
	pix      []uint16
	maxSamp  int
	near     int
	sawFrame bool
}

// preset holds LSE id 1 values; 0 means "default".
type preset struct {
	maxval, t1, t2, t3, reset int
}

// Decode decodes a whole JPEG-LS stream, bounding the frame by MaxSamples.
func Decode(data []byte) (*Image, error) {
	return DecodeLimit(data, MaxSamples)
}

// DecodeLimit decodes a whole JPEG-LS stream whose frame may hold at most
// maxSamples samples (width×height×components); a larger frame fails with
// ErrTooLarge before anything is allocated. Callers that know the expected
// size (a DICOM header's Rows×Columns×Samples) pass it here.
func DecodeLimit(data []byte, maxSamples int) (*Image, error) {
	d := &decoder{Reader: jpegmarker.Reader{Data: data, Truncated: ErrTruncated}, maxSamp: maxSamples}
	d.Errf = d.errf
	if err := d.decode(false); err != nil {
		return nil, err
	}
	return &Image{Width: d.width, Height: d.height, Components: len(d.comps), Precision: d.prec, Near: d.near, Pix: d.pix}, nil
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
	if len(d.Data) < 4 || d.Data[0] != 0xFF || d.Data[1] != mSOI {
		return d.errf(0, "missing SOI marker")
	}
	d.Pos = 2
	for {
		m, err := d.NextMarker()
		if err != nil {
			return err
		}
		switch {
		case m == mEOI:
			if !d.sawFrame {
				return d.errf(d.Pos, "EOI before a frame")
			}
			for _, c := range d.comps {
				if !c.decoded {
					return d.errf(d.Pos, "EOI before component %d was decoded", c.id)
				}
			}
			return nil
		case m == mSOF:
			if err := d.readSOF(); err != nil {
				return err
			}
			if configOnly {
				return nil
			}
		case m == mLSE:
			if err := d.readLSE(); err != nil {
				return err
			}
		case m == mDRI:
			seg, off, err := d.Segment()
			if err != nil {
				return err
			}
			// T.87 C.2.5: Ri takes 1–4 bytes (Lr = 3..6).
			if len(seg) < 1 || len(seg) > 4 {
				return d.errf(off, "DRI length %d", len(seg)+2)
			}
			d.restart = 0
			for _, b := range seg {
				d.restart = d.restart<<8 | int(b)
			}
		case m == mSOS:
			if !d.sawFrame {
				return d.errf(d.Pos, "SOS before SOF55")
			}
			if err := d.readScan(); err != nil {
				return err
			}
		case m == mAPP8:
			seg, off, err := d.Segment()
			if err != nil {
				return err
			}
			// HP's colour-transform extension ("mrfx", transform id ≠ 0)
			// changes what the samples mean; refuse rather than mislabel.
			if len(seg) >= 5 && string(seg[:4]) == "mrfx" && seg[4] != 0 {
				return d.errf(off, "HP colour transform %d not supported", seg[4])
			}
		case m >= 0xE0 && m <= 0xEF, m == 0xFE, m == 0xDB, m == 0xC4, m == 0xCC, m == 0xDC:
			if _, _, err := d.Segment(); err != nil {
				return err
			}
		case m >= 0xC0 && m <= 0xCF:
			return d.errf(d.Pos-2, "not a JPEG-LS stream (frame marker FF%02X)", m)
		case m >= mRST0 && m <= mRST0+7:
			return d.errf(d.Pos-2, "unexpected RST%d marker", m-mRST0)
		default:
			// Unknown marker with a length: skip it.
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
		return d.errf(off, "second SOF55")
	}
	if len(seg) < 6 {
		return d.errf(off, "SOF55 too short")
	}
	d.prec = int(seg[0])
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	nc := int(seg[5])
	if d.prec < 2 || d.prec > 16 {
		return d.errf(off, "precision %d outside 2..16", d.prec)
	}
	if nc < 1 || len(seg) != 6+3*nc {
		return d.errf(off, "SOF55 with %d components has length %d", nc, len(seg)+2)
	}
	for i := 0; i < nc; i++ {
		c := seg[6+3*i:]
		if c[1] != 0x11 {
			return d.errf(off+6+3*i, "component %d sampling %dx%d: sub-sampled JPEG-LS not supported", c[0], c[1]>>4, c[1]&15)
		}
		for _, p := range d.comps {
			if p.id == int(c[0]) {
				return d.errf(off+6+3*i, "duplicate component id %d", c[0])
			}
		}
		d.comps = append(d.comps, frameComp{id: int(c[0])})
	}
	if d.height == 0 {
		d.height = d.oversize[0]
	}
	if d.width == 0 {
		d.width = d.oversize[1]
	}
	d.sawFrame = true
	return d.checkSize(off)
}

func (d *decoder) checkSize(off int) error {
	if d.width == 0 || d.height == 0 {
		return d.errf(off, "frame size %dx%d", d.width, d.height)
	}
	n := uint64(d.width) * uint64(d.height) * uint64(len(d.comps))
	if n > uint64(d.maxSamp) {
		return d.errf(off, "%dx%dx%d: %w (%d samples)", d.width, d.height, len(d.comps), ErrTooLarge, d.maxSamp)
	}
	// Every coded line takes at least one bit (a run covers at most 2^15
	// samples per bit, and a line ends any run), so the height is bounded
	// by the bytes present; width×height×components by the caller.
	if d.height > 8*len(d.Data) {
		return d.errf(off, "%d lines cannot fit in %d bytes: %w", d.height, len(d.Data), ErrTruncated)
	}
	return nil
}

func (d *decoder) readLSE() error {
	seg, off, err := d.Segment()
	if err != nil {
		return err
	}
	if len(seg) < 1 {
		return d.errf(off, "empty LSE segment")
	}
	switch seg[0] {
	case 1: // preset coding parameters, T.87 C.2.4.1.1
		if len(seg) != 11 {
			return d.errf(off, "LSE preset parameters of length %d", len(seg)+2)
		}
		v := func(i int) int { return int(binary.BigEndian.Uint16(seg[1+2*i:])) }
		d.preset = preset{maxval: v(0), t1: v(1), t2: v(2), t3: v(3), reset: v(4)}
	case 2, 3:
		return d.errf(off, "LSE id %d: %w", seg[0], ErrMappingTable)
	case 4: // oversize image dimensions, T.87 C.2.4.1.4
		if len(seg) < 2 {
			return d.errf(off, "LSE oversize dimensions too short")
		}
		w := int(seg[1])
		if w < 2 || w > 4 || len(seg) != 2+2*w {
			return d.errf(off, "LSE oversize dimensions with Wxy=%d, length %d", w, len(seg)+2)
		}
		rd := func(b []byte) int {
			v := uint64(0)
			for _, x := range b {
				v = v<<8 | uint64(x)
			}
			if v > 1<<31 {
				v = 1 << 31
			}
			return int(v)
		}
		d.oversize = [2]int{rd(seg[2 : 2+w]), rd(seg[2+w : 2+2*w])}
		if d.pix != nil {
			return d.errf(off, "LSE oversize dimensions after the first scan")
		}
		if d.sawFrame {
			d.height, d.width = d.oversize[0], d.oversize[1]
			return d.checkSize(off)
		}
	default:
		return d.errf(off, "unknown LSE id %d", seg[0])
	}
	return nil
}

// params derives the coding parameters of a scan (T.87 C.2.4.1.1 and
// A.2.1) from the frame, NEAR and the preset segment.
func (d *decoder) params(near, off int) (codingParams, error) {
	var p codingParams
	maxval := 1<<d.prec - 1
	if d.preset.maxval != 0 {
		if d.preset.maxval > maxval {
			return p, d.errf(off, "preset MAXVAL %d exceeds %d-bit range", d.preset.maxval, d.prec)
		}
		maxval = d.preset.maxval
	}
	if near > 255 || near > maxval/2 {
		return p, d.errf(off, "NEAR %d too large for MAXVAL %d", near, maxval)
	}
	p.maxval = int32(maxval)
	p.near = int32(near)
	p.rng = int32((maxval+2*near)/(2*near+1) + 1)
	p.qbpp = int32(ceilLog2(int(p.rng)))
	bpp := max(2, ceilLog2(maxval+1))
	p.limit = int32(2 * (bpp + max(8, bpp)))
	t1, t2, t3 := defaultThresholds(maxval, near)
	if d.preset.t1 != 0 {
		t1 = d.preset.t1
	}
	if d.preset.t2 != 0 {
		t2 = d.preset.t2
	}
	if d.preset.t3 != 0 {
		t3 = d.preset.t3
	}
	if t1 < near+1 || t1 > maxval || t2 < t1 || t2 > maxval || t3 < t2 || t3 > maxval {
		return p, d.errf(off, "invalid thresholds T1=%d T2=%d T3=%d for MAXVAL %d, NEAR %d", t1, t2, t3, maxval, near)
	}
	p.t1, p.t2, p.t3 = int32(t1), int32(t2), int32(t3)
	p.reset = 64
	if d.preset.reset != 0 {
		if d.preset.reset < 3 || d.preset.reset > max(255, maxval) {
			return p, d.errf(off, "invalid RESET %d", d.preset.reset)
		}
		p.reset = int32(d.preset.reset)
	}
	return p, nil
}

func ceilLog2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// defaultThresholds implements T.87 C.2.4.1.1.2.
func defaultThresholds(maxval, near int) (t1, t2, t3 int) {
	clamp := func(i, j int) int {
		if i > maxval || i < j {
			return j
		}
		return i
	}
	const basicT1, basicT2, basicT3 = 3, 7, 21
	if maxval >= 128 {
		f := (min(maxval, 4095) + 128) / 256
		t1 = clamp(f*(basicT1-2)+2+3*near, near+1)
		t2 = clamp(f*(basicT2-3)+3+5*near, t1)
		t3 = clamp(f*(basicT3-4)+4+7*near, t2)
		return
	}
	f := 256 / (maxval + 1)
	t1 = clamp(max(2, basicT1/f+3*near), near+1)
	t2 = clamp(max(3, basicT2/f+5*near), t1)
	t3 = clamp(max(4, basicT3/f+7*near), t2)
	return
}

func (d *decoder) readScan() error {
	seg, off, err := d.Segment()
	if err != nil {
		return err
	}
	if len(seg) < 1 {
		return d.errf(off, "empty SOS")
	}
	ns := int(seg[0])
	if ns < 1 || len(seg) != 1+2*ns+3 {
		return d.errf(off, "SOS with %d components has length %d", ns, len(seg)+2)
	}
	idx := make([]int, ns)
	for i := 0; i < ns; i++ {
		id, tm := int(seg[1+2*i]), seg[2+2*i]
		if tm != 0 {
			return d.errf(off+1+2*i, "component %d selects mapping table %d: %w", id, tm, ErrMappingTable)
		}
		idx[i] = -1
		for j, c := range d.comps {
			if c.id == id {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return d.errf(off+1+2*i, "scan component %d not in frame", id)
		}
		if d.comps[idx[i]].decoded {
			return d.errf(off+1+2*i, "component %d coded twice", id)
		}
		for _, k := range idx[:i] {
			if k == idx[i] {
				return d.errf(off+1+2*i, "component %d listed twice in a scan", id)
			}
		}
	}
	near := int(seg[1+2*ns])
	ilv := int(seg[2+2*ns])
	pt := seg[3+2*ns]
	if pt != 0 {
		return d.errf(off, "point transform %d not supported", pt&15)
	}
	switch {
	case ilv > 2:
		return d.errf(off, "interleave mode %d", ilv)
	case ilv == 0 && ns != 1:
		return d.errf(off, "non-interleaved scan with %d components", ns)
	}
	p, err := d.params(near, off)
	if err != nil {
		return err
	}
	if d.pix == nil {
		d.pix = make([]uint16, d.width*d.height*len(d.comps))
	}
	d.near = max(d.near, near)
	if err := d.decodeScan(p, idx, ilv); err != nil {
		return err
	}
	for _, i := range idx {
		d.comps[i].decoded = true
	}
	return nil
}

// scanEnd returns the offset of the first marker at or after pos: 0xFF
// followed by a byte with its high bit set (T.87 A.1: after 0xFF the
// encoder stuffs a zero bit, so such a pair is never entropy-coded data).
func scanEnd(b []byte, pos int) int {
	for i := pos; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1]&0x80 != 0 {
			return i
		}
	}
	return len(b)
}
