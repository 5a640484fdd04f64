package jpegls

import (
	"math/bits"
	"sync"
)

// codingParams are the derived parameters of one scan (T.87 A.2.1).
type codingParams struct {
	maxval, near, rng, qbpp, limit int32
	t1, t2, t3, reset              int32
}

// bitReader reads the entropy-coded segment between two markers. After a
// 0xFF byte the encoder stuffs a zero bit (T.87 A.1), so the next byte
// carries 7 bits. Past the end it feeds zeros and counts them in over, so
// a decode that consumed any of them is known to be truncated.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // MSB-first; bits below the n valid ones are zero
	n      int
	prevFF bool
	over   int
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
		if r.prevFF {
			r.acc |= uint64(b) << (57 - r.n)
			r.n += 7
		} else {
			r.acc |= uint64(b) << (56 - r.n)
			r.n += 8
		}
		r.prevFF = b == 0xFF
	}
}

// overrun reports whether decoding has consumed bits past the data.
func (r *bitReader) overrun() bool { return r.over > r.n }

func (r *bitReader) bit() int32 {
	if r.n == 0 {
		r.fill()
	}
	v := int32(r.acc >> 63)
	r.acc <<= 1
	r.n--
	return v
}

// bits reads k ≤ 32 bits.
func (r *bitReader) bits(k int32) int32 {
	if r.n < int(k) {
		r.fill()
	}
	v := int32(r.acc >> (64 - k))
	r.acc <<= k
	r.n -= int(k)
	return v
}

type regularCtx struct{ a, b, c, n int32 }
type runCtx struct{ a, n, nn int32 }

// jTable is T.87 A.7.1.2's run-length order table J.
var jTable = [32]int32{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15}

type scanDecoder struct {
	codingParams
	br       bitReader
	ctx      [365]regularCtx
	ri       [2]runCtx
	runIndex int
	quant    []int8 // quantised gradient, indexed by gradient+maxval
	bad      string // sticky entropy-decoding error
}

func (s *scanDecoder) reset() {
	a := max(2, (s.rng+32)/64)
	for i := range s.ctx {
		s.ctx[i] = regularCtx{a: a, n: 1}
	}
	s.ri = [2]runCtx{{a: a, n: 1}, {a: a, n: 1}}
	s.runIndex = 0
}

// quantCache keeps the gradient tables of the few parameter sets real
// streams use (one per bit depth and NEAR): a 16-bit table has 131071
// entries, as much work as decoding a small frame. Tables are read-only
// once published; the cache stops growing at quantCacheMax entries so
// hostile streams cycling thresholds cannot grow it.
var quantCache struct {
	sync.Mutex
	m map[quantKey][]int8
}

type quantKey struct{ maxval, near, t1, t2, t3 int32 }

const quantCacheMax = 32

func (s *scanDecoder) buildQuant() {
	key := quantKey{s.maxval, s.near, s.t1, s.t2, s.t3}
	quantCache.Lock()
	q, ok := quantCache.m[key]
	quantCache.Unlock()
	if ok {
		s.quant = q
		return
	}
	s.makeQuant()
	quantCache.Lock()
	if quantCache.m == nil {
		quantCache.m = map[quantKey][]int8{}
	}
	if len(quantCache.m) < quantCacheMax {
		quantCache.m[key] = s.quant
	}
	quantCache.Unlock()
}

func (s *scanDecoder) makeQuant() {
	m := s.maxval
	s.quant = make([]int8, 2*m+1)
	for d := -m; d <= m; d++ {
		var q int8
		switch {
		case d <= -s.t3:
			q = -4
		case d <= -s.t2:
			q = -3
		case d <= -s.t1:
			q = -2
		case d < -s.near:
			q = -1
		case d <= s.near:
			q = 0
		case d < s.t1:
			q = 1
		case d < s.t2:
			q = 2
		case d < s.t3:
			q = 3
		default:
			q = 4
		}
		s.quant[d+m] = q
	}
}

func (s *scanDecoder) context(ra, rb, rc, rd int32) int32 {
	m := s.maxval
	return 81*int32(s.quant[rd-rb+m]) + 9*int32(s.quant[rb-rc+m]) + int32(s.quant[rc-ra+m])
}

// golomb decodes one length-limited Golomb code (T.87 A.5.3).
func (s *scanDecoder) golomb(k, limit int32) int32 {
	r := &s.br
	maxPrefix := limit - s.qbpp - 1
	var prefix int32
	for {
		if r.n == 0 {
			r.fill()
		}
		lz := int32(bits.LeadingZeros64(r.acc))
		if int(lz) < r.n {
			prefix += lz
			r.acc <<= lz + 1
			r.n -= int(lz) + 1
			break
		}
		prefix += int32(r.n)
		r.acc, r.n = 0, 0
		if prefix > maxPrefix {
			break
		}
	}
	switch {
	case prefix < maxPrefix:
		if k == 0 {
			return prefix
		}
		return prefix<<k | r.bits(k)
	case prefix == maxPrefix:
		return r.bits(s.qbpp) + 1
	}
	s.bad = "Golomb code longer than LIMIT"
	return 0
}

