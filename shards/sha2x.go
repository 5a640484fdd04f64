package shards

import (
	"encoding/binary"
	"hash"
)

// Two SHA-256 digests over the same bytes in one pass: a shard part's
// file checksum and each image's voxel_sha256 both cover every voxel
// byte. Hashed apart they cost two passes of about 1.5 GB/s each on a
// core; with SHA-NI's round latency hidden by interleaving (block2) one
// core computes both in little more than the time of one.
//
// The digests stay crypto/sha256's own: their state is exported and
// imported through the documented binary marshalling, so whatever is
// hashed outside the common whole blocks (headers, unaligned heads and
// tails) goes through crypto/sha256 itself.

// min2xBlocks: below this many common blocks the marshalling costs more
// than it saves.
const min2xBlocks = 16

// sha256State is a crypto/sha256 digest's marshalling methods.
type sha256State interface {
	hash.Hash
	AppendBinary(b []byte) ([]byte, error)
	UnmarshalBinary(b []byte) error
}

// marshalled layout of a crypto/sha256 digest: magic, h[0..7] big
// endian, the 64-byte block buffer, the length in bytes big endian.
const (
	shaStateH     = 4
	shaStateLen   = 4 + 32 + 64
	shaStateBytes = shaStateLen + 8
)

// write2 writes pa to a and pb to b, as a.Write(pa) and b.Write(pb) do.
// Both must be crypto/sha256 digests (sha256State); buf is scratch for
// their states.
func write2(a, b hash.Hash, pa, pb []byte, buf *[2][]byte) {
	sa, oka := a.(sha256State)
	sb, okb := b.(sha256State)
	if !have2x || !oka || !okb {
		a.Write(pa)
		b.Write(pb)
		return
	}
	// Bring both to a block boundary through crypto/sha256.
	var err error
	for i, s := range []sha256State{sa, sb} {
		if buf[i], err = s.AppendBinary(buf[i][:0]); err != nil || len(buf[i]) != shaStateBytes {
			a.Write(pa)
			b.Write(pb)
			return
		}
	}
	pa = alignTo(sa, buf[0], pa)
	pb = alignTo(sb, buf[1], pb)
	n := min(len(pa), len(pb)) / 64
	if n < min2xBlocks {
		a.Write(pa)
		b.Write(pb)
		return
	}
	var h [2][8]uint32
	for i, s := range []sha256State{sa, sb} {
		if buf[i], err = s.AppendBinary(buf[i][:0]); err != nil {
			a.Write(pa)
			b.Write(pb)
			return
		}
		for k := range h[i] {
			h[i][k] = binary.BigEndian.Uint32(buf[i][shaStateH+4*k:])
		}
	}
	block2(&h[0], &h[1], &pa[0], &pb[0], n)
	for i, s := range []sha256State{sa, sb} {
		for k := range h[i] {
			binary.BigEndian.PutUint32(buf[i][shaStateH+4*k:], h[i][k])
		}
		l := binary.BigEndian.Uint64(buf[i][shaStateLen:])
		binary.BigEndian.PutUint64(buf[i][shaStateLen:], l+uint64(64*n))
		if err := s.UnmarshalBinary(buf[i]); err != nil {
			// Cannot happen for a state it marshalled; a digest left
			// half-updated would be wrong, so fail loudly.
			panic("shards: restoring a SHA-256 state: " + err.Error())
		}
	}
	a.Write(pa[64*n:])
	b.Write(pb[64*n:])
}

// alignTo writes the head of p that completes s's partial block (state
// is s's marshalled state) and returns the rest.
func alignTo(s sha256State, state, p []byte) []byte {
	k := int((64 - binary.BigEndian.Uint64(state[shaStateLen:])%64) % 64)
	k = min(k, len(p))
	s.Write(p[:k])
	return p[k:]
}
