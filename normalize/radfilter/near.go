package radfilter

// nearIndex finds stored hash vectors within a Hamming distance of a query.
//
// It uses the pigeonhole principle (multi-index hashing): split the 256
// bits into m ≥ t+1 disjoint bands; two hashes at distance ≤ t agree
// exactly on at least one band, so only entries sharing a band value are
// compared. m is at least 4 so every band fits a uint64 (more bands than
// t+1 keep the pigeonhole argument). For t ≥ 32 the bands (< 8 bits) get too
// narrow to help and it scans linearly.
//
// Entries are keyed by scope (task, question…) and compared only within a
// scope and only with the same number of images; a match needs every image
// pair within t. Query returns the earliest added match, so "keep the first
// in stable order" falls out of insertion order.
//
// A lookup touches little memory, because it is a cache miss per band that
// bounds it on large indexes: the scope is interned to a small integer once
// per query, a band's bits are packed into a uint64, and the (scope, band,
// bits) keys live in one open-addressing table whose slots hold the first
// and last entry of their chain, so a single-entry chain is answered
// without reading the chain links.
type nearIndex struct {
	t       int
	bands   []band
	scopes  map[string]uint32 // scope → id; "" is always 0
	entries []nearEntry
	ids     []string // entry → id, apart so entries stay small
	more    []PHash  // hashes after the first, of multi-image entries
	next    []int32  // next[n*len(bands)+b]: the chain after entry n in band b
	slots   []nearSlot
	used    int // occupied slots
}

type nearEntry struct {
	first PHash  // hashes[0], the indexed one
	scope uint32 // interned scope
	n     uint32 // number of hashes
	more  int    // offset of hashes[1:] in nearIndex.more
}

// band is a run of bits of a PHash: word w from bit shift, spilling into
// word w+1 when spill, masked to its width.
type band struct {
	w, shift int
	spill    bool
	mask     uint64
}

func (b *band) value(h *PHash) uint64 {
	v := h[b.w] >> b.shift
	if b.spill {
		v |= h[b.w+1] << (64 - b.shift)
	}
	return v & b.mask
}

// nearSlot is one (scope, band, value) key of the table and its chain of
// entries in insertion order. scope is the interned scope + 1, so the zero
// slot is empty.
type nearSlot struct {
	val        uint64
	head, tail int32
	scope      uint32
	band       uint32
}

func newNearIndex(t int) *nearIndex {
	ix := &nearIndex{t: t, scopes: map[string]uint32{"": 0}}
	if t >= 0 && t < 32 {
		m := max(t+1, 4)
		for i := range m {
			lo, hi := i*256/m, (i+1)*256/m
			b := band{w: lo / 64, shift: lo % 64, spill: lo%64+hi-lo > 64, mask: ^uint64(0)}
			if hi-lo < 64 {
				b.mask = 1<<(hi-lo) - 1
			}
			ix.bands = append(ix.bands, b)
		}
		ix.slots = make([]nearSlot, 64)
	}
	return ix
}

// slotHash mixes a key (splitmix64's finaliser) so that band values with
// structure (real dHashes are not uniform) still spread over the table.
func slotHash(v uint64, scope, b uint32) uint64 {
	x := v ^ (uint64(scope)<<8|uint64(b))*0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// find returns the slot holding key (v, scope, b) or the empty slot where
// it belongs, and whether it was found.
func (ix *nearIndex) find(v uint64, scope, b uint32) (int, bool) {
	mask := len(ix.slots) - 1
	for i := int(slotHash(v, scope, b)) & mask; ; i = (i + 1) & mask {
		s := &ix.slots[i]
		if s.scope == 0 {
			return i, false
		}
		if s.val == v && s.scope == scope+1 && s.band == b {
			return i, true
		}
	}
}

// grow doubles the table, keeping its load at most one half so probes stay
// short.
func (ix *nearIndex) grow() {
	old := ix.slots
	ix.slots = make([]nearSlot, 2*len(old))
	for _, s := range old {
		if s.scope != 0 {
			i, _ := ix.find(s.val, s.scope-1, s.band)
			ix.slots[i] = s
		}
	}
}

// scopeID returns scope's interned id, and false if no entry has it.
func (ix *nearIndex) scopeID(scope string) (uint32, bool) {
	if scope == "" {
		return 0, true
	}
	id, ok := ix.scopes[scope]
	return id, ok
}

// add stores hashes (hashes[0] is the indexed one) under id.
func (ix *nearIndex) add(id, scope string, hashes []PHash) {
	if len(hashes) == 0 {
		return
	}
	sc, ok := ix.scopeID(scope)
	if !ok {
		sc = uint32(len(ix.scopes))
		ix.scopes[scope] = sc
	}
	n := int32(len(ix.entries))
	ix.entries = append(ix.entries, nearEntry{first: hashes[0], scope: sc, n: uint32(len(hashes)), more: len(ix.more)})
	ix.more = append(ix.more, hashes[1:]...)
	ix.ids = append(ix.ids, id)
	for b := range ix.bands {
		ix.next = append(ix.next, -1)
		if 2*(ix.used+1) > len(ix.slots) {
			ix.grow()
		}
		v := ix.bands[b].value(&hashes[0])
		i, found := ix.find(v, sc, uint32(b))
		s := &ix.slots[i]
		if found {
			ix.next[int(s.tail)*len(ix.bands)+b] = n
			s.tail = n
			continue
		}
		*s = nearSlot{val: v, head: n, tail: n, scope: sc + 1, band: uint32(b)}
		ix.used++
	}
}

// within returns entry n's largest image distance to hashes and whether
// it is a match: same scope and image count, every pair within t.
func (ix *nearIndex) within(n int32, scope uint32, hashes []PHash) (int, bool) {
	e := &ix.entries[n]
	if e.scope != scope || int(e.n) != len(hashes) {
		return 0, false
	}
	worst := Hamming(e.first, hashes[0])
	if worst > ix.t {
		return 0, false
	}
	for i, h := range hashes[1:] {
		d := Hamming(ix.more[e.more+i], h)
		if d > ix.t {
			return 0, false
		}
		worst = max(worst, d)
	}
	return worst, true
}

// query returns the earliest entry within t of hashes, its largest image
// distance, and whether one was found.
func (ix *nearIndex) query(scope string, hashes []PHash) (string, int, bool) {
	if len(hashes) == 0 {
		return "", 0, false
	}
	sc, ok := ix.scopeID(scope)
	if !ok {
		return "", 0, false
	}
	if ix.bands == nil {
		for n := range ix.entries {
			if d, ok := ix.within(int32(n), sc, hashes); ok {
				return ix.ids[n], d, true
			}
		}
		return "", 0, false
	}
	best, bestDist := int32(-1), 0
	nb := len(ix.bands)
	for b := range ix.bands {
		i, found := ix.find(ix.bands[b].value(&hashes[0]), sc, uint32(b))
		if !found {
			continue
		}
		s := &ix.slots[i]
		// A chain is in insertion order: its first match is its earliest,
		// and nothing from best on can improve on best.
		for n := s.head; best < 0 || n < best; n = ix.next[int(n)*nb+b] {
			if d, ok := ix.within(n, sc, hashes); ok {
				best, bestDist = n, d
				break
			}
			if n == s.tail {
				break
			}
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return ix.ids[best], bestDist, true
}
