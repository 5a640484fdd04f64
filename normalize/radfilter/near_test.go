package radfilter

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/medmd/medmd/shards"
)

// nearItem is one stored or queried hash vector for the brute-force
// comparisons below.
type nearItem struct {
	id     string
	scope  string
	hashes []PHash
}

// bruteNear is the definition query must meet: the earliest item of the
// same scope and image count with every image pair within t, and its
// largest pair distance.
func bruteNear(items []nearItem, t int, scope string, hashes []PHash) (string, int, bool) {
	for _, it := range items {
		if it.scope != scope || len(it.hashes) != len(hashes) || len(hashes) == 0 {
			continue
		}
		worst, ok := 0, true
		for i := range hashes {
			d := Hamming(it.hashes[i], hashes[i])
			if d > t {
				ok = false
				break
			}
			worst = max(worst, d)
		}
		if ok {
			return it.id, worst, true
		}
	}
	return "", 0, false
}

// nearGen draws hashes that exercise the index: uniform ones, near copies
// of earlier ones (0..t+3 bits flipped, so some just inside and some just
// outside t), and clustered ones that share most bits (long band chains,
// like the near-blank slices of real data).
type nearGen struct {
	rng    *rand.Rand
	t      int
	stored []PHash
}

func (g *nearGen) flip(h PHash, k int) PHash {
	for range k {
		b := g.rng.IntN(256)
		h[b/64] ^= 1 << (b % 64)
	}
	return h
}

func (g *nearGen) hash() PHash {
	switch r := g.rng.IntN(4); {
	case r == 0 && len(g.stored) > 0:
		return g.flip(g.stored[g.rng.IntN(len(g.stored))], g.rng.IntN(g.t+4))
	case r == 1:
		return g.flip(PHash{}, g.rng.IntN(2*g.t+8))
	default:
		return PHash{g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint64()}
	}
}

func (g *nearGen) hashes(n int) []PHash {
	hs := make([]PHash, n)
	for i := range hs {
		hs[i] = g.hash()
	}
	g.stored = append(g.stored, hs...)
	return hs
}

func TestNearIndexMatchesBruteForce(t *testing.T) {
	scopes := []string{"", "modality", "report\x00what is shown?", "vqa\x00is there a fracture?"}
	for _, tc := range []struct {
		name    string
		seeds   int
		entries int
		images  int // at most, per entry
		scopes  int
	}{
		{"one image, one scope", 6, 200, 1, 1},
		{"up to three images", 4, 200, 3, 1},
		{"several scopes", 4, 200, 2, len(scopes)},
	} {
		for thr := 0; thr <= 40; thr++ {
			for seed := range tc.seeds {
				t.Run(fmt.Sprintf("%s/t=%d/seed=%d", tc.name, thr, seed), func(t *testing.T) {
					g := &nearGen{rng: rand.New(rand.NewPCG(uint64(seed), uint64(thr))), t: thr}
					ix := newNearIndex(thr)
					var items []nearItem
					draw := func(id string) nearItem {
						return nearItem{id, scopes[g.rng.IntN(tc.scopes)], g.hashes(1 + g.rng.IntN(tc.images))}
					}
					check := func(q nearItem) {
						t.Helper()
						id, dist, ok := ix.query(q.scope, q.hashes)
						wid, wdist, wok := bruteNear(items, thr, q.scope, q.hashes)
						if id != wid || dist != wdist || ok != wok {
							t.Fatalf("query %q %x = %q %d %v, brute force %q %d %v", q.scope, q.hashes, id, dist, ok, wid, wdist, wok)
						}
					}
					// Queries interleave with adds, as Deduper and
					// NearGroups use the index.
					for i := range tc.entries {
						it := draw(fmt.Sprint("e", i))
						check(it)
						ix.add(it.id, it.scope, it.hashes)
						items = append(items, it)
					}
					for i := range 100 {
						check(draw(fmt.Sprint("q", i)))
					}
					check(nearItem{"unknown scope", "never added", items[0].hashes})
					check(nearItem{"no hashes", "", nil})
				})
			}
		}
	}
}

