package jpeg2000

// bitReader reads packet-header bits (T.800 B.10.1): after a 0xFF byte
// the next byte carries only seven bits, its top bit being a stuffed 0.
type bitReader struct {
	b      []byte
	pos    int
	cur    byte
	n      int // bits left in cur
	lastFF bool
	err    bool
}

func (br *bitReader) bit() int {
	if br.n == 0 {
		if br.pos >= len(br.b) {
			br.err = true
			return 0
		}
		br.cur = br.b[br.pos]
		br.pos++
		if br.lastFF {
			br.n = 7
		} else {
			br.n = 8
		}
		br.lastFF = br.cur == 0xFF
	}
	br.n--
	return int(br.cur>>br.n) & 1
}

func (br *bitReader) bits(n int) int {
	v := 0
	for ; n > 0; n-- {
		v = v<<1 | br.bit()
	}
	return v
}

// align ends the header: a final 0xFF byte is followed by a stuffed
// byte that belongs to the header.
func (br *bitReader) align() {
	br.n = 0
	if br.lastFF {
		if br.pos >= len(br.b) {
			br.err = true
			return
		}
		br.pos++
		br.lastFF = false
	}
}

// tagTree is T.800 B.10.2's tag tree; values are learned bit by bit.
type tagTree struct {
	levels []tagLevel
}

type tagLevel struct {
	w, h  int
	value []int // known value, or maxInt while unknown
	low   []int
}

const unknown = 1 << 30

func newTagTree(w, h int) *tagTree {
	t := &tagTree{}
	for {
		l := tagLevel{w: w, h: h, value: make([]int, w*h), low: make([]int, w*h)}
		for i := range l.value {
			l.value[i] = unknown
		}
		t.levels = append(t.levels, l)
		if w <= 1 && h <= 1 {
			break
		}
		w, h = (w+1)/2, (h+1)/2
	}
	return t
}

// decode learns leaf (x,y) against threshold and reports whether its
// value is below it.
func (t *tagTree) decode(br *bitReader, x, y, threshold int) bool {
	low := 0
	for li := len(t.levels) - 1; li >= 0; li-- {
		l := &t.levels[li]
		i := (y>>li)*l.w + x>>li
		if low > l.low[i] {
			l.low[i] = low
		} else {
			low = l.low[i]
		}
		for low < threshold && low < l.value[i] {
			if br.bit() == 1 {
				l.value[i] = low
			} else {
				low++
			}
			if br.err {
				return false
			}
		}
		l.low[i] = low
	}
	return t.levels[0].value[(y*t.levels[0].w)+x] < threshold
}

func (t *tagTree) value(x, y int) int { return t.levels[0].value[y*t.levels[0].w+x] }

func floorLog2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}

type pending struct {
	cb *codeblock
	n  int // bytes of this packet for cb
}

