package jpeg2000

// Each coefficient has one state word in t1.flags: the significance of
// its eight neighbours, the signs of its four direct neighbours, and its
// own state. A coefficient turning significant sets the bits of its
// neighbours' words, so that the passes test "any significant neighbour"
// with one load and form the significance and sign contexts by table.
const (
	nbN = 1 << iota
	nbS
	nbW
	nbE
	nbNW
	nbNE
	nbSW
	nbSE
	negN // the north neighbour is negative
	negS
	negW
	negE
	fSig
	fNeg
	fVisited // coded in this bit-plane's significance pass
	fRefined // refined at least once

	nbAll = 0xFF
	// causalMask drops the row below, which vertically causal
	// code-blocks do not look at from a stripe's last row.
	causalMask = ^uint32(nbSW | nbS | nbSE | negS)
)

// t1 decodes code-blocks (T.800 Annex D). Coefficients are kept as
// OpenJPEG keeps them: signed, with one fractional bit, so that a
// coefficient's last decoded bit-plane carries the mid-point
// reconstruction offset.
type t1 struct {
	w, h   int
	stride int
	flags  []uint32 // (w+2)×(h+2), one-coefficient border
	data   []int32  // w×h
	mq     mqDecoder
	raw    rawDecoder
	orient int
	vsc    bool
}

func (t *t1) reset(w, h int) {
	t.w, t.h, t.stride = w, h, w+2
	n := (w + 2) * (h + 2)
	if cap(t.flags) < n {
		t.flags = make([]uint32, n)
	}
	t.flags = t.flags[:n]
	clear(t.flags)
	if cap(t.data) < w*h {
		t.data = make([]int32, w*h)
	}
	t.data = t.data[:w*h]
	clear(t.data)
}

// zcTable maps orientation and neighbour bits to the significance
// context (T.800 Table D.1).
var zcTable = func() (t [4][256]uint8) {
	bit := func(m, b int) int { return (m / b) & 1 }
	for o := 0; o < 4; o++ {
		for m := 0; m < 256; m++ {
			h := bit(m, nbW) + bit(m, nbE)
			v := bit(m, nbN) + bit(m, nbS)
			d := bit(m, nbNW) + bit(m, nbNE) + bit(m, nbSW) + bit(m, nbSE)
			t[o][m] = uint8(zcContext(o, h, v, d))
		}
	}
	return
}()

func zcContext(orient, h, v, d int) int {
	switch orient {
	case bandHL:
		// T.800 Table D.1: the HL sub-band swaps the roles of
		// horizontal and vertical neighbours.
		h, v = v, h
		fallthrough
	case bandLL, bandLH:
		switch {
		case h == 2:
			return 8
		case h == 1:
			if v >= 1 {
				return 7
			}
			if d >= 1 {
				return 6
			}
			return 5
		case v == 2:
			return 4
		case v == 1:
			return 3
		case d >= 2:
			return 2
		}
		return d
	}
	hv := h + v
	switch {
	case d >= 3:
		return 8
	case d == 2:
		if hv >= 1 {
			return 7
		}
		return 6
	case d == 1:
		return 3 + min(hv, 2)
	}
	return min(hv, 2)
}

// scTable maps the significance and sign bits of the four direct
// neighbours, scIndex(f), to the sign context (low bits) and the XOR bit
// (bit 7) of T.800 Table D.3.
var scTable = func() (t [256]uint8) {
	contrib := func(m, sig, neg int) int {
		if m&sig == 0 {
			return 0
		}
		if m&neg != 0 {
			return -1
		}
		return 1
	}
	for k := range 256 {
		m := k&0xF | (k&0xF0)<<4
		hc := max(-1, min(1, contrib(m, nbW, negW)+contrib(m, nbE, negE)))
		vc := max(-1, min(1, contrib(m, nbN, negN)+contrib(m, nbS, negS)))
		var cx, xr int
		switch {
		case hc < 0:
			cx, xr = ctxSC+3-vc, 1 // the hc=1 row, mirrored
		case hc == 0 && vc < 0:
			cx, xr = ctxSC+1, 1
		case hc == 0:
			cx = ctxSC + vc
		default:
			cx = ctxSC + 3 + vc
		}
		t[k] = uint8(cx | xr<<7)
	}
	return
}()

func scIndex(f uint32) uint8 { return uint8(f&0xF | f>>4&0xF0) }

// decodeSign decodes the sign of a coefficient whose state word
// (causal-masked) is f: 1 for negative.
func (t *t1) decodeSign(f uint32) int {
	sc := scTable[scIndex(f)]
	return t.mq.decode(int(sc&0x7F)) ^ int(sc>>7)
}

