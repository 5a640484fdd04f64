package perf

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// radmdGroup measures the RadMD filter's hot paths against baselines run
// in the same process:
//   - fingerprinting a volume (SHA-256 of the voxels + dHash of the middle
//     slice) against SHA-256 alone, in bytes/s (goal 0.8: the perceptual
//     hash must add little to the hash every dedup needs anyway);
//   - near-duplicate lookups of a LeakIndex (its multi-index, pigeonhole
//     dHash index) against a linear Hamming scan over the same hashes, in
//     queries/s (goal 10×).
func radmdGroup(ctx context.Context, o Options) ([]Result, error) {
	reps := max(o.Repeats, 5)
	d, n := 64, 20000
	if o.Quick {
		d, n = 8, 2000
	}
	im := shards.Image{DType: shards.Int16, Channels: 1, Depth: d, Height: 256, Width: 256}
	im.Voxels = make([]byte, im.NumVoxels()*2)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(im.Voxels); i += 2 {
		binary.LittleEndian.PutUint16(im.Voxels[i:], uint16(rng.IntN(4000)))
	}
	s := &shards.Sample{ID: "perf", Images: []shards.Image{im}}
	bytes := float64(len(im.Voxels))
	fp, base := medianPair(reps, func() { radfilter.FingerprintOf(s) }, func() { sha256.Sum256(im.Voxels) })
	r1 := Result{Name: "radmd/fingerprint/256x256x" + strconv.Itoa(d), Unit: "MB/s", Value: bytes / fp / 1e6,
		BaselineName: "sha256 of the voxels", BaselineValue: bytes / base / 1e6, Goal: 0.8}
	r1.Finish(true)

	// Each stored test image has a distinct SHA-256 and group-less
	// sample, so a query's group and exact-image checks miss and the
	// near-duplicate index answers it.
	li := radfilter.NewLeakIndex(10)
	hs := make([]radfilter.PHash, n)
	for i := range hs {
		hs[i] = radfilter.PHash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		li.Add(&shards.Sample{ID: strconv.Itoa(i)}, nearFingerprint("t"+strconv.Itoa(i), hs[i]))
	}
	queries := make([]radfilter.Fingerprint, 200)
	qhs := make([]radfilter.PHash, len(queries))
	for i := range queries {
		q := hs[rng.IntN(n)]
		q[0] ^= 0b1011 // 3 bits away: a hit
		qhs[i], queries[i] = q, nearFingerprint("q"+strconv.Itoa(i), q)
	}
	query := &shards.Sample{ID: "query"}
	tIdx, tLin := medianPair(reps, func() {
		for _, q := range queries {
			li.Leaks(query, q)
		}
	}, func() {
		for _, q := range qhs {
			for _, h := range hs {
				if radfilter.Hamming(h, q) <= 10 {
					break
				}
			}
		}
	})
	nq := float64(len(queries))
	r2 := Result{Name: "radmd/near_index/" + strconv.Itoa(n) + "_hashes", Unit: "queries/s", Value: nq / tIdx,
		BaselineName: "linear Hamming scan", BaselineValue: nq / tLin, Goal: 10}
	r2.Finish(true)
	return []Result{r1, r2}, ctx.Err()
}

// nearFingerprint is the fingerprint of a one-image sample with the given
// image SHA-256 (any unique string) and dHash.
func nearFingerprint(sha string, h radfilter.PHash) radfilter.Fingerprint {
	return radfilter.Fingerprint{SHA256: []string{sha}, DHash: []radfilter.PHash{h}, DHashOK: []bool{true}}
}

// medianPair times f and baseline alternately, reps times each, and
// returns their median seconds; alternating spreads the noise of a shared
// machine over both.
func medianPair(reps int, f, baseline func()) (float64, float64) {
	a, b := make([]float64, reps), make([]float64, reps)
	for i := range reps {
		t0 := time.Now()
		f()
		a[i] = time.Since(t0).Seconds()
		t0 = time.Now()
		baseline()
		b[i] = time.Since(t0).Seconds()
	}
	return stats.Median(a), stats.Median(b)
}
