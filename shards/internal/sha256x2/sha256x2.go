// Package sha256x2 computes the SHA-256s of two messages at once on one
// core. With SHA-NI a single message's rounds wait on each other (every
// round needs the state the last one wrote), so one stream leaves the
// core partly idle; interleaving a second stream's rounds uses that time
// (BenchmarkSum2: 2.5-2.7 GB/s per core against crypto/sha256's 1.7 on
// the development machine). Sums are those of crypto/sha256, which does
// whatever this package does not (CPUs without SHA-NI, the tail of the
// longer message).
package sha256x2

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
)

// iv is SHA-256's initial state.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// Interleaved reports whether Sum2 hashes its two messages at once on
// this CPU; where it does not, Sum2 is two sha256.Sum256 calls, and a
// caller with idle cores does better hashing the two on two goroutines.
func Interleaved() bool { return available }

// maxBlocks bounds one call of the assembly kernel (64 KiB of each
// message): the Go scheduler cannot preempt assembly, so a long call
// would hold up garbage collection and other goroutines.
const maxBlocks = 1024

// Sum2 returns the SHA-256 of a and of b.
func Sum2(a, b []byte) (sa, sb [32]byte) {
	n := min(len(a), len(b)) / sha256.BlockSize
	if !available || n == 0 {
		return sha256.Sum256(a), sha256.Sum256(b)
	}
	var h [16]uint32
	copy(h[:8], iv[:])
	copy(h[8:], iv[:])
	for done := 0; done < n; {
		k := min(n-done, maxBlocks)
		off := done * sha256.BlockSize
		blockX2(&h, &a[off], &b[off], k)
		done += k
	}
	done := n * sha256.BlockSize
	return finish(h[:8], done, a[done:]), finish(h[8:], done, b[done:])
}

// finish hashes rest from state h, reached after done bytes, through
// crypto/sha256, whose marshalled state (magic, the state words, a
// block buffer, the length, all big-endian) it is handed as.
func finish(h []uint32, done int, rest []byte) [32]byte {
	state := make([]byte, 0, 4+32+sha256.BlockSize+8)
	state = append(state, "sha\x03"...)
	for _, v := range h {
		state = binary.BigEndian.AppendUint32(state, v)
	}
	state = append(state, make([]byte, sha256.BlockSize)...)
	state = binary.BigEndian.AppendUint64(state, uint64(done))
	d := sha256.New()
	if err := d.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		panic("sha256x2: crypto/sha256 refused its own state format: " + err.Error())
	}
	d.Write(rest)
	var sum [32]byte
	d.Sum(sum[:0])
	return sum
}
