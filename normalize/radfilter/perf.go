package radfilter

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/medmd/medmd/internal/perf"
	"github.com/medmd/medmd/shards"
)

// Perf measures the RadMD hot paths against baselines run in the same
// process:
//   - fingerprinting a volume (SHA-256 of the voxels + dHash of the middle
//     slice) against SHA-256 alone, in bytes/s (goal 0.8: the perceptual
//     hash must add little to the hash every dedup needs anyway);
//   - near-duplicate lookups in the multi-index (pigeonhole) index against a
//     linear scan over the same hashes, in queries/s (goal 10×).
func Perf(ctx context.Context, o perf.Options) ([]perf.Result, error) {
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
	fp, base := medianPair(reps, func() { FingerprintOf(s) }, func() { sha256.Sum256(im.Voxels) })
	r1 := perf.Result{Name: "radmd/fingerprint/256x256x" + strconv.Itoa(d), Unit: "MB/s", Value: bytes / fp / 1e6,
		BaselineName: "sha256 of the voxels", BaselineValue: bytes / base / 1e6, Goal: 0.8}
	r1.Finish(true)

	ix := newNearIndex(10)
	hs := make([]PHash, n)
	for i := range hs {
		hs[i] = PHash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
		ix.add(strconv.Itoa(i), "", []PHash{hs[i]})
	}
	queries := make([]PHash, 200)
	for i := range queries {
		q := hs[rng.IntN(n)]
		q[0] ^= 0b1011 // 3 bits away: a hit
		queries[i] = q
	}
	tIdx, tLin := medianPair(reps, func() {
		for _, q := range queries {
			ix.query("", []PHash{q})
		}
	}, func() {
		for _, q := range queries {
			for _, h := range hs {
				if Hamming(h, q) <= 10 {
					break
				}
			}
		}
	})
	nq := float64(len(queries))
	r2 := perf.Result{Name: "radmd/near-index/" + strconv.Itoa(n) + "-hashes", Unit: "queries/s", Value: nq / tIdx,
		BaselineName: "linear Hamming scan", BaselineValue: nq / tLin, Goal: 10}
	r2.Finish(true)
	return []perf.Result{r1, r2}, ctx.Err()
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
	return perf.Median(a), perf.Median(b)
}
