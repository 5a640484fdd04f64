package shards

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"sync"
)

// PseudonymKeyEnv names the environment variable holding the project secret
// that keys patient-id pseudonyms.
//
// Why a key: a plain SHA-256 of a short medical record number is reversed
// by hashing every candidate number, so an unkeyed hash is no pseudonym. With
// the key set, Pseudonym is an HMAC that cannot be recomputed without it.
//
// Every task (and every re-run) that writes into one corpus must use the SAME
// key, or one patient gets different groups in different shards and the
// patient-level train/val/test split leaks. The key must be kept secret
// (secret store, not pipelines.yaml, not the corpus): whoever holds it can
// test a candidate id against a group again.
const PseudonymKeyEnv = "MEDMD_PSEUDONYM_KEY"

// pseudonymKey is read once per process: a corpus must not change keys
// half-way through a run. Tests replace it.
var pseudonymKey = sync.OnceValue(readPseudonymKey)

func readPseudonymKey() []byte { return []byte(os.Getenv(PseudonymKeyEnv)) }

// PseudonymKeyed reports whether MEDMD_PSEUDONYM_KEY is set, so the CLI can
// warn when patient ids are only hashed. Only the presence is exposed, never
// the key, and nothing written to a shard depends on it.
func PseudonymKeyed() bool { return len(pseudonymKey()) > 0 }

// Pseudonym returns the stored stand-in for a patient identifier id (a DICOM
// PatientID, a dataset's patient or subject id): the hex HMAC-SHA256 of
// kind and id under the MEDMD_PSEUDONYM_KEY secret. kind separates domains
// ("patient", "path-patient"…) so one pseudonym cannot be matched against
// another use of the same id.
//
// Without a key it falls back to HashString(id), the plain SHA-256 earlier
// releases wrote, so corpora built without a key keep their groups byte for
// byte; kind is then ignored. Use it for patient ids only: public ids
// (PMCIDs, published case numbers) keep HashString.
func Pseudonym(kind, id string) string {
	return pseudonym(pseudonymKey(), kind, id)
}

func pseudonym(key []byte, kind, id string) string {
	if len(key) == 0 {
		return HashString(id)
	}
	m := hmac.New(sha256.New, key)
	// Length-prefix kind so ("ab","c") and ("a","bc") differ.
	var n [8]byte
	for i, l := 0, uint64(len(kind)); i < 8; i++ {
		n[i] = byte(l >> (8 * i))
	}
	m.Write(n[:])
	m.Write([]byte(kind))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}
