package radfilter

// nearIndex finds stored hash vectors within a Hamming distance of a query.
//
// It uses the pigeonhole principle (multi-index hashing): split the 256
// bits into t+1 disjoint bands; two hashes at distance ≤ t agree exactly on
// at least one band, so only entries sharing a band value are compared. For
// t ≥ 32 the bands (< 8 bits) get too narrow to help and it scans linearly.
//
// Entries are keyed by scope (task, question…) and compared only within a
// scope and only with the same number of images; a match needs every image
// pair within t. Query returns the earliest added match, so "keep the first
// in stable order" falls out of insertion order.
type nearIndex struct {
	t       int
	bands   []PHash // bit masks of the bands
	entries []nearEntry
	buckets map[bandKey][]int32
}

type nearEntry struct {
	id     string
	scope  string
	hashes []PHash
}

type bandKey struct {
	scope string
	band  int
	value PHash
}

func newNearIndex(t int) *nearIndex {
	ix := &nearIndex{t: t, buckets: map[bandKey][]int32{}}
	if t < 32 {
		n := t + 1
		for i := range n {
			var m PHash
			for b := i * 256 / n; b < (i+1)*256/n; b++ {
				m[b/64] |= 1 << (b % 64)
			}
			ix.bands = append(ix.bands, m)
		}
	}
	return ix
}

func bandValue(h, mask PHash) PHash {
	for i := range h {
		h[i] &= mask[i]
	}
	return h
}

// add stores hashes (hashes[0] is the indexed one) under id.
func (ix *nearIndex) add(id, scope string, hashes []PHash) {
	if len(hashes) == 0 {
		return
	}
	n := int32(len(ix.entries))
	ix.entries = append(ix.entries, nearEntry{id, scope, hashes})
	for i, b := range ix.bands {
		k := bandKey{scope, i, bandValue(hashes[0], b)}
		ix.buckets[k] = append(ix.buckets[k], n)
	}
}

// query returns the earliest entry within t of hashes, its largest image
// distance, and whether one was found.
func (ix *nearIndex) query(scope string, hashes []PHash) (string, int, bool) {
	if len(hashes) == 0 {
		return "", 0, false
	}
	best, bestDist := int32(-1), 0
	try := func(n int32) {
		if best >= 0 && n >= best {
			return
		}
		e := &ix.entries[n]
		if e.scope != scope || len(e.hashes) != len(hashes) {
			return
		}
		worst := 0
		for i := range hashes {
			d := Hamming(e.hashes[i], hashes[i])
			if d > ix.t {
				return
			}
			worst = max(worst, d)
		}
		best, bestDist = n, worst
	}
	if ix.bands == nil {
		for n := range ix.entries {
			try(int32(n))
		}
	} else {
		for i, b := range ix.bands {
			for _, n := range ix.buckets[bandKey{scope, i, bandValue(hashes[0], b)}] {
				try(n)
			}
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return ix.entries[best].id, bestDist, true
}