func predict(ra, rb, rc int32) int32 {
	if rc >= max(ra, rb) {
		return min(ra, rb)
	}
	if rc <= min(ra, rb) {
		return max(ra, rb)
	}
	return ra + rb - rc
}

func (s *scanDecoder) clamp(v int32) int32 {
	if v < 0 {
		return 0
	}
	if v > s.maxval {
		return s.maxval
	}
	return v
}

// reconstruct adds a (quantised) error to a prediction with the modulo
// reduction of T.87 A.4.5 and clamps.
func (s *scanDecoder) reconstruct(px, e int32) int32 {
	v := px + e*(2*s.near+1)
	if v < -s.near {
		v += s.rng * (2*s.near + 1)
	} else if v > s.maxval+s.near {
		v -= s.rng * (2*s.near + 1)
	}
	return s.clamp(v)
}

// regular decodes one sample in regular mode (T.87 A.4–A.6).
func (s *scanDecoder) regular(qs, px int32) int32 {
	sign := int32(1)
	if qs < 0 {
		sign, qs = -1, -qs
	}
	c := &s.ctx[qs]
	px = s.clamp(px + sign*c.c)
	k := int32(0)
	for c.n<<k < c.a {
		k++
	}
	m := s.golomb(k, s.limit)
	e := (m >> 1) ^ -(m & 1)
	if e > 65535 || e < -65535 {
		s.bad = "error value out of range"
		return 0
	}
	if k == 0 && s.near == 0 && 2*c.b+c.n-1 < 0 {
		e = ^e
	}
	// Context update, T.87 A.6.1–A.6.2.
	c.a += abs32(e)
	c.b += e * (2*s.near + 1)
	if c.a >= 1<<24 || c.b >= 1<<24 || c.b <= -1<<24 {
		s.bad = "context statistics overflow"
		return 0
	}
	if c.n == s.codingParams.reset {
		c.a >>= 1
		c.b >>= 1
		c.n >>= 1
	}
	c.n++
	if c.b+c.n <= 0 {
		c.b += c.n
		if c.b <= -c.n {
			c.b = -c.n + 1
		}
		if c.c > -128 {
			c.c--
		}
	} else if c.b > 0 {
		c.b -= c.n
		if c.b > 0 {
			c.b = 0
		}
		if c.c < 127 {
			c.c++
		}
	}
	return s.reconstruct(px, sign*e)
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// runPixels decodes the length of a run of at most count samples
// (T.87 A.7.1.2).
func (s *scanDecoder) runPixels(count int) int {
	idx := 0
	for s.br.bit() == 1 {
		step := 1 << jTable[s.runIndex]
		n := min(step, count-idx)
		idx += n
		if n == step && s.runIndex < 31 {
			s.runIndex++
		}
		if idx == count {
			return idx
		}
	}
	if j := jTable[s.runIndex]; j > 0 {
		idx += int(s.br.bits(j))
	}
	if idx > count {
		s.bad = "run longer than the line"
		return count
	}
	return idx
}

// riError decodes a run-interruption error with context ri (T.87 A.7.2).
func (s *scanDecoder) riError(ri int32) int32 {
	c := &s.ri[ri]
	temp := c.a
	if ri == 1 {
		temp += c.n >> 1
	}
	k := int32(0)
	for c.n<<k < temp {
		k++
	}
	em := s.golomb(k, s.limit-jTable[s.runIndex]-1)
	t := em + ri
	mp := t & 1
	ab := (t + mp) / 2
	e := ab
	if (k != 0 || 2*c.nn >= c.n) == (mp == 1) {
		e = -ab
	}
	if e > 65535 || e < -65535 {
		s.bad = "error value out of range"
		return 0
	}
	if e < 0 {
		c.nn++
	}
	c.a += (em + 1 - ri) >> 1
	if c.a >= 1<<24 {
		s.bad = "context statistics overflow"
		return 0
	}
	if c.n == s.codingParams.reset {
		c.a >>= 1
		c.n >>= 1
		c.nn >>= 1
	}
	c.n++
	return e
}

func sign32(v int32) int32 {
	if v < 0 {
		return -1
	}
	return 1
}

// line decodes samples 1..w of cur (one component); cur[0] and prev[w+1]
// are the edge samples the caller set.
func (s *scanDecoder) line(prev, cur []int32, w int) {
	prev, cur = prev[:w+2], cur[:w+2]
	for i := 1; i <= w; {
		ra, rb, rc, rd := cur[i-1], prev[i], prev[i-1], prev[i+1]
		qs := s.context(ra, rb, rc, rd)
		if qs != 0 {
			cur[i] = s.regular(qs, predict(ra, rb, rc))
			i++
			continue
		}
		n := s.runPixels(w - i + 1)
		for j := i; j < i+n; j++ {
			cur[j] = ra
		}
		i += n
		if i > w || s.bad != "" {
			break
		}
		rb = prev[i]
		var e int32
		if abs32(ra-rb) <= s.near {
			e = s.reconstruct(ra, s.riError(1))
		} else {
			e = s.reconstruct(rb, s.riError(0)*sign32(rb-ra))
		}
		cur[i] = e
		if s.runIndex > 0 {
			s.runIndex--
		}
		i++
	}
}

// lineInterleaved decodes pixels 1..w of a sample-interleaved line of nc
// components (pixel i at cur[i*nc:]). A run needs every component's
// gradients inside NEAR; each component of the interrupting pixel is
// coded against Rb with context 0 (as CharLS, the reference, does).
func (s *scanDecoder) lineInterleaved(prev, cur []int32, w, nc int) {
	prev, cur = prev[:(w+2)*nc], cur[:(w+2)*nc]
	var qs [maxComps]int32
	for i := 1; i <= w; {
		o := i * nc
		zero := true
		for c := 0; c < nc; c++ {
			q := s.context(cur[o-nc+c], prev[o+c], prev[o-nc+c], prev[o+nc+c])
			qs[c] = q
			zero = zero && q == 0
		}
		if !zero {
			for c := 0; c < nc; c++ {
				cur[o+c] = s.regular(qs[c], predict(cur[o-nc+c], prev[o+c], prev[o-nc+c]))
			}
			i++
			continue
		}
		n := s.runPixels(w - i + 1)
		for j := i; j < i+n; j++ {
			copy(cur[j*nc:j*nc+nc], cur[o-nc:o])
		}
		i += n
		if i > w || s.bad != "" {
			break
		}
		o = i * nc
		for c := 0; c < nc; c++ {
			ra, rb := cur[o-nc+c], prev[o+c]
			cur[o+c] = s.reconstruct(rb, s.riError(0)*sign32(rb-ra))
		}
		if s.runIndex > 0 {
			s.runIndex--
		}
		i++
	}
}

// maxComps bounds the components of a sample-interleaved scan (T.87
// allows up to 255 in a frame, but an interleaved scan holds at most 4).
const maxComps = 4

// decodeScan decodes one scan into d.pix.
func (d *decoder) decodeScan(p codingParams, idx []int, ilv int) error {
	s := &scanDecoder{codingParams: p}
	s.buildQuant()
	w, h, nf := d.width, d.height, len(d.comps)
	ns := len(idx)
	if ilv == 2 && ns > maxComps {
		return d.errf(d.Pos, "sample-interleaved scan of %d components (at most %d)", ns, maxComps)
	}
	// Line buffers: two lines (previous, current) per scan component for
	// none/line interleave, or two pixel-interleaved lines for sample
	// interleave; each line has one edge sample at both ends.
	nl, stride := ns, w+2
	if ilv == 2 {
		nl, stride = 1, (w+2)*ns
	}
	buf := make([]int32, 2*nl*stride)
	lines := func(c, parity int) (prev, cur []int32) {
		a := buf[(2*c+parity)*stride : (2*c+parity+1)*stride]
		b := buf[(2*c+1-parity)*stride : (2*c+2-parity)*stride]
		return a, b
	}
	runIdx := make([]int, ns)
	interval := d.restart
	if interval == 0 {
		interval = h
	}
	for y0, rst := 0, 0; y0 < h; y0, rst = y0+interval, rst+1 {
		if y0 > 0 {
			// T.87 C.2.5 / CharLS: after RSTm everything restarts as at the
			// top of the image.
			if d.Pos+1 >= len(d.Data) || d.Data[d.Pos] != 0xFF || d.Data[d.Pos+1] != mRST0+byte((rst-1)&7) {
				return d.errf(d.Pos, "missing RST%d marker", (rst-1)&7)
			}
			d.Pos += 2
			clear(buf)
			clear(runIdx)
		}
		end := scanEnd(d.Data, d.Pos)
		s.br = bitReader{data: d.Data[d.Pos:end]}
		s.reset()
		for y := y0; y < min(h, y0+interval); y++ {
			parity := y & 1
			if ilv == 2 {
				prev, cur := lines(0, parity)
				copy(prev[(w+1)*ns:], prev[w*ns:(w+1)*ns])
				copy(cur[:ns], prev[ns:2*ns])
				s.lineInterleaved(prev, cur, w, ns)
				for x := 0; x < w; x++ {
					o := (y*w + x) * nf
					for c, ci := range idx {
						d.pix[o+ci] = uint16(cur[(x+1)*ns+c])
					}
				}
			} else {
				for c, ci := range idx {
					prev, cur := lines(c, parity)
					prev[w+1] = prev[w]
					cur[0] = prev[1]
					s.runIndex = runIdx[c]
					s.line(prev, cur, w)
					runIdx[c] = s.runIndex
					o := y*w*nf + ci
					for x := 1; x <= w; x++ {
						d.pix[o] = uint16(cur[x])
						o += nf
					}
				}
			}
			// Overrun first: a stream cut short reads zeros, which then
			// look like an over-long Golomb code.
			if s.br.overrun() {
				return d.errf(end, "line %d of %d: %w", y, h, ErrTruncated)
			}
			if s.bad != "" {
				return d.errf(d.Pos+s.br.pos, "line %d: %s", y, s.bad)
			}
		}
		d.Pos = end
	}
	return nil
}
