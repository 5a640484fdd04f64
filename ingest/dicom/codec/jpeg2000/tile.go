package jpeg2000

import (
	"sort"
)

// Sub-band orientations, in packet order within a resolution.
const (
	bandLL = 0
	bandHL = 1 // horizontally high-pass
	bandLH = 2
	bandHH = 3
)

type codeblock struct {
	x0, y0, x1, y1 int
	included       bool
	zeroBP         int
	lblock         int
	passes         int
	data           []byte
	segs           []segment
}

// segment is a run of coding passes terminated together (T.800 D.4.1).
type segment struct {
	length, passes, max int
}

type precinct struct {
	cw, ch int // code-blocks across and down
	cblks  []codeblock
	incl   *tagTree
	zbp    *tagTree
}

type band struct {
	orient         int
	x0, y0, x1, y1 int
	mb             int     // magnitude bit-planes (T.800 E-2)
	step           float32 // dequantisation step (OpenJPEG's convention)
	cbw, cbh       int     // code-block size exponents inside precincts
	precs          []precinct
}

type resolution struct {
	x0, y0, x1, y1 int
	ppx, ppy       int
	pw, ph         int
	bands          []band
	next           []int // per precinct: the next layer whose packet is due
}

// tileComp is a tile-component, its area in the component's own sample
// grid (T.800 B-12).
type tileComp struct {
	x0, y0, x1, y1 int
	dx, dy         int // the component's sub-sampling
	cod            *coding
	roi            int
	res            []resolution
}

// tileData is a tile's packet stream (its tile-parts joined) and, when
// packed, its packet headers.
type tileData struct {
	b   []byte
	pos int
	off int // codestream offset of b's start, for messages

	packed bool
	h      []byte // packed packet headers (PPM or PPT)
	hpos   int
}

func (d *decoder) decodeTile(idx int, t *tileState) error {
	p := t.p
	tpx, tpy := idx%d.ntx, idx/d.ntx
	tx0 := max(d.tx0+tpx*d.tw, d.x0)
	ty0 := max(d.ty0+tpy*d.th, d.y0)
	tx1 := min(d.tx0+(tpx+1)*d.tw, d.x1)
	ty1 := min(d.ty0+(tpy+1)*d.th, d.y1)
	var buf []byte
	for _, b := range t.data {
		buf = append(buf, b...)
	}
	// Offsets in messages count from the first tile-part's data; they
	// are exact for single-part tiles.
	td := &tileData{b: buf, off: t.off, packed: t.packed, h: t.hdr}
	nbytes := len(buf) + len(t.hdr)
	tcs := make([]*tileComp, len(d.comps))
	maxRes := 0
	for c, cp := range d.comps {
		tc, err := d.buildTileComp(ceilDiv(tx0, cp.dx), ceilDiv(ty0, cp.dy), ceilDiv(tx1, cp.dx), ceilDiv(ty1, cp.dy),
			&p.cod[c], &p.q[c], p.roi[c], nbytes)
		if err != nil {
			return err
		}
		tc.dx, tc.dy = cp.dx, cp.dy
		tcs[c] = tc
		maxRes = max(maxRes, len(tc.res))
	}
	// Every packet takes at least one byte, so a tile declaring more
	// packets than it has bytes is truncated or lying.
	npk := 0
	for _, tc := range tcs {
		for _, r := range tc.res {
			npk += r.pw * r.ph
		}
	}
	if npk*p.layers > nbytes {
		return errf(td.off, "tile %d declares %d packets in %d bytes: %w", idx, npk*p.layers, nbytes, ErrTruncated)
	}
	err := d.forEachPacket(p, tcs, maxRes, npk, tx0, ty0, func(l, r, c, pi int) error {
		return d.readPacket(td, p, tcs[c], r, pi, l)
	})
	if err != nil {
		return err
	}
	return d.reconstruct(tcs, p)
}

