package serve

import (
	"math/bits"

	"github.com/medmd/medmd/normalize/radfilter"
)

// minDupText is the shortest text (instruction + response, in code
// points) whose exact repeat links two samples: short texts ("Is there a
// fracture?\nno") repeat across different images without being
// duplicates.
const minDupText = 40

// maxDupLinks bounds the near-duplicate links a sample page lists.
const maxDupLinks = 50

// maxDupQueryImages bounds how many of a sample's images are looked up,
// so an article with hundreds of figures costs a bounded scan.
const maxDupQueryImages = 16

// dupThreshold is the dHash distance (bits) within which two images are
// near-duplicates: RadMD's default dedup threshold, so the browser links
// what `medmd radmd` would drop.
var dupThreshold = radfilter.DefaultRules().Dedup.HammingThreshold

// textHash is the FNV-1a 64-bit hash of lower-cased text with every run
// of ASCII white space folded to one space and the ends trimmed, so
// re-wrapped copies of a caption hash alike. 0 is reserved for "no hash".
func textHash(lower []byte) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	space := false
	started := false
	for _, c := range lower {
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
			space = started
			continue
		}
		if space {
			h = (h ^ ' ') * prime
			space = false
		}
		started = true
		h = (h ^ uint64(c)) * prime
	}
	return max(h, 1)
}

// dupLink is one near-duplicate of a sample shown on its page.
type dupLink struct {
	ID, Corpus string
	// Why is "image" (an image within Dist bits of one of the sample's)
	// or "text" (the same text).
	Why  string
	Dist int
}

// nearDuplicates returns the samples of every served corpus with an image
// whose dHash is within dupThreshold of one of sample i's images, or with
// the same text, at most maxDupLinks of them, the nearest image first, text-only links last.
// Samples with the same id (the sample itself, or its copy in another
// corpus) are not links.
//
// It is a linear scan of the index's hash words: four XOR-popcounts per
// stored image, a few milliseconds for a million images, which a page
// view can afford and which needs no second index in memory.
func nearDuplicates(cs []*Corpus, c *Corpus, i int) []dupLink {
	ix := c.Index
	self := ix.IDs[i]
	var qs [][4]uint64
	for j := ix.ImgOff[i]; j < ix.ImgOff[i+1] && len(qs) < maxDupQueryImages; j++ {
		if ix.ImgDHashOK[j] {
			qs = append(qs, [4]uint64(ix.ImgDHash[4*j:4*j+4]))
		}
	}
	th := ix.TextHash[i]
	// Links are bucketed by distance (text-only links last), each bucket
	// capped, so the nearest maxDupLinks come first without keeping every
	// match of a corpus full of copies.
	type key struct {
		c *Corpus
		i int
	}
	seen := map[key]bool{}
	byDist := make([][]dupLink, dupThreshold+2)
	add := func(oc *Corpus, k int, why string, d int) {
		slot := d
		if why == "text" {
			slot = dupThreshold + 1
		}
		if len(byDist[slot]) >= maxDupLinks || oc.Index.IDs[k] == self || seen[key{oc, k}] {
			return
		}
		seen[key{oc, k}] = true
		byDist[slot] = append(byDist[slot], dupLink{ID: oc.Index.IDs[k], Corpus: oc.Name, Why: why, Dist: d})
	}
	for _, oc := range cs {
		ox := oc.Index
		if len(qs) > 0 {
			owner := 0
			for j := range ox.ImgDHashOK {
				if !ox.ImgDHashOK[j] {
					continue
				}
				w := ox.ImgDHash[4*j : 4*j+4 : 4*j+4]
				for _, q := range qs {
					d := bits.OnesCount64(w[0]^q[0]) + bits.OnesCount64(w[1]^q[1]) + bits.OnesCount64(w[2]^q[2]) + bits.OnesCount64(w[3]^q[3])
					if d > dupThreshold {
						continue
					}
					for int(ox.ImgOff[owner+1]) <= j {
						owner++
					}
					add(oc, owner, "image", d)
					break
				}
			}
		}
		if th != 0 {
			for k, h := range ox.TextHash {
				if h == th {
					add(oc, k, "text", 0)
				}
			}
		}
	}
	var out []dupLink
	for _, b := range byDist {
		out = append(out, b...)
	}
	return out[:min(len(out), maxDupLinks)]
}