// setSig makes coefficient i (data index di) significant with magnitude
// val and tells its neighbours.
func (t *t1) setSig(i, di int, neg bool, val int32) {
	s := t.stride
	fl := t.flags[i-s-1 : i+s+2 : i+s+2]
	c := s + 1 // i in fl
	var nn uint32
	if neg {
		nn = 1
		t.data[di] = -val
		fl[c] |= fSig | fNeg
	} else {
		t.data[di] = val
		fl[c] |= fSig
	}
	fl[0] |= nbSE
	fl[1] |= nbS | nn*negS
	fl[2] |= nbSW
	fl[c-1] |= nbE | nn*negE
	fl[c+1] |= nbW | nn*negW
	fl[c+s-1] |= nbNE
	fl[c+s] |= nbN | nn*negN
	fl[c+s+1] |= nbNW
}

// sigPass is the significance propagation pass.
func (t *t1) sigPass(bpp int, raw bool) {
	if raw {
		t.sigPassRaw(bpp)
		return
	}
	oneplushalf := int32(1)<<bpp | int32(1)<<bpp>>1
	zc := &zcTable[t.orient&3]
	mq := &t.mq
	s := t.stride
	flags := t.flags
	for y0 := 0; y0 < t.h; y0 += 4 {
		y1 := min(y0+4, t.h)
		for x := 0; x < t.w; x++ {
			i0 := (y0+1)*s + x + 1
			// Skip stripe columns with nothing significant around
			// them, the common case.
			if y1-y0 == 4 && (flags[i0]|flags[i0+s]|flags[i0+2*s]|flags[i0+3*s])&(nbAll|fSig) == 0 {
				continue
			}
			for y := y0; y < y1; y++ {
				i := (y+1)*s + x + 1
				f := flags[i]
				if t.vsc && y == y0+3 {
					f &= causalMask
				}
				if f&fSig != 0 || f&nbAll == 0 {
					continue
				}
				flags[i] |= fVisited
				cx := int(zc[f&nbAll])
				var bit int
				e := &mqStates[mq.ctx[cx]]
				if a := mq.a - e.qe; (a>>15)&^((mq.c>>16-e.qe)>>31) != 0 {
					mq.a = a
					mq.c -= e.qe << 16
					bit = int(e.mps)
				} else {
					bit = mq.decodeSlow(cx)
				}
				if bit == 0 {
					continue
				}
				t.setSig(i, y*t.w+x, t.decodeSign(f) == 1, oneplushalf)
			}
		}
	}
}

func (t *t1) sigPassRaw(bpp int) {
	oneplushalf := int32(1)<<bpp | int32(1)<<bpp>>1
	s := t.stride
	for y0 := 0; y0 < t.h; y0 += 4 {
		for x := 0; x < t.w; x++ {
			for y := y0; y < min(y0+4, t.h); y++ {
				i := (y+1)*s + x + 1
				f := t.flags[i]
				if t.vsc && y == y0+3 {
					f &= causalMask
				}
				if f&fSig != 0 || f&nbAll == 0 {
					continue
				}
				t.flags[i] |= fVisited
				if t.raw.bit() == 0 {
					continue
				}
				t.setSig(i, y*t.w+x, t.raw.bit() == 1, oneplushalf)
			}
		}
	}
}

// refPass is the magnitude refinement pass.
func (t *t1) refPass(bpp int, raw bool) {
	half := int32(1) << bpp >> 1
	mq := &t.mq
	s := t.stride
	flags := t.flags
	for y0 := 0; y0 < t.h; y0 += 4 {
		y1 := min(y0+4, t.h)
		for x := 0; x < t.w; x++ {
			i0 := (y0+1)*s + x + 1
			if y1-y0 == 4 && (flags[i0]|flags[i0+s]|flags[i0+2*s]|flags[i0+3*s])&fSig == 0 {
				continue
			}
			for y := y0; y < y1; y++ {
				i := (y+1)*s + x + 1
				f := flags[i]
				if f&(fSig|fVisited) != fSig {
					continue
				}
				cx := ctxMR + 2
				if f&fRefined == 0 {
					if t.vsc && y == y0+3 {
						f &= causalMask
					}
					cx = ctxMR
					if f&nbAll != 0 {
						cx = ctxMR + 1
					}
				}
				var bit int
				if raw {
					bit = t.raw.bit()
				} else {
					e := &mqStates[mq.ctx[cx]]
					if a := mq.a - e.qe; (a>>15)&^((mq.c>>16-e.qe)>>31) != 0 {
						mq.a = a
						mq.c -= e.qe << 16
						bit = int(e.mps)
					} else {
						bit = mq.decodeSlow(cx)
					}
				}
				// Magnitude up by half on a 1 bit, down on a 0, the
				// sign kept: without a branch, as the bit is a coin
				// toss the predictor would miss half the time.
				di := y*t.w + x
				v := t.data[di]
				up := int32(uint32(bit) ^ uint32(v)>>31)
				t.data[di] = v + (half<<1)&-up - half
				flags[i] |= fRefined
			}
		}
	}
}