// buildTileComp lays out resolutions, sub-bands, precincts and
// code-blocks (T.800 B.5–B.7).
func (d *decoder) buildTileComp(tx0, ty0, tx1, ty1 int, cod *coding, q *quant, roi int, nbytes int) (*tileComp, error) {
	tc := &tileComp{x0: tx0, y0: ty0, x1: tx1, y1: ty1, cod: cod, roi: roi}
	nl := cod.levels
	guard := q.guard
	ncblk := 0
	for r := 0; r <= nl; r++ {
		s := nl - r
		res := resolution{
			x0: ceilDivPow2(tx0, s), y0: ceilDivPow2(ty0, s),
			x1: ceilDivPow2(tx1, s), y1: ceilDivPow2(ty1, s),
			ppx: int(cod.pp[r] & 0xF), ppy: int(cod.pp[r] >> 4),
		}
		if res.x1 > res.x0 && res.y1 > res.y0 {
			res.pw = ceilDivPow2(res.x1, res.ppx) - floorDivPow2(res.x0, res.ppx)
			res.ph = ceilDivPow2(res.y1, res.ppy) - floorDivPow2(res.y0, res.ppy)
		}
		if res.pw*res.ph > nbytes+1 {
			return nil, errf(0, "%dx%d precincts in a tile of %d bytes: %w", res.pw, res.ph, nbytes, ErrTruncated)
		}
		tlx := floorDivPow2(res.x0, res.ppx) << res.ppx
		tly := floorDivPow2(res.y0, res.ppy) << res.ppy
		cgw, cgh := res.ppx, res.ppy
		orients := []int{bandLL}
		if r > 0 {
			tlx, tly = tlx/2, tly/2
			cgw, cgh = cgw-1, cgh-1
			orients = []int{bandHL, bandLH, bandHH}
		}
		cbw, cbh := min(cod.xcb, cgw), min(cod.ycb, cgh)
		for _, o := range orients {
			b := band{orient: o, cbw: cbw, cbh: cbh}
			if r == 0 {
				b.x0, b.y0, b.x1, b.y1 = ceilDivPow2(tx0, nl), ceilDivPow2(ty0, nl), ceilDivPow2(tx1, nl), ceilDivPow2(ty1, nl)
			} else {
				nb := nl - r + 1
				xo, yo := o&1, o>>1
				b.x0 = ceilDivPow2(tx0-(xo<<(nb-1)), nb)
				b.y0 = ceilDivPow2(ty0-(yo<<(nb-1)), nb)
				b.x1 = ceilDivPow2(tx1-(xo<<(nb-1)), nb)
				b.y1 = ceilDivPow2(ty1-(yo<<(nb-1)), nb)
			}
			// Quantisation: sub-band index in QCD order.
			bi := 0
			if r > 0 {
				bi = 3*(r-1) + o
			}
			var exp, mant int
			switch q.style {
			case 1:
				// Derived step sizes (T.800 E-5): ε0 − NL + nb.
				exp, mant = max(q.exp[0]-max(r-1, 0), 0), q.mant[0]
			default:
				exp, mant = q.exp[bi], q.mant[bi]
			}
			b.mb = exp + guard - 1
			if b.mb+roi > 30 {
				return nil, errf(0, "%d magnitude bit-planes: %w", b.mb+roi, ErrUnsupported)
			}
			// OpenJPEG leaves the sub-band gain out of irreversible step
			// sizes and compensates inside its 9/7 lifting (see dwt.go).
			rb := d.comps[0].prec
			b.step = float32((1.0 + float64(mant)/2048.0) * pow2(rb-exp))
			b.precs = make([]precinct, res.pw*res.ph)
			for pi := range b.precs {
				px0 := tlx + (pi%max(res.pw, 1))<<cgw
				py0 := tly + (pi/max(res.pw, 1))<<cgh
				x0, y0 := max(px0, b.x0), max(py0, b.y0)
				x1, y1 := min(px0+1<<cgw, b.x1), min(py0+1<<cgh, b.y1)
				pr := &b.precs[pi]
				if x1 <= x0 || y1 <= y0 {
					continue
				}
				cx0, cy0 := floorDivPow2(x0, cbw), floorDivPow2(y0, cbh)
				pr.cw = ceilDivPow2(x1, cbw) - cx0
				pr.ch = ceilDivPow2(y1, cbh) - cy0
				ncblk += pr.cw * pr.ch
				if ncblk > (tx1-tx0)*(ty1-ty0)+nbytes {
					return nil, errf(0, "too many code-blocks: %w", ErrTooLarge)
				}
				pr.cblks = make([]codeblock, pr.cw*pr.ch)
				for j := range pr.cblks {
					cx, cy := cx0+j%pr.cw, cy0+j/pr.cw
					pr.cblks[j] = codeblock{
						x0: max(cx<<cbw, x0), y0: max(cy<<cbh, y0),
						x1: min((cx+1)<<cbw, x1), y1: min((cy+1)<<cbh, y1),
					}
				}
				pr.incl = newTagTree(pr.cw, pr.ch)
				pr.zbp = newTagTree(pr.cw, pr.ch)
			}
			res.bands = append(res.bands, b)
		}
		tc.res = append(tc.res, res)
	}
	return tc, nil
}

func pow2(n int) float64 {
	v := 1.0
	for ; n > 0; n-- {
		v *= 2
	}
	for ; n < 0; n++ {
		v /= 2
	}
	return v
}

