package sha256x2

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSum2 compares Sum2 with crypto/sha256 over lengths around block
// boundaries and the kernel's call size (maxBlocks), and of unequal
// lengths, where one message goes on alone after the shared blocks.
func TestSum2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 3*maxBlocks*sha256.BlockSize+100)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	lens := []int{0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4096, 1<<16 - 1, 1 << 16, 1<<16 + 65, len(buf)}
	for _, la := range lens {
		for _, lb := range lens {
			a, b := buf[:la], buf[len(buf)-lb:]
			sa, sb := Sum2(a, b)
			if sa != sha256.Sum256(a) || sb != sha256.Sum256(b) {
				t.Fatalf("lengths %d, %d: sums differ from crypto/sha256", la, lb)
			}
		}
	}
	if !available {
		t.Log("no SHA-NI here: Sum2 ran on crypto/sha256 alone")
	}
}

func FuzzSum2(f *testing.F) {
	f.Add([]byte("abc"), []byte(""))
	f.Add(make([]byte, 200), make([]byte, 130))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		sa, sb := Sum2(a, b)
		if sa != sha256.Sum256(a) || sb != sha256.Sum256(b) {
			t.Fatalf("sums of %d and %d bytes differ from crypto/sha256", len(a), len(b))
		}
	})
}

// BenchmarkSum2 hashes two messages with Sum2 and with two calls of
// sha256.Sum256, on one goroutine: 8 MiB (a CT volume) and 256 KiB (a
// 512×512 uint8 image).
func BenchmarkSum2(b *testing.B) {
	for _, size := range []int{8 << 20, 256 << 10} {
		a, c := make([]byte, size), make([]byte, size)
		b.Run(fmt.Sprintf("sum2/%d", size), func(b *testing.B) {
			b.SetBytes(int64(2 * size))
			for b.Loop() {
				Sum2(a, c)
			}
		})
		b.Run(fmt.Sprintf("sha256/%d", size), func(b *testing.B) {
			b.SetBytes(int64(2 * size))
			for b.Loop() {
				sha256.Sum256(a)
				sha256.Sum256(c)
			}
		})
	}
}