// cleanupPass codes every coefficient the other passes left, with
// run-length coding of all-insignificant stripe columns, and clears the
// visited marks of the significance pass as it goes.
func (t *t1) cleanupPass(bpp int, segsym bool) {
	oneplushalf := int32(1)<<bpp | int32(1)<<bpp>>1
	zc := &zcTable[t.orient&3]
	mq := &t.mq
	s := t.stride
	flags := t.flags
	// The run-length test looks at the row below the stripe only
	// through its last row, which vertically causal blocks mask.
	last := ^uint32(0)
	if t.vsc {
		last = causalMask
	}
	for y0 := 0; y0 < t.h; y0 += 4 {
		y1 := min(y0+4, t.h)
		for x := 0; x < t.w; x++ {
			start := y0
			if y1-y0 == 4 {
				i := (y0+1)*s + x + 1
				const busy = fSig | fVisited | nbAll
				if (flags[i]|flags[i+s]|flags[i+2*s]|flags[i+3*s]&last)&busy == 0 {
					// The run-length decision, decode inlined: most
					// columns of the first bit-planes end here.
					e := &mqStates[mq.ctx[ctxRL]]
					if a := mq.a - e.qe; (a>>15)&^((mq.c>>16-e.qe)>>31) != 0 {
						mq.a = a
						mq.c -= e.qe << 16
						if e.mps == 0 {
							continue
						}
					} else if mq.decodeSlow(ctxRL) == 0 {
						continue
					}
					r := mq.decode(ctxUNI) << 1
					r |= mq.decode(ctxUNI)
					y := y0 + r
					i := (y+1)*s + x + 1
					f := flags[i]
					if y == y0+3 {
						f &= last
					}
					t.setSig(i, y*t.w+x, t.decodeSign(f) == 1, oneplushalf)
					start = y + 1
				}
			}
			for y := start; y < y1; y++ {
				i := (y+1)*s + x + 1
				f := flags[i]
				if f&(fSig|fVisited) != 0 {
					flags[i] = f &^ fVisited
					continue
				}
				if t.vsc && y == y0+3 {
					f &= causalMask
				}
				cx := int(zc[f&nbAll])
				var bit int
				e := &mqStates[mq.ctx[cx]]
				if a := mq.a - e.qe; (a>>15)&^((mq.c>>16-e.qe)>>31) != 0 {
					mq.a = a
					mq.c -= e.qe << 16
					bit = int(e.mps)
				} else {
					bit = mq.decodeSlow(cx)
				}
				if bit == 0 {
					continue
				}
				t.setSig(i, y*t.w+x, t.decodeSign(f) == 1, oneplushalf)
			}
		}
	}
	if segsym {
		for k := 0; k < 4; k++ {
			mq.decode(ctxUNI)
		}
	}
}

// decodeBlock decodes cb's passes into t.data.
func (t *t1) decodeBlock(cb *codeblock, orient, mb, roi int, style byte) {
	t.reset(cb.x1-cb.x0, cb.y1-cb.y0)
	t.orient = orient
	t.vsc = style&styVSC != 0
	t.mq.resetContexts()
	numbps := mb - cb.zeroBP
	bpp := roi + numbps
	passtype := 2
	pos := 0
	for _, sg := range cb.segs {
		seg := cb.data[pos : pos+sg.length]
		pos += sg.length
		raw := style&styBypass != 0 && bpp <= numbps-4 && passtype < 2
		if raw {
			t.raw.init(seg)
		} else {
			t.mq.init(seg)
		}
		for k := 0; k < sg.passes && bpp >= 1; k++ {
			switch passtype {
			case 0:
				t.sigPass(bpp, raw)
			case 1:
				t.refPass(bpp, raw)
			case 2:
				t.cleanupPass(bpp, style&stySegSym != 0)
			}
			if style&styReset != 0 && !raw {
				t.mq.resetContexts()
			}
			passtype++
			if passtype == 3 {
				passtype = 0
				bpp--
			}
		}
	}
	if roi > 0 {
		thresh := int32(1) << roi
		for i, v := range t.data {
			m := v
			if m < 0 {
				m = -m
			}
			if m >= thresh {
				m >>= roi
				if v < 0 {
					m = -m
				}
				t.data[i] = m
			}
		}
	}
}
