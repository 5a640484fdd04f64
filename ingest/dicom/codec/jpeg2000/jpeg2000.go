// Package jpeg2000 decodes JPEG 2000 Part 1 (ISO/IEC 15444-1, ITU-T
// T.800) codestreams, the compression behind DICOM transfer syntaxes
// 1.2.840.10008.1.2.4.90 (lossless only) and .4.91 (lossy), either raw
// (starting with SOC) or wrapped in a JP2 file (the codestream is taken
// from the jp2c box).
//
// Supported: one or many tiles and tile-parts, any number of components,
// sub-sampled ones included (XRsiz/YRsiz > 1), 1–16-bit signed and
// unsigned samples, the reversible 5/3 and irreversible 9/7 wavelets with
// any number of decomposition levels, the RCT and ICT colour transforms,
// all five progression orders and progression order changes (POC),
// default and custom precincts, SOP and EPH markers, packet headers in
// the packets or packed into PPM (main header) or PPT (tile-part header)
// segments, any number of quality layers, every Part 1 code-block style
// flag (bypass, reset, termall, vertical-causal, predictable termination,
// segmentation symbols) and ROI maxshift (RGN).
//
// Rejected with an error: high-throughput (Part 15) code-blocks.
//
// Dequantisation, the 9/7 lifting steps and the final rounding follow
// OpenJPEG's arithmetic (float32, round half to even) so that lossy
// frames match the reference decoder DICOM toolkits use.
//
// The code-blocks of a tile are decoded on up to GOMAXPROCS goroutines,
// so one large frame uses every core; frames decoded at the same time
// (a series' slices) divide the cores among them.
//
// The decoder never reads outside its input and allocates at most the
// caller's sample budget (checked against the header before any pixel
// buffer exists) plus per-tile working buffers of the same order; a
// codestream whose packets end before the last one is read is an error,
// never a partly decoded image.
package jpeg2000

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
)

// MaxSamples is the budget Decode uses: width×height×components of one
// frame.
const MaxSamples = 1 << 28

// Image is a decoded frame: samples interleaved per pixel
// (Pix[(y*Width+x)*Components+c]). Unsigned samples lie in
// [0, 2^Precision), signed ones in [-2^(Precision-1), 2^(Precision-1)).
// A sub-sampled component is brought to the image's size by repeating
// each sample over its XRsiz×YRsiz cell, as opj_decompress -upsample
// does; its samples as coded are in Planes.
type Image struct {
	Width, Height, Components, Precision int
	Signed                               bool
	// Reversible is true when every tile-component used the 5/3 wavelet.
	Reversible bool
	Pix        []int32
	// Planes holds, only when some component is sub-sampled, every
	// component at its own size (Plane.Width × Plane.Height samples).
	Planes []Plane
}

// Plane is one component at its coded size.
type Plane struct {
	Width, Height int
	// Dx, Dy are the component's sub-sampling factors (XRsiz, YRsiz).
	Dx, Dy int
	Pix    []int32
}

// Config is a codestream's image header.
type Config struct {
	Width, Height, Components, Precision int
	Signed                               bool
}

// Error is a malformed or unsupported codestream: offset into the
// codestream and reason.
type Error struct {
	Offset int
	Reason string
	Err    error // the sentinel this error wraps (ErrTruncated, …), or nil
}

