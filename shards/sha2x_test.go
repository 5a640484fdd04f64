package shards

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWrite2 checks the two-way writer against crypto/sha256 for heads
// and tails around every block alignment, on both sides.
func TestWrite2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	tests := []struct {
		name           string
		preA, preB     int // bytes hashed before
		offA, offB, nA int // slices written together
		nB             int
	}{
		{"aligned", 0, 0, 0, 0, 64 << 10, 64 << 10},
		{"unaligned heads", 13, 0, 5, 0, 200 << 10, 200 << 10},
		{"both unaligned", 100, 37, 3, 61, 100<<10 + 7, 90<<10 + 1},
		{"short", 1, 2, 0, 0, 64*min2xBlocks - 1, 64 * min2xBlocks},
		{"one empty", 5, 0, 0, 0, 300 << 10, 0},
		{"whole buffer", 63, 0, 0, 0, 1 << 20, 1 << 20},
	}
	var buf [2][]byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := sha256.New(), sha256.New()
			ra, rb := sha256.New(), sha256.New()
			a.Write(data[:tc.preA])
			ra.Write(data[:tc.preA])
			b.Write(data[:tc.preB])
			rb.Write(data[:tc.preB])
			pa, pb := data[tc.offA:tc.offA+tc.nA], data[tc.offB:tc.offB+tc.nB]
			write2(a, b, pa, pb, &buf)
			ra.Write(pa)
			rb.Write(pb)
			// And again, from wherever the first call left them.
			write2(a, b, pb, pa, &buf)
			ra.Write(pb)
			rb.Write(pa)
			if !bytes.Equal(a.Sum(nil), ra.Sum(nil)) || !bytes.Equal(b.Sum(nil), rb.Sum(nil)) {
				t.Fatalf("digests differ from crypto/sha256 (have2x %v)", have2x)
			}
		})
	}
}

func BenchmarkWrite2(b *testing.B) {
	data := make([]byte, 8<<20)
	var buf [2][]byte
	b.Run("two-way", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		x, y := sha256.New(), sha256.New()
		for b.Loop() {
			write2(x, y, data, data[64:], &buf)
		}
	})
	b.Run("one-after-the-other", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		x, y := sha256.New(), sha256.New()
		for b.Loop() {
			x.Write(data)
			y.Write(data[64:])
		}
	})
}

// TestImagePlan feeds a borrowed buffer to the file digest in pieces, as
// the IPC writer does, and checks the file digest and each image's.
func TestImagePlan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	offs := []int64{0, 1 << 20, 1<<20 + 1, 1<<20 + 1, 2<<20 + 77, 3 << 20} // includes an empty image
	tests := []struct {
		name   string
		pieces []int64 // piece boundaries in the buffer
		follow bool    // whether the plan can follow the pieces
	}{
		{"one write", []int64{0, 3 << 20}, true},
		{"pieces across images", []int64{0, 100, 1<<20 + 1, 2 << 20, 3 << 20}, true},
		{"out of order", []int64{100, 3 << 20}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sums := make([]string, len(offs)-1)
			pl := &imagePlan{offs: offs, sums: sums, at: 0, cur: sha256.New()}
			h, ref := sha256.New(), sha256.New()
			h.Write([]byte("header"))
			ref.Write([]byte("header"))
			for i := 0; i+1 < len(tc.pieces); i++ {
				p := data[tc.pieces[i]:tc.pieces[i+1]]
				pl.hash(h, p, tc.pieces[i])
				ref.Write(p)
			}
			if !bytes.Equal(h.Sum(nil), ref.Sum(nil)) {
				t.Fatal("file digest differs from crypto/sha256")
			}
			for j, s := range sums {
				if !tc.follow {
					if s != "" {
						t.Errorf("image %d: sum %s from pieces it cannot follow", j, s)
					}
					continue
				}
				want := sha256.Sum256(data[offs[j]:offs[j+1]])
				if s != fmt.Sprintf("%x", want) {
					t.Errorf("image %d: sum %s, want %x", j, s, want)
				}
			}
		})
	}
}
