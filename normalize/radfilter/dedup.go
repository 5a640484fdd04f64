package radfilter

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Fingerprint is what duplicate and leakage checks compare: per image, the
// SHA-256 of its voxels (ImageSHA256) and its dHash. DHashOK[i] is false
// when image i could not be hashed (a malformed buffer); such an image
// takes part in exact but not near comparisons.
type Fingerprint struct {
	SHA256  []string
	DHash   []PHash
	DHashOK []bool
}

// FingerprintOf hashes every image of s.
func FingerprintOf(s *shards.Sample) Fingerprint {
	fp := Fingerprint{
		SHA256:  make([]string, len(s.Images)),
		DHash:   make([]PHash, len(s.Images)),
		DHashOK: make([]bool, len(s.Images)),
	}
	for i := range s.Images {
		fp.SHA256[i] = ImageSHA256(&s.Images[i])
		if h, err := DHash(&s.Images[i]); err == nil {
			fp.DHash[i], fp.DHashOK[i] = h, true
		}
	}
	return fp
}

// allNear returns the dHashes if every image has one.
func (fp Fingerprint) allNear() ([]PHash, bool) {
	for _, ok := range fp.DHashOK {
		if !ok {
			return nil, false
		}
	}
	return fp.DHash, len(fp.DHash) > 0
}

// Deduper keeps the first sample of every duplicate set, in the order
// samples are offered, and drops the rest with a pointer to the kept id.
//
// Two samples are duplicates when they have the same task (and, for tasks
// in TextKeyedTasks, the same normalised instruction) and the same images:
// exactly (equal SHA-256 of every image) or nearly (every image's dHash
// within HammingThreshold). The task is part of the key because one DICOM
// series legitimately yields a modality sample and a report sample.
// A Deduper is not safe for concurrent use.
type Deduper struct {
	rules     DedupRules
	textKeyed map[string]bool
	exact     map[[32]byte]string // SHA-256 of scope + image hashes → kept id
	near      *nearIndex
}

// NewDeduper returns an empty Deduper.
func NewDeduper(r DedupRules) *Deduper {
	d := &Deduper{rules: r, textKeyed: map[string]bool{}, exact: map[[32]byte]string{}, near: newNearIndex(r.HammingThreshold)}
	for _, t := range r.TextKeyedTasks {
		d.textKeyed[t] = true
	}
	return d
}

func (d *Deduper) scope(s *shards.Sample) string {
	if d.textKeyed[s.Task] {
		return s.Task + "\x00" + strings.Join(strings.Fields(strings.ToLower(s.Instruction)), " ")
	}
	return s.Task
}

// Check returns a DropError if s duplicates a sample kept before, else
// records s as kept and returns nil. Samples without images never match.
func (d *Deduper) Check(s *shards.Sample, fp Fingerprint) *normalize.DropError {
	if len(fp.SHA256) == 0 {
		return nil
	}
	scope := d.scope(s)
	h := sha256.New()
	h.Write([]byte(scope))
	for _, x := range fp.SHA256 {
		h.Write([]byte{0})
		h.Write([]byte(x))
	}
	var key [32]byte
	h.Sum(key[:0])
	if kept, ok := d.exact[key]; ok {
		return &normalize.DropError{Reason: ReasonDuplicate, Detail: "identical voxels (sha256 " + fp.SHA256[0][:16] + "…)", KeptID: kept}
	}
	hashes, ok := fp.allNear()
	if d.rules.Near && ok {
		if kept, dist, found := d.near.query(scope, hashes); found {
			return &normalize.DropError{Reason: ReasonNearDuplicate,
				Detail: fmt.Sprintf("dhash %s within %d bits (threshold %d)", hashes[0].String()[:16]+"…", dist, d.rules.HammingThreshold), KeptID: kept}
		}
	}
	d.exact[key] = s.ID
	if ok {
		d.near.add(s.ID, scope, hashes)
	}
	return nil
}

// LeakIndex holds what a RadBench test split contains — its groups, image
// hashes and dHashes — so training samples that share any of them can be
// dropped (RadMD) or reported (check-leakage). Not safe for concurrent use.
type LeakIndex struct {
	threshold int
	groups    map[string]string // group → first test id
	images    map[string]string // image sha256 → first test id
	near      *nearIndex
}

