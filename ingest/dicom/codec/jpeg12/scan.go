package jpeg12

import "errors"

// huffman is one decoding table (T.81 F.2.2.3 with a 9-bit lookahead).
type huffman struct {
	lookup  [1 << lookBits]uint16 // length<<8 | value; 0 = longer code
	maxcode [17]int32
	valptr  [17]int32
	mincode [17]int32
	vals    []uint8
	ok      bool
}

const lookBits = 9

func (h *huffman) build(counts [16]int, vals []uint8) error {
	*h = huffman{vals: vals}
	code, k := int32(0), 0
	for l := 1; l <= 16; l++ {
		n := counts[l-1]
		// Check before filling the lookup table: too many short codes
		// would write past it.
		if int(code)+n > 1<<l {
			return errors.New("bad Huffman table: too many codes")
		}
		h.valptr[l] = int32(k)
		h.mincode[l] = code
		for i := 0; i < n; i++ {
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
		h.maxcode[l] = code - 1
		if n == 0 {
			h.maxcode[l] = -1
		}
		code <<= 1
	}
	h.ok = true
	return nil
}

// bitReader reads one entropy-coded segment (up to the next marker),
// dropping the zero byte stuffed after each 0xFF (T.81 F.1.2.3). Past
// the end it feeds zeros and counts them, so consuming any is detected.
type bitReader struct {
	data []byte
	pos  int
	acc  uint64
	n    int
	over int
}

func (r *bitReader) fill() {
	for r.n <= 56 {
		if r.pos >= len(r.data) {
			r.n += 8
			r.over += 8
			continue
		}
		b := r.data[r.pos]
		r.pos++
		if b == 0xFF {
			r.pos++ // the stuffed 0x00
		}
		r.acc |= uint64(b) << (56 - r.n)
		r.n += 8
	}
}

func (r *bitReader) overrun() bool { return r.over > r.n }

func (r *bitReader) bits(k int) int32 {
	if r.n < k {
		r.fill()
	}
	v := int32(r.acc >> (64 - k))
	r.acc <<= k
	r.n -= k
	return v
}

// decode returns the next Huffman-coded value, or -1 for a code not in h.
func (r *bitReader) decode(h *huffman) int32 {
	if r.n < 16 {
		r.fill()
	}
	if e := h.lookup[r.acc>>(64-lookBits)]; e != 0 {
		l := int(e >> 8)
		r.acc <<= l
		r.n -= l
		return int32(e & 0xFF)
	}
	for l := lookBits + 1; l <= 16; l++ {
		code := int32(r.acc >> (64 - l))
		if code <= h.maxcode[l] {
			r.acc <<= l
			r.n -= l
			return int32(h.vals[h.valptr[l]+code-h.mincode[l]])
		}
	}
	return -1
}

// extend reads s bits and sign-extends them (T.81 F.2.2.1).
func (r *bitReader) extend(s int32) int32 {
	if s == 0 {
		return 0
	}
	v := r.bits(int(s))
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// segmentEnd returns the offset of the first marker at or after pos.
func segmentEnd(b []byte, pos int) int {
	for i := pos; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] != 0 {
			return i
		}
	}
	return len(b)
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
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return d.errf(off, "SOS with %d components has length %d", ns, len(seg)+2)
	}
	scan := make([]*component, ns)
	for i := 0; i < ns; i++ {
		id, t := int(seg[1+2*i]), seg[2+2*i]
		for j := range d.comps {
			if d.comps[j].id == id {
				scan[i] = &d.comps[j]
			}
		}
		c := scan[i]
		if c == nil {
			return d.errf(off+1+2*i, "scan component %d not in frame", id)
		}
		if c.done {
			return d.errf(off+1+2*i, "component %d coded twice", id)
		}
		for _, p := range scan[:i] {
			if p == c {
				return d.errf(off+1+2*i, "component %d listed twice in a scan", id)
			}
		}
		c.td, c.ta = int(t>>4), int(t&15)
		if c.td > 3 || c.ta > 3 || !d.dc[c.td].ok || !d.ac[c.ta].ok {
			return d.errf(off+1+2*i, "component %d uses undefined Huffman tables %d/%d", id, c.td, c.ta)
		}
		if !d.qtOK[c.tq] {
			return d.errf(off+1+2*i, "component %d uses undefined quantisation table %d", id, c.tq)
		}
	}
	// Ss, Se, Ah and Al are meaningless in a sequential frame; some
	// encoders write Se=0 there, and libjpeg only warns and decodes the
	// full block (jdinput.c, JWRN_NOT_SEQUENTIAL), so ignore them too.
	if ns > 1 {
		bl := 0
		for _, c := range scan {
			bl += c.h * c.v
		}
		if bl > 10 { // T.81 B.2.3
			return d.errf(off, "%d blocks per MCU", bl)
		}
	}
	for _, c := range scan {
		if c.plane == nil {
			c.plane = make([]uint16, c.stride*c.bh*8)
		}
		c.dcPred = 0
	}
	pass1, rl := 2, rangeLimit8[:]
	maxDC := int32(11)
	if d.prec == 12 {
		pass1, rl = 1, rangeLimit12[:]
		maxDC = 15
	}
	mask := len(rl) - 1

	// MCU geometry: one block per MCU for a single-component scan (T.81
	// A.2.2), else the frame's MCUs with h×v blocks per component.
	mw, mh := d.mcusX, d.mcusY
	if ns == 1 {
		mw, mh = scan[0].blocksW(d), scan[0].blocksH(d)
	}
	var coef [64]int32
	end := segmentEnd(d.Data, d.Pos)
	d.br = bitReader{data: d.Data[d.Pos:end]}
	r := &d.br
	rst := 0
	block := func(c *component, bx, by int) error {
		coef = [64]int32{}
		t := r.decode(&d.dc[c.td])
		if t < 0 || t > maxDC {
			return errors.New("bad DC code")
		}
		c.dcPred += r.extend(t)
		coef[0] = c.dcPred
		ac := &d.ac[c.ta]
		for k := 1; k < 64; k++ {
			rs := r.decode(ac)
			if rs < 0 {
				return errors.New("bad AC code")
			}
			run, s := rs>>4, rs&15
			if s == 0 {
				if run != 15 {
					break
				}
				k += 15
				continue
			}
			k += int(run)
			if k > 63 {
				return errors.New("AC coefficients past the block")
			}
			coef[zigzag[k]] = r.extend(s)
		}
		idct(&coef, &d.qt[c.tq], c.plane[by*8*c.stride+bx*8:], c.stride, pass1, rl, mask)
		return nil
	}
	for my := 0; my < mh; my++ {
		for mx := 0; mx < mw; mx++ {
			if n := my*mw + mx; d.restart > 0 && n > 0 && n%d.restart == 0 {
				if r.overrun() {
					return d.errf(end, "MCU %d: %w", n, ErrTruncated)
				}
				// T.81 F.2.1.3.1: RSTm, then fresh DC predictions.
				p := end
				for p < len(d.Data) && d.Data[p] == 0xFF {
					p++
				}
				if p >= len(d.Data) || d.Data[p] != 0xD0+byte(rst&7) {
					return d.errf(end, "missing RST%d marker before MCU %d", rst&7, n)
				}
				rst++
				d.Pos = p + 1
				end = segmentEnd(d.Data, d.Pos)
				d.br = bitReader{data: d.Data[d.Pos:end]}
				for _, c := range scan {
					c.dcPred = 0
				}
			}
			if ns == 1 {
				if err := block(scan[0], mx, my); err != nil {
					return d.blockErr(r, end, err, mx, my)
				}
				continue
			}
			for _, c := range scan {
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						if err := block(c, mx*c.h+bx, my*c.v+by); err != nil {
							return d.blockErr(r, end, err, mx, my)
						}
					}
				}
			}
		}
		if r.overrun() {
			return d.errf(end, "MCU row %d of %d: %w", my, mh, ErrTruncated)
		}
	}
	d.Pos = end
	for _, c := range scan {
		c.done = true
	}
	return nil
}

// blockErr reports a failed block; a stream cut short feeds zeros that
// then look like bad codes, so truncation is named first.
func (d *decoder) blockErr(r *bitReader, end int, err error, mx, my int) error {
	if r.overrun() {
		return d.errf(end, "MCU %d,%d: %w", mx, my, ErrTruncated)
	}
	return d.errf(d.Pos+r.pos, "MCU %d,%d: %v", mx, my, err)
}
