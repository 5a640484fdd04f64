package radfilter

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/medmd/medmd/shards"
)

// phantom returns a depth×h×w uint16 volume: a bright ellipse ("body")
// with a darker disc ("lesion") at (cy, cx) of radius r on a background,
// plus optional noise and a brightness offset. It stands in for a CT slice
// stack in tests.
func phantom(depth, h, w int, cy, cx, r float64, offset, noise float64, seed uint64) shards.Image {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, depth*h*w*2)
	for z := range depth {
		for y := range h {
			for x := range w {
				fy, fx := float64(y)/float64(h), float64(x)/float64(w)
				v := 50.0
				if (fy-0.5)*(fy-0.5)/0.16+(fx-0.5)*(fx-0.5)/0.2 < 1 {
					v = 1000 + 300*fx
				}
				if (fy-cy)*(fy-cy)+(fx-cx)*(fx-cx) < r*r {
					v = 400
				}
				v += offset + noise*rng.NormFloat64()
				v = math.Max(0, math.Min(65535, v))
				binary.LittleEndian.PutUint16(b[2*((z*h+y)*w+x):], uint16(v))
			}
		}
	}
	return shards.Image{Modality: "CT", DType: shards.Uint16, Channels: 1, Depth: depth, Height: h, Width: w, Voxels: b}
}

func TestDHashNearDuplicates(t *testing.T) {
	base := phantom(3, 64, 64, 0.4, 0.6, 0.1, 0, 0, 1)
	h0, err := DHash(&base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		im      shards.Image
		maxDist int
		minDist int
	}{
		{"brighter", phantom(3, 64, 64, 0.4, 0.6, 0.1, 200, 0, 1), 0, 0},
		{"noisy", phantom(3, 64, 64, 0.4, 0.6, 0.1, 0, 5, 2), 2, 0},
		{"noisy σ=10", phantom(3, 64, 64, 0.4, 0.6, 0.1, 0, 10, 3), 10, 0},
		{"re-rendered at 96²", phantom(3, 96, 96, 0.4, 0.6, 0.1, 0, 0, 1), 12, 0},
		{"other lesion", phantom(3, 64, 64, 0.7, 0.3, 0.15, 0, 0, 1), 256, 18},
		{"other lesion, same place", phantom(3, 64, 64, 0.4, 0.6, 0.2, 0, 0, 1), 256, 18},
	} {
		h, err := DHash(&tc.im)
		if err != nil {
			t.Fatal(err)
		}
		d := Hamming(h0, h)
		t.Logf("%s: distance %d", tc.name, d)
		if d > tc.maxDist || d < tc.minDist {
			t.Errorf("%s: distance %d, want %d..%d", tc.name, d, tc.minDist, tc.maxDist)
		}
	}
}

// halve box-downsamples a uint16 image by 2 in rows and columns.
func halve(im shards.Image) shards.Image {
	h, w := im.Height/2, im.Width/2
	out := im
	out.Height, out.Width = h, w
	out.Voxels = make([]byte, im.Channels*im.Depth*h*w*2)
	at := func(z, y, x int) float64 {
		return float64(binary.LittleEndian.Uint16(im.Voxels[2*((z*im.Height+y)*im.Width+x):]))
	}
	for z := range im.Channels * im.Depth {
		for y := range h {
			for x := range w {
				v := (at(z, 2*y, 2*x) + at(z, 2*y+1, 2*x) + at(z, 2*y, 2*x+1) + at(z, 2*y+1, 2*x+1)) / 4
				binary.LittleEndian.PutUint16(out.Voxels[2*((z*h+y)*w+x):], uint16(v+0.5))
			}
		}
	}
	return out
}

// TestDHashSurvivesDownsampling: a figure re-exported at half resolution
// stays a near duplicate of the original.
func TestDHashSurvivesDownsampling(t *testing.T) {
	big := phantom(3, 128, 128, 0.4, 0.6, 0.1, 0, 3, 1)
	h1, _ := DHash(&big)
	small := halve(big)
	h2, _ := DHash(&small)
	if d := Hamming(h1, h2); d > 4 {
		t.Errorf("distance after 2× downsampling %d", d)
	}
}