// NewLeakIndex returns an empty index that calls images within threshold
// dHash bits near duplicates.
func NewLeakIndex(threshold int) *LeakIndex {
	return &LeakIndex{threshold: threshold, groups: map[string]string{}, images: map[string]string{}, near: newNearIndex(threshold)}
}

// Add indexes one test sample.
func (li *LeakIndex) Add(s *shards.Sample, fp Fingerprint) {
	if s.Group != "" {
		if _, ok := li.groups[s.Group]; !ok {
			li.groups[s.Group] = s.ID
		}
	}
	for i, h := range fp.SHA256 {
		if _, ok := li.images[h]; !ok {
			li.images[h] = s.ID
		}
		if fp.DHashOK[i] {
			li.near.add(s.ID, "", []PHash{fp.DHash[i]})
		}
	}
}

// Check returns a DropError naming the test sample s leaks, or nil. Group
// is checked first, then identical images, then near-duplicate images.
func (li *LeakIndex) Check(s *shards.Sample, fp Fingerprint) *normalize.DropError {
	if id, ok := li.groups[s.Group]; ok && s.Group != "" {
		return &normalize.DropError{Reason: ReasonLeakGroup, Detail: "group " + s.Group + " is in the test split", KeptID: id}
	}
	for i, h := range fp.SHA256 {
		if id, ok := li.images[h]; ok {
			return &normalize.DropError{Reason: ReasonLeakImage, Detail: fmt.Sprintf("image %d is identical to a test image", i), KeptID: id}
		}
	}
	for i, h := range fp.DHash {
		if !fp.DHashOK[i] {
			continue
		}
		if id, dist, ok := li.near.query("", []PHash{h}); ok {
			return &normalize.DropError{Reason: ReasonLeakNearImage,
				Detail: fmt.Sprintf("image %d dhash %s within %d bits of a test image (threshold %d)", i, h.String()[:16]+"…", dist, li.threshold), KeptID: id}
		}
	}
	return nil
}

// Leak is one way a training sample touches the test split.
type Leak struct {
	Reason string // ReasonLeakGroup, ReasonLeakImage or ReasonLeakNearImage
	TestID string // the first test sample it touches
	Image  int    // the training sample's image index (-1 for a group leak)
	Dist   int    // dHash distance for near-image leaks
}

// Leaks returns every leak of s (group, then each image: identical, else
// near), for reports that list them all; Check stops at the first.
func (li *LeakIndex) Leaks(s *shards.Sample, fp Fingerprint) []Leak {
	var out []Leak
	if id, ok := li.groups[s.Group]; ok && s.Group != "" {
		out = append(out, Leak{Reason: ReasonLeakGroup, TestID: id, Image: -1})
	}
	for i, h := range fp.SHA256 {
		if id, ok := li.images[h]; ok {
			out = append(out, Leak{Reason: ReasonLeakImage, TestID: id, Image: i})
			continue
		}
		if fp.DHashOK[i] {
			if id, dist, ok := li.near.query("", []PHash{fp.DHash[i]}); ok {
				out = append(out, Leak{Reason: ReasonLeakNearImage, TestID: id, Image: i, Dist: dist})
			}
		}
	}
	return out
}

// NearGroups links images across samples: Link(id, fp) returns the ids of
// earlier samples with an identical or near-duplicate image (any task), so
// a split builder can keep such samples on the same side.
type NearGroups struct {
	images map[string]string
	near   *nearIndex
}

// NewNearGroups returns an empty linker with the given dHash threshold.
func NewNearGroups(threshold int) *NearGroups {
	return &NearGroups{images: map[string]string{}, near: newNearIndex(threshold)}
}

// Link records the images of sample id and returns the earlier samples
// (at most one per image) they duplicate.
func (ng *NearGroups) Link(id string, fp Fingerprint) []string {
	var out []string
	for i, h := range fp.SHA256 {
		if other, ok := ng.images[h]; ok {
			out = append(out, other)
		} else if fp.DHashOK[i] {
			if other, _, ok := ng.near.query("", []PHash{fp.DHash[i]}); ok {
				out = append(out, other)
			}
		}
		if _, ok := ng.images[h]; !ok {
			ng.images[h] = id
			if fp.DHashOK[i] {
				ng.near.add(id, "", []PHash{fp.DHash[i]})
			}
		}
	}
	return out
}
