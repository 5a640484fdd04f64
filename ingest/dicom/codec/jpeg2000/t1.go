package jpeg2000

// Per-coefficient state flags of the code-block decoder.
const (
	fSig     = 1 << 0
	fNeg     = 1 << 1
	fVisited = 1 << 2 // coded in this bit-plane's significance pass
	fRefined = 1 << 3 // refined at least once
)

// t1 decodes code-blocks (T.800 Annex D). Coefficients are kept as
// OpenJPEG keeps them: signed, with one fractional bit, so that a
// coefficient's last decoded bit-plane carries the mid-point
// reconstruction offset.
type t1 struct {
	w, h   int
	stride int
	flags  []uint8 // (w+2)×(h+2), one-coefficient border
	nb     []uint8 // neighbour-significance bits, same layout
	data   []int32 // w×h
	mq     mqDecoder
	raw    rawDecoder
	orient int
	vsc    bool
}

func (t *t1) reset(w, h int) {
	t.w, t.h, t.stride = w, h, w+2
	n := (w + 2) * (h + 2)
	if cap(t.flags) < n {
		t.flags = make([]uint8, n)
	}
	t.flags = t.flags[:n]
	clear(t.flags)
	if cap(t.nb) < n {
		t.nb = make([]uint8, n)
	}
	t.nb = t.nb[:n]
	clear(t.nb)
	if cap(t.data) < w*h {
		t.data = make([]int32, w*h)
	}
	t.data = t.data[:w*h]
	clear(t.data)
}

// Neighbour-significance bits kept per coefficient in t1.nb, updated
// when a neighbour becomes significant, so that passes test "any
// significant neighbour" with one load and form contexts by table.
const (
	nbNW = 1 << iota
	nbN
	nbNE
	nbW
	nbE
	nbSW
	nbS
	nbSE
	nbBelow = nbSW | nbS | nbSE
)

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

// mask returns coefficient i's neighbour bits, without the row below
// when causal.
func (t *t1) mask(i int, causal bool) uint8 {
	m := t.nb[i]
	if causal {
		m &^= nbBelow
	}
	return m
}

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

func contrib(f uint8) int {
	if f&fSig == 0 {
		return 0
	}
	if f&fNeg != 0 {
		return -1
	}
	return 1
}

// signContext returns the sign context and the XOR bit (T.800 Table D.3).
func (t *t1) signContext(i int, causal bool) (int, int) {
	f := t.flags
	s := t.stride
	hc := max(-1, min(1, contrib(f[i-1])+contrib(f[i+1])))
	vn := contrib(f[i-s])
	if !causal {
		vn += contrib(f[i+s])
	}
	vc := max(-1, min(1, vn))
	if hc < 0 {
		return ctxSC + 3 - vc, 1 // the hc=1 row, mirrored
	}
	if hc == 0 {
		if vc < 0 {
			return ctxSC + 1, 1
		}
		return ctxSC + vc, 0
	}
	return ctxSC + 3 + vc, 0
}

func (t *t1) decodeBit(raw bool, cx int) int {
	if raw {
		return t.raw.bit()
	}
	return t.mq.decode(cx)
}

func (t *t1) setSig(i, di int, neg bool, val int32) {
	t.flags[i] |= fSig
	s := t.stride
	t.nb[i-s-1] |= nbSE
	t.nb[i-s] |= nbS
	t.nb[i-s+1] |= nbSW
	t.nb[i-1] |= nbE
	t.nb[i+1] |= nbW
	t.nb[i+s-1] |= nbNE
	t.nb[i+s] |= nbN
	t.nb[i+s+1] |= nbNW
	if neg {
		t.flags[i] |= fNeg
		t.data[di] = -val
	} else {
		t.data[di] = val
	}
}

// sigPass is the significance propagation pass.
func (t *t1) sigPass(bpp int, raw bool) {
	oneplushalf := int32(1)<<bpp | int32(1)<<bpp>>1
	for y0 := 0; y0 < t.h; y0 += 4 {
		for x := 0; x < t.w; x++ {
			for y := y0; y < min(y0+4, t.h); y++ {
				i := (y+1)*t.stride + x + 1
				if t.flags[i]&fSig != 0 {
					continue
				}
				causal := t.vsc && y == y0+3
				m := t.mask(i, causal)
				if m == 0 {
					continue
				}
				t.flags[i] |= fVisited
				if t.decodeBit(raw, int(zcTable[t.orient][m])) == 0 {
					continue
				}
				var sign int
				if raw {
					sign = t.raw.bit()
				} else {
					cx, xr := t.signContext(i, causal)
					sign = t.mq.decode(cx) ^ xr
				}
				t.setSig(i, y*t.w+x, sign == 1, oneplushalf)
			}
		}
	}
}

// refPass is the magnitude refinement pass.
func (t *t1) refPass(bpp int, raw bool) {
	half := int32(1) << bpp >> 1
	for y0 := 0; y0 < t.h; y0 += 4 {
		for x := 0; x < t.w; x++ {
			for y := y0; y < min(y0+4, t.h); y++ {
				i := (y+1)*t.stride + x + 1
				f := t.flags[i]
				if f&(fSig|fVisited) != fSig {
					continue
				}
				cx := ctxMR + 2
				if f&fRefined == 0 {
					cx = ctxMR
					if t.mask(i, t.vsc && y == y0+3) != 0 {
						cx = ctxMR + 1
					}
				}
				bit := t.decodeBit(raw, cx)
				di := y*t.w + x
				if (bit == 1) != (t.data[di] < 0) {
					t.data[di] += half
				} else {
					t.data[di] -= half
				}
				t.flags[i] |= fRefined
			}
		}
	}
}

// cleanupPass codes every coefficient the other passes left, with
// run-length coding of all-insignificant stripe columns.
func (t *t1) cleanupPass(bpp int, segsym bool) {
	oneplushalf := int32(1)<<bpp | int32(1)<<bpp>>1
	s := t.stride
	for y0 := 0; y0 < t.h; y0 += 4 {
		for x := 0; x < t.w; x++ {
			start := y0
			if y0+4 <= t.h {
				run := true
				for y := y0; y < y0+4 && run; y++ {
					i := (y+1)*s + x + 1
					if t.flags[i]&(fSig|fVisited) != 0 {
						run = false
						break
					}
					run = t.mask(i, t.vsc && y == y0+3) == 0
				}
				if run {
					if t.mq.decode(ctxRL) == 0 {
						continue
					}
					r := t.mq.decode(ctxUNI) << 1
					r |= t.mq.decode(ctxUNI)
					y := y0 + r
					i := (y+1)*s + x + 1
					cx, xr := t.signContext(i, t.vsc && y == y0+3)
					t.setSig(i, y*t.w+x, t.mq.decode(cx)^xr == 1, oneplushalf)
					start = y + 1
				}
			}
			for y := start; y < min(y0+4, t.h); y++ {
				i := (y+1)*s + x + 1
				if t.flags[i]&(fSig|fVisited) != 0 {
					continue
				}
				causal := t.vsc && y == y0+3
				if t.mq.decode(int(zcTable[t.orient][t.mask(i, causal)])) == 0 {
					continue
				}
				cx, xr := t.signContext(i, causal)
				t.setSig(i, y*t.w+x, t.mq.decode(cx)^xr == 1, oneplushalf)
			}
		}
	}
	for i := range t.flags {
		t.flags[i] &^= fVisited
	}
	if segsym {
		for k := 0; k < 4; k++ {
			t.mq.decode(ctxUNI)
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