// forEachPacket calls fn for every packet of the tile in its progression
// order (T.800 B.12): the COD order over the whole tile, or, when the
// tile has progression order changes, each POC progression in turn,
// skipping packets an earlier one sent (as OpenJPEG does, only the POC
// progressions are followed then).
func (d *decoder) forEachPacket(p *params, tcs []*tileComp, maxRes, npk, tx0, ty0 int, fn func(l, r, c, pi int) error) error {
	for _, tc := range tcs {
		for r := range tc.res {
			tc.res[r].next = make([]int, tc.res[r].pw*tc.res[r].ph)
		}
	}
	if len(p.pocs) == 0 {
		return d.progression(tcs, poc{l1: p.layers, r1: maxRes, c1: len(tcs), prog: p.prog}, tx0, ty0, fn)
	}
	// POC progressions may overlap, so bound the packet positions
	// visited: a hostile list of thousands of whole-tile progressions
	// would otherwise loop for long over packets already sent.
	budget := 64 * max(npk*p.layers, 1)
	for _, pc := range p.pocs {
		pc.l1 = min(pc.l1, p.layers)
		pc.r1 = min(pc.r1, maxRes)
		pc.c1 = min(pc.c1, len(tcs))
		if pc.r0 >= pc.r1 || pc.c0 >= pc.c1 || pc.l1 == 0 {
			continue
		}
		visits := 0
		for c := pc.c0; c < pc.c1; c++ {
			for r := pc.r0; r < min(pc.r1, len(tcs[c].res)); r++ {
				visits += tcs[c].res[r].pw * tcs[c].res[r].ph * pc.l1
			}
		}
		if budget -= visits; budget < 0 {
			return errf(0, "progression order changes revisit the tile's packets too often")
		}
		if err := d.progression(tcs, pc, tx0, ty0, fn); err != nil {
			return err
		}
	}
	return nil
}

// progression calls fn for the packets of one progression volume not
// sent before. Position-driven orders are realised by sorting the
// precincts on the reference-grid position where the standard's loop
// first meets them.
func (d *decoder) progression(tcs []*tileComp, pc poc, tx0, ty0 int, fn func(l, r, c, pi int) error) error {
	emit := func(l, r, c, pi int) error {
		res := &tcs[c].res[r]
		if l < res.next[pi] {
			return nil // sent by an earlier progression
		}
		res.next[pi] = l + 1
		return fn(l, r, c, pi)
	}
	// layerRes emits layer l of resolution r of every component, in
	// component then precinct order: the inner loops LRCP and RLCP share.
	layerRes := func(l, r int) error {
		for c := pc.c0; c < pc.c1; c++ {
			if r >= len(tcs[c].res) {
				continue
			}
			res := &tcs[c].res[r]
			for pi := 0; pi < res.pw*res.ph; pi++ {
				if err := emit(l, r, c, pi); err != nil {
					return err
				}
			}
		}
		return nil
	}
	switch pc.prog {
	case 0: // LRCP
		for l := 0; l < pc.l1; l++ {
			for r := pc.r0; r < pc.r1; r++ {
				if err := layerRes(l, r); err != nil {
					return err
				}
			}
		}
		return nil
	case 1: // RLCP
		for r := pc.r0; r < pc.r1; r++ {
			for l := 0; l < pc.l1; l++ {
				if err := layerRes(l, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	type item struct{ y, x, c, r, pi int }
	var items []item
	for c := pc.c0; c < pc.c1; c++ {
		tc := tcs[c]
		nl := len(tc.res) - 1
		for r := pc.r0; r < min(pc.r1, len(tc.res)); r++ {
			res := &tc.res[r]
			for pi := 0; pi < res.pw*res.ph; pi++ {
				i, j := pi%res.pw, pi/res.pw
				// Precinct origin on the reference grid, clipped to the tile.
				x := ((floorDivPow2(res.x0, res.ppx) + i) << (res.ppx + nl - r)) * tc.dx
				y := ((floorDivPow2(res.y0, res.ppy) + j) << (res.ppy + nl - r)) * tc.dy
				items = append(items, item{max(y, ty0), max(x, tx0), c, r, pi})
			}
		}
	}
	var less func(a, b item) bool
	switch pc.prog {
	case 2: // RPCL
		less = func(a, b item) bool {
			if a.r != b.r {
				return a.r < b.r
			}
			if a.y != b.y {
				return a.y < b.y
			}
			if a.x != b.x {
				return a.x < b.x
			}
			return a.c < b.c
		}
	case 3: // PCRL
		less = func(a, b item) bool {
			if a.y != b.y {
				return a.y < b.y
			}
			if a.x != b.x {
				return a.x < b.x
			}
			if a.c != b.c {
				return a.c < b.c
			}
			return a.r < b.r
		}
	default: // CPRL
		less = func(a, b item) bool {
			if a.c != b.c {
				return a.c < b.c
			}
			if a.y != b.y {
				return a.y < b.y
			}
			if a.x != b.x {
				return a.x < b.x
			}
			return a.r < b.r
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return less(items[i], items[j]) })
	for _, it := range items {
		for l := 0; l < pc.l1; l++ {
			if err := emit(l, it.r, it.c, it.pi); err != nil {
				return err
			}
		}
	}
	return nil
}
