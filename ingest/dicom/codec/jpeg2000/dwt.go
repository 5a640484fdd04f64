package jpeg2000

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// 9/7 lifting constants as OpenJPEG stores them (float32). Like
// OpenJPEG, high-pass samples are scaled by 2/K rather than 1/K; the step
// sizes (tile.go) leave out the sub-band gain to compensate, which keeps
// lossy output equal to the reference decoder's.
const (
	alpha97 = float32(-1.586134342)
	beta97  = float32(-0.052980118)
	gamma97 = float32(0.882911075)
	delta97 = float32(0.443506852)
	k97     = float32(1.230174105)
	twoInvK = float32(1.625732422)
)

// blockJob is one code-block to decode and where its coefficients go.
type blockJob struct {
	cb        *codeblock
	bd        *band
	tc        *tileComp
	c         int // component
	w, ox, oy int // component buffer width; the band's offset in it
}

// reconstruct decodes the tile's code-blocks, runs the inverse wavelet
// and colour transforms and writes the tile into d.out (or, with
// sub-sampled components, d.planes). Code-blocks are independent, so
// they are decoded on up to GOMAXPROCS goroutines (divided among the
// frames being decoded at the time): a large single frame
// (mammography, whole-slide tiles) then uses every core, as OpenJPEG's
// decoder does with threads; each goroutine writes only its blocks'
// disjoint areas of the component buffers.
func (d *decoder) reconstruct(tcs []*tileComp, p *params) error {
	nc := len(tcs)
	ints := make([][]int32, nc)
	floats := make([][]float32, nc)
	var jobs []blockJob
	for c, tc := range tcs {
		w, h := tc.x1-tc.x0, tc.y1-tc.y0
		if tc.cod.reversible {
			ints[c] = make([]int32, w*h)
		} else {
			floats[c] = make([]float32, w*h)
			d.allReversible = false
		}
		for r := range tc.res {
			res := &tc.res[r]
			sw, sh := 0, 0
			if r > 0 {
				lo := &tc.res[r-1]
				sw, sh = lo.x1-lo.x0, lo.y1-lo.y0
			}
			for bi := range res.bands {
				bd := &res.bands[bi]
				ox, oy := 0, 0
				if bd.orient&1 != 0 {
					ox = sw
				}
				if bd.orient&2 != 0 {
					oy = sh
				}
				for pi := range bd.precs {
					pr := &bd.precs[pi]
					for j := range pr.cblks {
						if pr.cblks[j].passes > 0 {
							jobs = append(jobs, blockJob{&pr.cblks[j], bd, tc, c, w, ox, oy})
						}
					}
				}
			}
		}
	}
	decode := func(dec *t1, jb *blockJob) {
		cb, bd, tc := jb.cb, jb.bd, jb.tc
		dec.decodeBlock(cb, bd.orient, bd.mb, tc.roi, tc.cod.style)
		bw := cb.x1 - cb.x0
		step := float32(0.5) * bd.step
		for y := cb.y0; y < cb.y1; y++ {
			src := dec.data[(y-cb.y0)*bw : (y-cb.y0+1)*bw]
			at := (y-bd.y0+jb.oy)*jb.w + cb.x0 - bd.x0 + jb.ox
			if ints[jb.c] != nil {
				dst := ints[jb.c][at : at+bw]
				for i, v := range src {
					dst[i] = v / 2
				}
			} else {
				dst := floats[jb.c][at : at+bw]
				for i, v := range src {
					dst[i] = float32(v) * step
				}
			}
		}
	}
	// Below a few blocks a worker's start-up costs more than it saves.
	// The cores are shared with the other frames being decoded.
	workers := min(runtime.GOMAXPROCS(0)/int(max(1, decoding.Load())), len(jobs)/4)
	if workers <= 1 {
		var dec t1
		for i := range jobs {
			decode(&dec, &jobs[i])
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var dec t1
				for {
					i := int(next.Add(1) - 1)
					if i >= len(jobs) {
						return
					}
					decode(&dec, &jobs[i])
				}
			}()
		}
		wg.Wait()
	}
	for c, tc := range tcs {
		w := tc.x1 - tc.x0
		rev := tc.cod.reversible
		for r := 1; r < len(tc.res); r++ {
			res, lo := &tc.res[r], &tc.res[r-1]
			rw, rh := res.x1-res.x0, res.y1-res.y0
			sw, sh := lo.x1-lo.x0, lo.y1-lo.y0
			if rev {
				idwt2(ints[c], w, rw, rh, sw, sh, res.x0&1, res.y0&1, idwt53)
			} else {
				idwt2(floats[c], w, rw, rh, sw, sh, res.x0&1, res.y0&1, idwt97)
			}
		}
	}
	if p.mct {
		if tcs[0].cod.reversible != tcs[1].cod.reversible || tcs[0].cod.reversible != tcs[2].cod.reversible {
			return errf(0, "colour transform over components with different wavelets")
		}
		for c := 1; c < 3; c++ {
			if tcs[c].dx != tcs[0].dx || tcs[c].dy != tcs[0].dy {
				return errf(0, "colour transform over components of different sub-sampling")
			}
		}
		if tcs[0].cod.reversible {
			y, u, v := ints[0], ints[1], ints[2]
			for i := range y {
				g := y[i] - (u[i]+v[i])>>2
				y[i], u[i], v[i] = v[i]+g, g, u[i]+g
			}
		} else {
			y, u, v := floats[0], floats[1], floats[2]
			for i := range y {
				r := y[i] + float32(v[i]*1.402)
				g := y[i] - float32(u[i]*0.34413) - float32(v[i]*0.71414)
				b := y[i] + float32(u[i]*1.772)
				y[i], u[i], v[i] = r, g, b
			}
		}
	}
	comp := d.comps[0]
	lo, hi, shift := int64(0), int64(1)<<comp.prec-1, int64(1)<<(comp.prec-1)
	if comp.signed {
		lo, hi, shift = -(int64(1) << (comp.prec - 1)), int64(1)<<(comp.prec-1)-1, 0
	}
	for c := 0; c < nc; c++ {
		tc, cp := tcs[c], &d.comps[c]
		w, h := tc.x1-tc.x0, tc.y1-tc.y0
		// Destination: interleaved into d.out, or the component's plane.
		dst, stride, step := d.out, d.width()*nc, nc
		at := (tc.y0-cp.y0)*stride + (tc.x0-cp.x0)*nc + c
		if d.planes != nil {
			dst, stride, step = d.planes[c], cp.x1-cp.x0, 1
			at = (tc.y0-cp.y0)*stride + tc.x0 - cp.x0
		}
		for y := 0; y < h; y++ {
			row := at + y*stride
			for x := 0; x < w; x++ {
				var v int64
				if ints[c] != nil {
					v = int64(ints[c][y*w+x])
				} else {
					f := floats[c][y*w+x]
					switch {
					case f > math.MaxInt32:
						v = hi
					case f < math.MinInt32:
						v = lo
					default:
						v = int64(math.RoundToEven(float64(f)))
					}
				}
				v = min(max(v+shift, lo), hi)
				dst[row+x*step] = int32(v)
			}
		}
	}
	return nil
}