// TestLeakIndexLeaksMatchesBruteForce checks the public lookup RadMD and
// check-leakage use: for every query image without an identical test
// image, the earliest test image within the threshold.
func TestLeakIndexLeaksMatchesBruteForce(t *testing.T) {
	for _, thr := range []int{0, 1, 3, 4, 7, 10, 16, 31, 32, 40} {
		t.Run(fmt.Sprint("t=", thr), func(t *testing.T) {
			g := &nearGen{rng: rand.New(rand.NewPCG(7, uint64(thr))), t: thr}
			li := NewLeakIndex(thr)
			var tests []nearItem // one item per test image, in Add order
			for i := range 300 {
				id := fmt.Sprint("test", i)
				hs := g.hashes(1 + g.rng.IntN(2))
				fp := Fingerprint{DHash: hs, DHashOK: make([]bool, len(hs))}
				for j := range hs {
					fp.SHA256 = append(fp.SHA256, fmt.Sprint(id, "/", j))
					fp.DHashOK[j] = g.rng.IntN(8) != 0
					if fp.DHashOK[j] {
						tests = append(tests, nearItem{id, "", []PHash{hs[j]}})
					}
				}
				li.Add(&shards.Sample{ID: id}, fp)
			}
			for q := range 300 {
				hs := g.hashes(1 + g.rng.IntN(3))
				fp := Fingerprint{SHA256: make([]string, len(hs)), DHash: hs, DHashOK: make([]bool, len(hs))}
				var want []Leak
				for j := range hs {
					fp.SHA256[j] = fmt.Sprint("query", q, "/", j)
					fp.DHashOK[j] = g.rng.IntN(8) != 0
					if fp.DHashOK[j] {
						if id, d, ok := bruteNear(tests, thr, "", hs[j:j+1]); ok {
							want = append(want, Leak{Reason: ReasonLeakNearImage, TestID: id, Image: j, Dist: d})
						}
					}
				}
				got := li.Leaks(&shards.Sample{ID: "train"}, fp)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("query %d %x: Leaks = %v, brute force %v", q, hs, got, want)
				}
			}
		})
	}
}

// TestNearBandsPartitionBits checks that the bands cover every bit once:
// a band that dropped bits would stay correct but compare more entries
// than needed, which the brute-force tests cannot see.
func TestNearBandsPartitionBits(t *testing.T) {
	for thr := range 32 {
		ix := newNearIndex(thr)
		if len(ix.bands) < thr+1 {
			t.Fatalf("t=%d: %d bands, the pigeonhole needs %d", thr, len(ix.bands), thr+1)
		}
		for bit := range 256 {
			var h PHash
			h[bit/64] = 1 << (bit % 64)
			in := 0
			for b := range ix.bands {
				switch v := ix.bands[b].value(&h); {
				case v == 0:
				case v&(v-1) == 0:
					in++
				default:
					t.Fatalf("t=%d: bit %d sets %x in band %d", thr, bit, v, b)
				}
			}
			if in != 1 {
				t.Fatalf("t=%d: bit %d is in %d bands", thr, bit, in)
			}
		}
	}
}

// FuzzNearIndex replays a byte string as adds and queries and compares
// every query with bruteNear. Each hash is a stored one (or zero, or 32
// raw bytes) with a few bits flipped, so matches near the threshold are
// common.
func FuzzNearIndex(f *testing.F) {
	f.Add(uint8(10), []byte{0, 1, 3, 1, 2, 3, 1, 1, 2, 0, 5})
	f.Add(uint8(0), []byte{2, 0, 0, 3, 1, 0})
	f.Add(uint8(33), []byte{4, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 1, 1, 0})
	f.Fuzz(runNearFuzz)
}

func runNearFuzz(t *testing.T, thr uint8, data []byte) {
	scopes := []string{"", "a", "b\x00c", "d"}
	{
		th := int(thr % 41)
		ix := newNearIndex(th)
		var items []nearItem
		var stored []PHash
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		hash := func() PHash {
			var h PHash
			switch b := next(); {
			case b == 255:
				for i := range 32 {
					h[i/8] |= uint64(next()) << (8 * (i % 8))
				}
			case b > 0 && len(stored) > 0:
				h = stored[int(b-1)%len(stored)]
			}
			for range int(next()) % (th + 4) {
				bit := next()
				h[bit/64] ^= 1 << (bit % 64)
			}
			return h
		}
		for n := 0; len(data) > 0 && n < 500; n++ {
			op := next()
			it := nearItem{fmt.Sprint("e", n), scopes[op>>1&3], nil}
			for range 1 + int(op>>3&1) {
				it.hashes = append(it.hashes, hash())
			}
			id, dist, ok := ix.query(it.scope, it.hashes)
			wid, wdist, wok := bruteNear(items, th, it.scope, it.hashes)
			if id != wid || dist != wdist || ok != wok {
				t.Fatalf("t=%d: query %q %x = %q %d %v, brute force %q %d %v", th, it.scope, it.hashes, id, dist, ok, wid, wdist, wok)
			}
			if op&1 == 1 {
				ix.add(it.id, it.scope, it.hashes)
				items = append(items, it)
				stored = append(stored, it.hashes...)
			}
		}
	}
}