func (e *Error) Error() string {
	return fmt.Sprintf("jpeg 2000: %s at byte %d", e.Reason, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrTooLarge: the image or its tiling exceeds the caller's budget.
	ErrTooLarge = errors.New("image larger than the allowed size")
	// ErrTruncated: the codestream ends before all of it is read.
	ErrTruncated = errors.New("truncated codestream")
	// ErrUnsupported: a valid feature this decoder does not implement.
	ErrUnsupported = errors.New("unsupported feature")
)

func errf(off int, format string, a ...any) error {
	e := fmt.Errorf(format, a...)
	return &Error{Offset: off, Reason: e.Error(), Err: errors.Unwrap(e)}
}

// decoding counts the frames being decoded at once in this process: a
// frame's code-blocks share the cores with the other frames (a series
// whose slices are decoded in parallel then runs one goroutine per
// frame instead of GOMAXPROCS each).
var decoding atomic.Int64

// Decode decodes a codestream with the default budget.
func Decode(data []byte) (*Image, error) { return DecodeLimit(data, MaxSamples) }

// DecodeLimit decodes a codestream whose width×height×components may not
// exceed maxSamples.
func DecodeLimit(data []byte, maxSamples int) (*Image, error) {
	decoding.Add(1)
	defer decoding.Add(-1)
	cs, err := codestream(data)
	if err != nil {
		return nil, err
	}
	d := &decoder{data: cs, maxSamples: maxSamples}
	if err := d.readMain(); err != nil {
		return nil, err
	}
	if err := d.readTiles(); err != nil {
		return nil, err
	}
	return d.image()
}

// DecodeConfig reads the image header only.
func DecodeConfig(data []byte) (Config, error) {
	cs, err := codestream(data)
	if err != nil {
		return Config{}, err
	}
	d := &decoder{data: cs, maxSamples: MaxSamples}
	if err := d.readMain(); err != nil {
		return Config{}, err
	}
	return Config{d.width(), d.height(), len(d.comps), d.comps[0].prec, d.comps[0].signed}, nil
}

// codestream returns the JPEG 2000 codestream inside data: data itself
// when it starts with SOC, else the contents of the first jp2c box of a
// JP2 file (ISO/IEC 15444-1 Annex I).
func codestream(data []byte) ([]byte, error) {
	if len(data) >= 2 && data[0] == 0xFF && data[1] == 0x4F {
		return data, nil
	}
	if len(data) < 12 || string(data[4:8]) != "jP  " {
		return nil, errf(0, "neither a codestream (SOC) nor a JP2 file")
	}
	pos := 0
	for pos+8 <= len(data) {
		n := uint64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		hdr := uint64(8)
		switch n {
		case 0:
			n = uint64(len(data) - pos)
		case 1:
			if pos+16 > len(data) {
				return nil, errf(pos, "JP2 box header: %w", ErrTruncated)
			}
			n = binary.BigEndian.Uint64(data[pos+8:])
			hdr = 16
		}
		if n < hdr || n > uint64(len(data)-pos) {
			return nil, errf(pos, "JP2 box %q of length %d overruns the file: %w", typ, n, ErrTruncated)
		}
		if typ == "jp2c" {
			return data[pos+int(hdr) : pos+int(n)], nil
		}
		pos += int(n)
	}
	return nil, errf(pos, "JP2 file without a jp2c box: %w", ErrTruncated)
}

// Markers (T.800 Table A.2).
const (
	mSOC = 0xFF4F
	mSOT = 0xFF90
	mSOD = 0xFF93
	mEOC = 0xFFD9
	mSIZ = 0xFF51
	mCOD = 0xFF52
	mCOC = 0xFF53
	mRGN = 0xFF5E
	mQCD = 0xFF5C
	mQCC = 0xFF5D
	mPOC = 0xFF5F
	mTLM = 0xFF55
	mPLM = 0xFF57
	mPLT = 0xFF58
	mPPM = 0xFF60
	mPPT = 0xFF61
	mCRG = 0xFF63
	mCOM = 0xFF64
	mCAP = 0xFF50
	mSOP = 0xFF91
	mEPH = 0xFF92
)

// Code-block style flags (T.800 Table A.19).
const (
	styBypass  = 0x01
	styReset   = 0x02
	styTermAll = 0x04
	styVSC     = 0x08
	styPTerm   = 0x10
	stySegSym  = 0x20
	styHT      = 0x40
)

type component struct {
	prec   int
	signed bool
	dx, dy int
	// x0, y0, x1, y1: the component's area on its own sample grid
	// (T.800 B-12).
	x0, y0, x1, y1 int
}

// coding is a tile-component's coding style (COD/COC).
type coding struct {
	levels     int
	xcb, ycb   int // code-block size exponents
	style      byte
	reversible bool
	pp         []byte // per resolution: PPx | PPy<<4
}

// quant is a tile-component's quantisation (QCD/QCC).
type quant struct {
	guard int
	style int // 0 none, 1 scalar derived, 2 scalar expounded
	exp   []int
	mant  []int
}

// params are the coding parameters in force for one tile.
type params struct {
	prog     int
	layers   int
	mct      bool
	sop, eph bool
	cod      []coding
	q        []quant
	roi      []int
	pocs     []poc // progression order changes; none: prog throughout
}

// poc is one progression of a POC segment (T.800 A.6.6): the packets of
// layers [0, l1), resolutions [r0, r1) and components [c0, c1) not yet
// sent, in order prog.
type poc struct {
	r0, c0, l1, r1, c1, prog int
}

func (p *params) clone() *params {
	c := *p
	c.cod = append([]coding(nil), p.cod...)
	c.q = append([]quant(nil), p.q...)
	c.roi = append([]int(nil), p.roi...)
	c.pocs = append([]poc(nil), p.pocs...)
	return &c
}

type tileState struct {
	p     *params
	parts int
	data  [][]byte
	off   int // codestream offset of the first tile-part's data
	// hdr holds the tile's packet headers when they are packed into PPM
	// or PPT segments rather than written in the packets; packed says
	// which.
	hdr     []byte
	packed  bool
	tilePOC bool // a tile-part header had a POC: the main header's no longer apply
}

type decoder struct {
	data       []byte
	maxSamples int
	pos        int

	x1, y1, x0, y0   int // image area on the reference grid
	tw, th, tx0, ty0 int // tile size and origin
	ntx, nty         int
	comps            []component
	main             *params
	tiles            []*tileState
	out              []int32
	planes           [][]int32 // per component, when some is sub-sampled
	allReversible    bool
	ppm              []byte // PPM contents (Nppm, Ippm pairs), in Zppm order
	havePPM          bool
}

func (d *decoder) width() int  { return d.x1 - d.x0 }
func (d *decoder) height() int { return d.y1 - d.y0 }

// segment reads a marker segment's length and returns its body.
func (d *decoder) segment() ([]byte, int, error) {
	off := d.pos
	if d.pos+2 > len(d.data) {
		return nil, off, errf(off, "marker segment length: %w", ErrTruncated)
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 || d.pos+n > len(d.data) {
		return nil, off, errf(off, "marker segment of length %d overruns the codestream: %w", n, ErrTruncated)
	}
	b := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return b, off, nil
}

func (d *decoder) marker() (int, error) {
	if d.pos+2 > len(d.data) {
		return 0, errf(d.pos, "marker: %w", ErrTruncated)
	}
	m := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if m>>8 != 0xFF {
		return 0, errf(d.pos, "expected a marker, found 0x%04X", m)
	}
	d.pos += 2
	return m, nil
}

func (d *decoder) readMain() error {
	if m, err := d.marker(); err != nil || m != mSOC {
		return errf(0, "missing SOC marker")
	}
	m, err := d.marker()
	if err != nil {
		return err
	}
	if m != mSIZ {
		return errf(d.pos-2, "SIZ must follow SOC, found 0x%04X", m)
	}
	b, off, err := d.segment()
	if err != nil {
		return err
	}
	if err := d.readSIZ(b, off); err != nil {
		return err
	}
	nc := len(d.comps)
	d.main = &params{cod: make([]coding, nc), q: make([]quant, nc), roi: make([]int, nc)}
	var haveCOD, haveQCD bool
	cocSet := make([]bool, nc)
	qccSet := make([]bool, nc)
	for {
		m, err := d.marker()
		if err != nil {
			return err
		}
		if m == mSOT {
			d.pos -= 2
			break
		}
		b, off, err := d.segment()
		if err != nil {
			return err
		}
		switch m {
		case mCOD:
			c, err := d.readCOD(b, off, d.main)
			if err != nil {
				return err
			}
			for i := range d.main.cod {
				if !cocSet[i] {
					d.main.cod[i] = c
				}
			}
			haveCOD = true
		case mCOC:
			i, c, err := d.readCOC(b, off)
			if err != nil {
				return err
			}
			d.main.cod[i], cocSet[i] = c, true
		case mQCD:
			q, err := readQuant(b, off)
			if err != nil {
				return err
			}
			for i := range d.main.q {
				if !qccSet[i] {
					d.main.q[i] = q
				}
			}
			haveQCD = true
		case mQCC:
			i, q, err := d.readQCC(b, off)
			if err != nil {
				return err
			}
			d.main.q[i], qccSet[i] = q, true
		case mRGN:
			i, s, err := d.readRGN(b, off)
			if err != nil {
				return err
			}
			d.main.roi[i] = s
		case mPOC:
			ps, err := d.readPOC(b, off)
			if err != nil {
				return err
			}
			d.main.pocs = append(d.main.pocs, ps...)
		case mPPM:
			// Zppm orders the segments; encoders write them in order,
			// which is all this decoder accepts.
			if len(b) < 1 {
				return errf(off, "PPM segment too short: %w", ErrTruncated)
			}
			d.ppm = append(d.ppm, b[1:]...)
			d.havePPM = true
		case mCAP:
			return errf(off, "Part 15 capabilities (CAP): %w", ErrUnsupported)
		default:
			// TLM, PLM, CRG, COM and unknown segments: only lengths,
			// skipped.
		}
	}
	if !haveCOD || !haveQCD {
		return errf(d.pos, "main header without COD or QCD")
	}
	for i := range d.main.cod {
		if err := checkQuant(&d.main.cod[i], &d.main.q[i], d.pos); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) readSIZ(b []byte, off int) error {
	if len(b) < 36 {
		return errf(off, "SIZ segment too short: %w", ErrTruncated)
	}
	u := func(i int) int { return int(binary.BigEndian.Uint32(b[i:])) }
	d.x1, d.y1, d.x0, d.y0 = u(2), u(6), u(10), u(14)
	d.tw, d.th, d.tx0, d.ty0 = u(18), u(22), u(26), u(30)
	nc := int(binary.BigEndian.Uint16(b[34:]))
	if nc < 1 || nc > 16384 || len(b) != 36+3*nc {
		return errf(off, "SIZ with %d components in %d bytes", nc, len(b))
	}
	if d.x0 >= d.x1 || d.y0 >= d.y1 || d.tw < 1 || d.th < 1 ||
		d.tx0 > d.x0 || d.ty0 > d.y0 || d.tx0+d.tw <= d.x0 || d.ty0+d.th <= d.y0 ||
		d.x1 > 1<<31-1 || d.y1 > 1<<31-1 {
		return errf(off, "SIZ with an impossible image or tile area")
	}
	w, h := d.width(), d.height()
	if uint64(w)*uint64(h)*uint64(nc) > uint64(d.maxSamples) {
		return errf(off, "%dx%d image with %d components: %w", w, h, nc, ErrTooLarge)
	}
	d.ntx = ceilDiv(d.x1-d.tx0, d.tw)
	d.nty = ceilDiv(d.y1-d.ty0, d.th)
	// Isot is 16 bits: more tiles cannot be addressed.
	if d.ntx*d.nty > 65535 || d.ntx*d.nty > w*h {
		return errf(off, "%dx%d tiles: %w", d.ntx, d.nty, ErrTooLarge)
	}
	d.comps = make([]component, nc)
	for i := range d.comps {
		s := b[36+3*i:]
		c := component{prec: int(s[0]&0x7F) + 1, signed: s[0]&0x80 != 0, dx: int(s[1]), dy: int(s[2])}
		if c.prec > 16 {
			return errf(off, "component %d of %d bits: %w", i, c.prec, ErrUnsupported)
		}
		if c.dx < 1 || c.dy < 1 {
			return errf(off, "component %d with sub-sampling %dx%d", i, c.dx, c.dy)
		}
		c.x0, c.y0 = ceilDiv(d.x0, c.dx), ceilDiv(d.y0, c.dy)
		c.x1, c.y1 = ceilDiv(d.x1, c.dx), ceilDiv(d.y1, c.dy)
		if i > 0 && (c.prec != d.comps[0].prec || c.signed != d.comps[0].signed) {
			return errf(off, "components of different precision or signedness: %w", ErrUnsupported)
		}
		d.comps[i] = c
	}
	d.tiles = make([]*tileState, d.ntx*d.nty)
	return nil
}

func (d *decoder) readCOD(b []byte, off int, p *params) (coding, error) {
	if len(b) < 5 {
		return coding{}, errf(off, "COD segment too short: %w", ErrTruncated)
	}
	scod := b[0]
	p.prog = int(b[1])
	p.layers = int(binary.BigEndian.Uint16(b[2:]))
	p.mct = b[4] != 0
	p.sop = scod&2 != 0
	p.eph = scod&4 != 0
	if p.prog > 4 {
		return coding{}, errf(off, "progression order %d", p.prog)
	}
	if p.layers < 1 {
		return coding{}, errf(off, "COD with no quality layers")
	}
	if b[4] > 1 {
		return coding{}, errf(off, "multiple component transform %d: %w", b[4], ErrUnsupported)
	}
	if p.mct && len(d.comps) < 3 {
		return coding{}, errf(off, "colour transform with %d components", len(d.comps))
	}
	return readSPcod(b[5:], scod&1 != 0, off)
}

func readSPcod(b []byte, precincts bool, off int) (coding, error) {
	if len(b) < 5 {
		return coding{}, errf(off, "coding style too short: %w", ErrTruncated)
	}
	c := coding{levels: int(b[0]), xcb: int(b[1]) + 2, ycb: int(b[2]) + 2, style: b[3], reversible: b[4] == 1}
	if c.levels > 32 {
		return coding{}, errf(off, "%d decomposition levels", c.levels)
	}
	if c.xcb > 10 || c.ycb > 10 || c.xcb+c.ycb > 12 {
		return coding{}, errf(off, "code-block size 2^%d x 2^%d", c.xcb, c.ycb)
	}
	if c.style&styHT != 0 || c.style&0x80 != 0 {
		return coding{}, errf(off, "code-block style 0x%02X: %w", c.style, ErrUnsupported)
	}
	if b[4] > 1 {
		return coding{}, errf(off, "wavelet transform %d: %w", b[4], ErrUnsupported)
	}
	c.pp = make([]byte, c.levels+1)
	if precincts {
		if len(b) != 5+c.levels+1 {
			return coding{}, errf(off, "precinct sizes: %d bytes for %d resolutions", len(b)-5, c.levels+1)
		}
		copy(c.pp, b[5:])
		for r := 1; r < len(c.pp); r++ {
			if c.pp[r]&0xF == 0 || c.pp[r]>>4 == 0 {
				return coding{}, errf(off, "precinct size 2^0 above resolution 0")
			}
		}
	} else {
		for r := range c.pp {
			c.pp[r] = 0xFF
		}
	}
	return c, nil
}

func (d *decoder) compIndex(b []byte, off int) (int, []byte, error) {
	if len(d.comps) < 257 {
		if len(b) < 1 {
			return 0, nil, errf(off, "segment too short: %w", ErrTruncated)
		}
		if int(b[0]) >= len(d.comps) {
			return 0, nil, errf(off, "component %d of %d", b[0], len(d.comps))
		}
		return int(b[0]), b[1:], nil
	}
	if len(b) < 2 {
		return 0, nil, errf(off, "segment too short: %w", ErrTruncated)
	}
	i := int(binary.BigEndian.Uint16(b))
	if i >= len(d.comps) {
		return 0, nil, errf(off, "component %d of %d", i, len(d.comps))
	}
	return i, b[2:], nil
}

func (d *decoder) readCOC(b []byte, off int) (int, coding, error) {
	i, b, err := d.compIndex(b, off)
	if err != nil {
		return 0, coding{}, err
	}
	if len(b) < 1 {
		return 0, coding{}, errf(off, "COC too short: %w", ErrTruncated)
	}
	c, err := readSPcod(b[1:], b[0]&1 != 0, off)
	return i, c, err
}

func readQuant(b []byte, off int) (quant, error) {
	if len(b) < 1 {
		return quant{}, errf(off, "quantisation segment too short: %w", ErrTruncated)
	}
	q := quant{guard: int(b[0] >> 5), style: int(b[0] & 0x1F)}
	b = b[1:]
	switch q.style {
	case 0:
		for _, v := range b {
			q.exp = append(q.exp, int(v>>3))
			q.mant = append(q.mant, 0)
		}
	case 1, 2:
		if len(b)%2 != 0 || (q.style == 1 && len(b) != 2) {
			return quant{}, errf(off, "quantisation values of %d bytes", len(b))
		}
		for i := 0; i+1 < len(b); i += 2 {
			v := int(binary.BigEndian.Uint16(b[i:]))
			q.exp = append(q.exp, v>>11)
			q.mant = append(q.mant, v&0x7FF)
		}
	default:
		return quant{}, errf(off, "quantisation style %d", q.style)
	}
	if len(q.exp) == 0 {
		return quant{}, errf(off, "quantisation without values")
	}
	return q, nil
}

func (d *decoder) readQCC(b []byte, off int) (int, quant, error) {
	i, b, err := d.compIndex(b, off)
	if err != nil {
		return 0, quant{}, err
	}
	q, err := readQuant(b, off)
	return i, q, err
}

func (d *decoder) readRGN(b []byte, off int) (int, int, error) {
	i, b, err := d.compIndex(b, off)
	if err != nil {
		return 0, 0, err
	}
	if len(b) != 2 || b[0] != 0 {
		return 0, 0, errf(off, "RGN style: %w", ErrUnsupported)
	}
	return i, int(b[1]), nil
}

// readPOC reads a POC segment's progressions (T.800 A.6.6, Table A.32).
func (d *decoder) readPOC(b []byte, off int) ([]poc, error) {
	cw := 1 // CSpoc and CEpoc: one byte, two from 257 components on
	if len(d.comps) >= 257 {
		cw = 2
	}
	n := 5 + 2*cw
	if len(b) == 0 || len(b)%n != 0 {
		return nil, errf(off, "POC segment of %d bytes", len(b)+2)
	}
	comp := func(b []byte) int {
		if cw == 1 {
			return int(b[0])
		}
		return int(binary.BigEndian.Uint16(b))
	}
	var ps []poc
	for ; len(b) >= n; b = b[n:] {
		p := poc{r0: int(b[0]), c0: comp(b[1:]), l1: int(binary.BigEndian.Uint16(b[1+cw:])),
			r1: int(b[3+cw]), c1: comp(b[4+cw:]), prog: int(b[4+2*cw])}
		if p.c1 == 0 { // CEpoc 0 stands for 256 (Table A.32)
			p.c1 = 256
		}
		if p.prog > 4 {
			return nil, errf(off, "POC progression order %d", p.prog)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// checkQuant verifies that q has a step size for every sub-band of c.
func checkQuant(c *coding, q *quant, off int) error {
	need := 3*c.levels + 1
	if q.style == 1 {
		need = 1
	}
	if len(q.exp) < need {
		return errf(off, "%d quantisation values for %d sub-bands", len(q.exp), need)
	}
	if q.style == 0 && !c.reversible {
		return errf(off, "irreversible wavelet without quantisation step sizes")
	}
	return nil
}

// readTiles reads every tile-part (T.800 A.4) and decodes tiles in
// order once all their parts are present (at EOC).
func (d *decoder) readTiles() error {
	for {
		off := d.pos
		if d.pos+2 > len(d.data) {
			return errf(off, "codestream ends without EOC: %w", ErrTruncated)
		}
		m, err := d.marker()
		if err != nil {
			return err
		}
		if m == mEOC {
			break
		}
		if m != mSOT {
			return errf(off, "expected SOT, found 0x%04X", m)
		}
		b, _, err := d.segment()
		if err != nil {
			return err
		}
		if len(b) != 8 {
			return errf(off, "SOT segment of %d bytes", len(b)+2)
		}
		isot := int(binary.BigEndian.Uint16(b))
		psot := int(binary.BigEndian.Uint32(b[2:]))
		if isot >= len(d.tiles) {
			return errf(off, "tile %d of %d", isot, len(d.tiles))
		}
		end := off + psot
		if psot == 0 {
			end = len(d.data)
			if end >= off+2 && d.data[end-2] == 0xFF && d.data[end-1] == 0xD9 {
				end -= 2
			}
		}
		if psot != 0 && (psot < 14 || end > len(d.data)) {
			return errf(off, "tile-part length %d overruns the codestream: %w", psot, ErrTruncated)
		}
		t := d.tiles[isot]
		if t == nil {
			t = &tileState{p: d.main.clone()}
			d.tiles[isot] = t
		}
		first := t.parts == 0
		t.parts++
		if t.parts > 255 {
			return errf(off, "tile %d has more than 255 parts", isot)
		}
		var tcod *coding
		var tp params
		coc := map[int]coding{}
		var tqcd *quant
		qcc := map[int]quant{}
		for {
			if d.pos >= end {
				return errf(d.pos, "tile-part header without SOD: %w", ErrTruncated)
			}
			m, err := d.marker()
			if err != nil {
				return err
			}
			if m == mSOD {
				break
			}
			b, soff, err := d.segment()
			if err != nil {
				return err
			}
			if d.pos > end {
				return errf(soff, "marker segment overruns its tile-part: %w", ErrTruncated)
			}
			if !first && (m == mCOD || m == mCOC || m == mQCD || m == mQCC) {
				return errf(soff, "coding parameters in a later tile-part")
			}
			switch m {
			case mCOD:
				c, err := d.readCOD(b, soff, &tp)
				if err != nil {
					return err
				}
				tcod = &c
			case mCOC:
				i, c, err := d.readCOC(b, soff)
				if err != nil {
					return err
				}
				coc[i] = c
			case mQCD:
				q, err := readQuant(b, soff)
				if err != nil {
					return err
				}
				tqcd = &q
			case mQCC:
				i, q, err := d.readQCC(b, soff)
				if err != nil {
					return err
				}
				qcc[i] = q
			case mRGN:
				i, s, err := d.readRGN(b, soff)
				if err != nil {
					return err
				}
				t.p.roi[i] = s
			case mPOC:
				ps, err := d.readPOC(b, soff)
				if err != nil {
					return err
				}
				// A tile's own POC replaces the main header's; those of
				// its later tile-parts continue it.
				if !t.tilePOC {
					t.p.pocs, t.tilePOC = nil, true
				}
				t.p.pocs = append(t.p.pocs, ps...)
			case mPPT:
				if d.havePPM {
					return errf(soff, "PPT in a codestream with PPM")
				}
				if len(b) < 1 {
					return errf(soff, "PPT segment too short: %w", ErrTruncated)
				}
				if !t.packed && t.parts > 1 {
					return errf(soff, "PPT in a later tile-part of a tile whose first had none")
				}
				t.hdr = append(t.hdr, b[1:]...)
				t.packed = true
			}
		}
		if first {
			p := t.p
			if tcod != nil {
				p.prog, p.layers, p.mct, p.sop, p.eph = tp.prog, tp.layers, tp.mct, tp.sop, tp.eph
				for i := range p.cod {
					p.cod[i] = *tcod
				}
			}
			for i, c := range coc {
				p.cod[i] = c
			}
			if tqcd != nil {
				for i := range p.q {
					p.q[i] = *tqcd
				}
			}
			for i, q := range qcc {
				p.q[i] = q
			}
			for i := range p.cod {
				if err := checkQuant(&p.cod[i], &p.q[i], off); err != nil {
					return err
				}
			}
		}
		if d.pos > end {
			return errf(d.pos, "tile-part header overruns its length: %w", ErrTruncated)
		}
		if first {
			t.off = d.pos
		}
		if d.havePPM {
			// Each tile-part, in codestream order, takes the next Nppm
			// bytes of packed headers (T.800 A.7.4).
			if len(d.ppm) < 4 {
				return errf(off, "PPM headers end before tile-part %d of tile %d: %w", t.parts, isot, ErrTruncated)
			}
			n := int(binary.BigEndian.Uint32(d.ppm))
			if n > len(d.ppm)-4 {
				return errf(off, "PPM header block of %d bytes overruns the PPM segments: %w", n, ErrTruncated)
			}
			t.hdr = append(t.hdr, d.ppm[4:4+n]...)
			t.packed = true
			d.ppm = d.ppm[4+n:]
		}
		t.data = append(t.data, d.data[d.pos:end])
		d.pos = end
	}
	w, h, nc := d.width(), d.height(), len(d.comps)
	d.out = make([]int32, w*h*nc)
	for _, c := range d.comps {
		if c.dx != 1 || c.dy != 1 {
			d.planes = make([][]int32, nc)
			for i, c := range d.comps {
				d.planes[i] = make([]int32, (c.x1-c.x0)*(c.y1-c.y0))
			}
			break
		}
	}
	d.allReversible = true
	for i, t := range d.tiles {
		if t == nil {
			return errf(d.pos, "tile %d missing: %w", i, ErrTruncated)
		}
		if err := d.decodeTile(i, t); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) image() (*Image, error) {
	c := d.comps[0]
	img := &Image{Width: d.width(), Height: d.height(), Components: len(d.comps), Precision: c.prec,
		Signed: c.signed, Reversible: d.allReversible, Pix: d.out}
	if d.planes != nil {
		d.upsample(img)
	}
	return img, nil
}

// upsample fills img.Pix from the component planes, repeating each
// sample of a sub-sampled component over the image pixels from its own
// position on the reference grid up to the next sample's, as OpenJPEG's
// opj_decompress -upsample does. Like OpenJPEG, pixels left of or above
// a component's first sample (only with an image offset that is not a
// multiple of the sub-sampling) are 0.
func (d *decoder) upsample(img *Image) {
	w, h, nc := img.Width, img.Height, img.Components
	for ci, c := range d.comps {
		pl := d.planes[ci]
		cw, ch := c.x1-c.x0, c.y1-c.y0
		img.Planes = append(img.Planes, Plane{Width: cw, Height: ch, Dx: c.dx, Dy: c.dy, Pix: pl})
		xoff, yoff := c.dx*c.x0-d.x0, c.dy*c.y0-d.y0
		for y := 0; y < h; y++ {
			if y < yoff {
				continue // Pix is zeroed
			}
			sy := min((y-yoff)/c.dy, ch-1)
			row := pl[sy*cw : (sy+1)*cw]
			for x := xoff; x < w; x++ {
				img.Pix[(y*w+x)*nc+ci] = row[min((x-xoff)/c.dx, cw-1)]
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func ceilDivPow2(a, n int) int { return (a + (1 << n) - 1) >> n }

func floorDivPow2(a, n int) int { return a >> n }