// idwt2 undoes one decomposition level in place on the rw×rh top-left
// region of buf (row stride w), whose low-pass half is sw×sh: rows first,
// then columns, as OpenJPEG does (T.800 F.3.2).
func idwt2[T int32 | float32](buf []T, w, rw, rh, sw, sh, xpar, ypar int, f func([]T, int)) {
	tmp := make([]T, max(rw, rh))
	for y := 0; y < rh; y++ {
		row := buf[y*w : y*w+rw]
		interleave(tmp[:rw], row, sw, xpar)
		f(tmp[:rw], xpar)
		copy(row, tmp[:rw])
	}
	// Columns go colBatch at a time, gathered and scattered a row at a
	// time: one column alone would touch a cache line per sample.
	const colBatch = 16
	cols := make([]T, colBatch*rh)
	for x0 := 0; x0 < rw; x0 += colBatch {
		nb := min(colBatch, rw-x0)
		for y := 0; y < rh; y++ {
			for k, v := range buf[y*w+x0 : y*w+x0+nb] {
				cols[k*rh+y] = v
			}
		}
		for k := 0; k < nb; k++ {
			col := cols[k*rh : (k+1)*rh]
			interleave(tmp[:rh], col, sh, ypar)
			f(tmp[:rh], ypar)
			copy(col, tmp[:rh])
		}
		for y := 0; y < rh; y++ {
			row := buf[y*w+x0 : y*w+x0+nb]
			for k := range row {
				row[k] = cols[k*rh+y]
			}
		}
	}
}

// interleave puts the sn low-pass then the high-pass samples of src at
// their positions: low-pass at even absolute coordinates.
func interleave[T int32 | float32](dst, src []T, sn, par int) {
	n := len(dst)
	li, hi := 0, sn
	for i := 0; i < n; i++ {
		if (i+par)&1 == 0 {
			dst[i] = src[li]
			li++
		} else {
			dst[i] = src[hi]
			hi++
		}
	}
}

func mirror(i, n int) int {
	if i < 0 {
		return -i
	}
	if i >= n {
		return 2*(n-1) - i
	}
	return i
}

// idwt53 is the reversible 5/3 synthesis (T.800 F.3.8) on x, whose first
// sample sits at an absolute coordinate of parity par.
func idwt53(x []int32, par int) {
	n := len(x)
	if n == 1 {
		if par == 1 {
			x[0] /= 2
		}
		return
	}
	for i := par & 1; i < n; i += 2 {
		x[i] -= (x[mirror(i-1, n)] + x[mirror(i+1, n)] + 2) >> 2
	}
	for i := 1 - par&1; i < n; i += 2 {
		x[i] += (x[mirror(i-1, n)] + x[mirror(i+1, n)]) >> 1
	}
}

// idwt97 is the irreversible 9/7 synthesis (T.800 F.3.8.2) in float32
// with OpenJPEG's constants and operation order.
func idwt97(x []float32, par int) {
	n := len(x)
	if n == 1 {
		return
	}
	lo := par & 1 // index of the first low-pass sample
	for i := 0; i < n; i++ {
		if i&1 == lo {
			x[i] *= k97
		} else {
			x[i] *= twoInvK
		}
	}
	lift := func(start int, c float32) {
		for i := start; i < n; i += 2 {
			x[i] = x[i] + float32((x[mirror(i-1, n)]+x[mirror(i+1, n)])*c)
		}
	}
	lift(lo, -delta97)
	lift(1-lo, -gamma97)
	lift(lo, -beta97)
	lift(1-lo, -alpha97)
}