func TestDHashDTypesAgree(t *testing.T) {
	base := phantom(1, 32, 40, 0.5, 0.5, 0.2, 0, 0, 1)
	want, _ := DHash(&base)
	n := base.NumVoxels()
	for _, dt := range []shards.DType{shards.Float32, shards.Float64, shards.Int16, shards.Int32, shards.Float16} {
		im := base
		im.DType = dt
		im.Voxels = make([]byte, n*dt.Size())
		for i := range n {
			v := float64(binary.LittleEndian.Uint16(base.Voxels[2*i:]))
			switch dt {
			case shards.Float32:
				binary.LittleEndian.PutUint32(im.Voxels[4*i:], math.Float32bits(float32(v)))
			case shards.Float64:
				binary.LittleEndian.PutUint64(im.Voxels[8*i:], math.Float64bits(v))
			case shards.Int16:
				binary.LittleEndian.PutUint16(im.Voxels[2*i:], uint16(int16(v)))
			case shards.Int32:
				binary.LittleEndian.PutUint32(im.Voxels[4*i:], uint32(int32(v)))
			case shards.Float16:
				binary.LittleEndian.PutUint16(im.Voxels[2*i:], floatToHalf(float32(v)))
			}
		}
		if got, err := DHash(&im); err != nil || got != want {
			t.Errorf("%s: dhash %v (%v), want %v", dt, got, err, want)
		}
	}
}

// floatToHalf encodes small positive integers exactly (test helper).
func floatToHalf(f float32) uint16 {
	if f == 0 {
		return 0
	}
	b := math.Float32bits(f)
	exp := (b>>23)&0xff - 112
	return uint16(exp<<10 | (b>>13)&0x3ff)
}

func TestDHashErrors(t *testing.T) {
	for _, im := range []shards.Image{
		{DType: "complex", Channels: 1, Depth: 1, Height: 2, Width: 2, Voxels: make([]byte, 4)},
		{DType: shards.Uint8, Channels: 1, Depth: 1, Height: 2, Width: 2, Voxels: make([]byte, 3)},
		{DType: shards.Uint8, Channels: 1, Depth: 0, Height: 2, Width: 2},
	} {
		if _, err := DHash(&im); err == nil {
			t.Errorf("DHash(%+v) accepted", im)
		}
	}
	tiny := shards.Image{DType: shards.Uint8, Channels: 1, Depth: 1, Height: 1, Width: 1, Voxels: []byte{7}}
	if h, err := DHash(&tiny); err != nil || h != (PHash{}) {
		t.Errorf("1x1 image: %x, %v", h, err)
	}
}

func TestNearIndexMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, thr := range []int{0, 3, 12, 40} {
		ix := newNearIndex(thr)
		var stored []PHash
		flip := func(h PHash, k int) PHash {
			for range k {
				b := rng.IntN(256)
				h[b/64] ^= 1 << (b % 64)
			}
			return h
		}
		for i := range 300 {
			h := PHash{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
			if i%3 == 0 && len(stored) > 0 { // plant near copies
				h = flip(stored[rng.IntN(len(stored))], 1+rng.IntN(thr+3))
			}
			stored = append(stored, h)
			ix.add(fmt.Sprint("e", i), "", []PHash{h})
		}
		for q := range 200 {
			h := flip(stored[rng.IntN(len(stored))], q%(thr+4))
			want := -1
			for i, s := range stored {
				if Hamming(s, h) <= thr {
					want = i
					break
				}
			}
			id, _, ok := ix.query("", []PHash{h})
			if ok != (want >= 0) || (ok && id != ix.ids[want]) {
				t.Fatalf("t=%d: query %x = %q %v, linear scan says entry %d", thr, h, id, ok, want)
			}
		}
	}
}

func TestPHashString(t *testing.T) {
	h := PHash{1, 2, 0xdeadbeef, 1 << 63}
	got, err := ParsePHash(h.String())
	if err != nil || got != h {
		t.Errorf("round trip %v -> %v, %v", h, got, err)
	}
	if _, err := ParsePHash("xyz"); err == nil {
		t.Error("bad hash accepted")
	}
}
