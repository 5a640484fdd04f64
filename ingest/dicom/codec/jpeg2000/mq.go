package jpeg2000

// mqState is one row of the MQ coder's probability table (T.800 Table
// C.2).
type mqState struct {
	qe         uint32
	nmps, nlps uint8
	sw         bool
}

var mqTable = [47]mqState{
	{0x5601, 1, 1, true}, {0x3401, 2, 6, false}, {0x1801, 3, 9, false}, {0x0AC1, 4, 12, false},
	{0x0521, 5, 29, false}, {0x0221, 38, 33, false}, {0x5601, 7, 6, true}, {0x5401, 8, 14, false},
	{0x4801, 9, 14, false}, {0x3801, 10, 14, false}, {0x3001, 11, 17, false}, {0x2401, 12, 18, false},
	{0x1C01, 13, 20, false}, {0x1601, 29, 21, false}, {0x5601, 15, 14, true}, {0x5401, 16, 14, false},
	{0x5101, 17, 15, false}, {0x4801, 18, 16, false}, {0x3801, 19, 17, false}, {0x3401, 20, 18, false},
	{0x3001, 21, 19, false}, {0x2801, 22, 19, false}, {0x2401, 23, 20, false}, {0x2201, 24, 21, false},
	{0x1C01, 25, 22, false}, {0x1801, 26, 23, false}, {0x1601, 27, 24, false}, {0x1401, 28, 25, false},
	{0x1201, 29, 26, false}, {0x1101, 30, 27, false}, {0x0AC1, 31, 28, false}, {0x09C1, 32, 29, false},
	{0x08A1, 33, 30, false}, {0x0521, 34, 31, false}, {0x0441, 35, 32, false}, {0x02A1, 36, 33, false},
	{0x0221, 37, 34, false}, {0x0141, 38, 35, false}, {0x0111, 39, 36, false}, {0x0085, 40, 37, false},
	{0x0049, 41, 38, false}, {0x0025, 42, 39, false}, {0x0015, 43, 40, false}, {0x0009, 44, 41, false},
	{0x0005, 45, 42, false}, {0x0001, 45, 43, false}, {0x5601, 46, 46, false},
}

// Context labels (T.800 Tables D.1–D.4).
const (
	ctxZC  = 0  // 0–8 significance
	ctxSC  = 9  // 9–13 sign
	ctxMR  = 14 // 14–16 refinement
	ctxRL  = 17 // run length
	ctxUNI = 18 // uniform
	nCtx   = 19
)

// mqEntry is one row of mqTable with the more probable symbol folded
// in: state 2i+mps, so that a context is one byte and the exchange needs
// no branch on the switch flag.
type mqEntry struct {
	qe   uint32
	mps  uint8
	next [2]uint8 // after a more, a less probable symbol
}

// Sized 256 so that a uint8 index needs no bounds check.
var mqStates = func() (t [256]mqEntry) {
	for i, q := range mqTable {
		for mps := range 2 {
			lps := mps
			if q.sw {
				lps = 1 - mps
			}
			t[2*i+mps] = mqEntry{qe: q.qe, mps: uint8(mps), next: [2]uint8{2*q.nmps + uint8(mps), 2*q.nlps + uint8(lps)}}
		}
	}
	return
}()

// mqDecoder is the MQ arithmetic decoder of T.800 Annex C. Bytes past
// the end of its segment read as 0xFF, which the decoder takes for a
// marker and answers with 1 bits, as the standard prescribes.
type mqDecoder struct {
	data []byte
	pos  int
	a, c uint32
	ct   int
	ctx  [nCtx]uint8 // index into mqStates
}

func (m *mqDecoder) resetContexts() {
	clear(m.ctx[:])
	m.ctx[ctxUNI] = 2 * 46
	m.ctx[ctxRL] = 2 * 3
	m.ctx[ctxZC] = 2 * 4
}

func (m *mqDecoder) byteAt(i int) uint32 {
	if i < len(m.data) {
		return uint32(m.data[i])
	}
	return 0xFF
}

func (m *mqDecoder) init(data []byte) {
	m.data, m.pos = data, 0
	m.c = m.byteAt(0) << 16
	m.byteIn()
	m.c <<= 7
	m.ct -= 7
	m.a = 0x8000
}

func (m *mqDecoder) byteIn() {
	if m.byteAt(m.pos) == 0xFF {
		if m.byteAt(m.pos+1) > 0x8F {
			m.c += 0xFF00
			m.ct = 8
		} else {
			m.pos++
			m.c += m.byteAt(m.pos) << 9
			m.ct = 7
		}
	} else {
		m.pos++
		m.c += m.byteAt(m.pos) << 8
		m.ct = 8
	}
}

// decode decodes one decision in context cx. The common case, a more
// probable symbol needing no renormalisation, is small enough to be
// inlined into the passes; the rest is in decodeSlow.
func (m *mqDecoder) decode(cx int) int {
	e := &mqStates[m.ctx[cx]]
	a := m.a - e.qe
	if m.c>>16 >= e.qe && a&0x8000 != 0 {
		m.a = a
		m.c -= e.qe << 16
		return int(e.mps)
	}
	return m.decodeSlow(cx)
}

// decodeSlow is decode's exchange and renormalisation (T.800 C.3.2),
// with masks in place of the data-dependent branches: whether C fell
// below Qe (the LPS interval) and whether A fell below Qe (the exchange)
// are coin tosses here.
func (m *mqDecoder) decodeSlow(cx int) int {
	s := &m.ctx[cx]
	e := &mqStates[*s]
	qe := e.qe
	a := m.a - qe
	lps := (m.c>>16 - qe) >> 31 // 1: C in the LPS interval
	swap := lps ^ (a-qe)>>31    // the decoded symbol is the LPS
	*s = e.next[swap]
	m.c -= qe << 16 & (lps - 1)
	m.a = a ^ (a^qe)&-lps
	m.renorm()
	return int(uint32(e.mps) ^ swap)
}

func (m *mqDecoder) renorm() {
	for {
		if m.ct == 0 {
			m.byteIn()
		}
		m.a <<= 1
		m.c <<= 1
		m.ct--
		if m.a&0x8000 != 0 {
			break
		}
	}
}

// rawDecoder reads the uncoded (bypass) passes (T.800 D.6): bits MSB
// first, a 0 bit stuffed after every 0xFF byte.
type rawDecoder struct {
	data []byte
	pos  int
	c    uint32
	ct   int
}

func (r *rawDecoder) init(data []byte) { *r = rawDecoder{data: data} }

func (r *rawDecoder) bit() int {
	if r.ct == 0 {
		if r.c == 0xFF {
			b := uint32(0xFF)
			if r.pos < len(r.data) {
				b = uint32(r.data[r.pos])
			}
			if b > 0x8F {
				r.c, r.ct = 0xFF, 8
			} else {
				r.c, r.ct = b, 7
				r.pos++
			}
		} else {
			r.c = 0xFF
			if r.pos < len(r.data) {
				r.c = uint32(r.data[r.pos])
			}
			r.pos++
			r.ct = 8
		}
	}
	r.ct--
	return int(r.c>>r.ct) & 1
}