// readPacket reads one packet (T.800 B.9–B.10) and appends its
// code-block contributions. Its header comes from the packet itself or,
// when packed (PPM, PPT), from the tile's header stream; the EPH marker
// follows the header wherever it is.
func (d *decoder) readPacket(td *tileData, p *params, tc *tileComp, r, pi, layer int) error {
	res := &tc.res[r]
	b := td.b
	if p.sop && td.pos+6 <= len(b) && b[td.pos] == 0xFF && b[td.pos+1] == 0x91 {
		td.pos += 6
	}
	hb, hpos, hoff := b, td.pos, td.off
	if td.packed {
		hb, hpos, hoff = td.h, td.hpos, 0
	}
	br := &bitReader{b: hb, pos: hpos}
	var body []pending
	style := tc.cod.style
	if br.bit() == 1 {
		for bi := range res.bands {
			bd := &res.bands[bi]
			pr := &bd.precs[pi]
			for j := range pr.cblks {
				cb := &pr.cblks[j]
				x, y := j%pr.cw, j/pr.cw
				first := false
				if !cb.included {
					if !pr.incl.decode(br, x, y, layer+1) {
						if br.err {
							return errf(hoff+br.pos, "packet header: %w", ErrTruncated)
						}
						continue
					}
					t := 1
					for !pr.zbp.decode(br, x, y, t) {
						if br.err {
							return errf(hoff+br.pos, "packet header: %w", ErrTruncated)
						}
						t++
						if t > 64 {
							return errf(hoff+br.pos, "zero bit-plane count beyond 64")
						}
					}
					cb.zeroBP = pr.zbp.value(x, y)
					if cb.zeroBP > bd.mb+tc.roi {
						return errf(hoff+br.pos, "%d zero bit-planes of %d", cb.zeroBP, bd.mb+tc.roi)
					}
					cb.included, cb.lblock, first = true, 3, true
				} else if br.bit() == 0 {
					continue
				}
				n := numPasses(br)
				for br.bit() == 1 {
					cb.lblock++
					if cb.lblock > 32 || br.err {
						return errf(hoff+br.pos, "code-block length indicator beyond 32 bits")
					}
				}
				if br.err {
					return errf(hoff+br.pos, "packet header: %w", ErrTruncated)
				}
				maxPasses := 3*(bd.mb+tc.roi-cb.zeroBP) - 2
				if cb.passes+n > maxPasses {
					return errf(hoff+br.pos, "code-block with %d coding passes, at most %d possible", cb.passes+n, maxPasses)
				}
				if first || cb.segs[len(cb.segs)-1].passes == cb.segs[len(cb.segs)-1].max {
					cb.segs = append(cb.segs, newSegment(cb.segs, style))
				}
				total := 0
				for {
					s := &cb.segs[len(cb.segs)-1]
					k := min(s.max-s.passes, n)
					ln := br.bits(cb.lblock + floorLog2(k))
					s.passes += k
					s.length += ln
					total += ln
					n -= k
					cb.passes += k
					if n == 0 {
						break
					}
					cb.segs = append(cb.segs, newSegment(cb.segs, style))
				}
				if br.err {
					return errf(hoff+br.pos, "packet header: %w", ErrTruncated)
				}
				body = append(body, pending{cb, total})
			}
		}
	}
	br.align()
	if br.err {
		return errf(hoff+br.pos, "packet header: %w", ErrTruncated)
	}
	hpos = br.pos
	if p.eph {
		if hpos+2 > len(hb) || hb[hpos] != 0xFF || hb[hpos+1] != 0x92 {
			return errf(hoff+hpos, "missing EPH marker")
		}
		hpos += 2
	}
	if td.packed {
		td.hpos = hpos
	} else {
		td.pos = hpos
	}
	for _, pd := range body {
		if pd.n > len(b)-td.pos {
			return errf(td.off+td.pos, "code-block data of %d bytes past the tile's end: %w", pd.n, ErrTruncated)
		}
		pd.cb.data = append(pd.cb.data, b[td.pos:td.pos+pd.n]...)
		td.pos += pd.n
	}
	return nil
}

func newSegment(prev []segment, style byte) segment {
	switch {
	case style&styTermAll != 0:
		return segment{max: 1}
	case style&styBypass != 0:
		if len(prev) == 0 {
			return segment{max: 10}
		}
		if m := prev[len(prev)-1].max; m == 1 || m == 10 {
			return segment{max: 2}
		}
		return segment{max: 1}
	}
	return segment{max: 1 << 20}
}

// numPasses reads the coding-pass count codeword (T.800 Table B.4).
func numPasses(br *bitReader) int {
	if br.bit() == 0 {
		return 1
	}
	if br.bit() == 0 {
		return 2
	}
	v := br.bits(2)
	if v < 3 {
		return 3 + v
	}
	v = br.bits(5)
	if v < 31 {
		return 6 + v
	}
	return 37 + br.bits(7)
}
