package shards

import (
	"crypto/sha256"
	"encoding/hex"
)

// MakeID derives a stable sample id from its source and any number of
// content keys (file hash, article id, figure id…). The same parts always
// give the same id; parts are length-prefixed so ("ab","c") ≠ ("a","bc").
func MakeID(source string, parts ...string) string {
	h := sha256.New()
	write := func(s string) {
		var n [8]byte
		for i, l := 0, uint64(len(s)); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(s))
	}
	write(source)
	for _, p := range parts {
		write(p)
	}
	return source + "-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// HashString returns the hex SHA-256 of s; used to pseudonymise patient ids
// before they become a sample's Group.
func HashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
