package shards

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestPseudonym(t *testing.T) {
	// The unkeyed fallback is exactly the plain SHA-256 existing corpora hold.
	if got, want := pseudonym(nil, "patient", "12345"), HashString("12345"); got != want {
		t.Fatalf("unkeyed = %s, want HashString %s", got, want)
	}
	key := []byte("corpus secret")
	tests := []struct {
		name       string
		a, b       [2]string // kind, id
		keyB       []byte
		wantDiffer bool
	}{
		{"deterministic", [2]string{"patient", "12345"}, [2]string{"patient", "12345"}, key, false},
		{"ids differ", [2]string{"patient", "12345"}, [2]string{"patient", "12346"}, key, true},
		{"kinds separate domains", [2]string{"patient", "12345"}, [2]string{"path-patient", "12345"}, key, true},
		{"kind/id boundary", [2]string{"ab", "c"}, [2]string{"a", "bc"}, key, true},
		{"other key", [2]string{"patient", "12345"}, [2]string{"patient", "12345"}, []byte("other"), true},
	}
	for _, tt := range tests {
		a := pseudonym(key, tt.a[0], tt.a[1])
		b := pseudonym(tt.keyB, tt.b[0], tt.b[1])
		if (a != b) != tt.wantDiffer {
			t.Errorf("%s: %s vs %s, want differ=%v", tt.name, a, b, tt.wantDiffer)
		}
		if len(a) != 64 {
			t.Errorf("%s: len %d, want 64 hex", tt.name, len(a))
		}
	}
	// Keyed: not the plain hash a dictionary attack recomputes, and equal
	// to an HMAC any other tool can reproduce from the documented layout.
	got := pseudonym(key, "patient", "12345")
	if got == HashString("12345") {
		t.Fatal("keyed pseudonym equals the unkeyed hash")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte{7, 0, 0, 0, 0, 0, 0, 0})
	m.Write([]byte("patient12345"))
	if want := hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("keyed = %s, want %s", got, want)
	}
}

// TestPseudonymKeyFromEnv: the exported function reads MEDMD_PSEUDONYM_KEY.
func TestPseudonymKeyFromEnv(t *testing.T) {
	saved := pseudonymKey
	t.Cleanup(func() { pseudonymKey = saved })
	for _, key := range []string{"", "s3cret"} {
		t.Setenv(PseudonymKeyEnv, key)
		pseudonymKey = readPseudonymKey
		if PseudonymKeyed() != (key != "") {
			t.Errorf("key %q: PseudonymKeyed = %v", key, PseudonymKeyed())
		}
		if got, want := Pseudonym("patient", "7"), pseudonym([]byte(key), "patient", "7"); got != want {
			t.Errorf("key %q: Pseudonym = %s, want %s", key, got, want)
		}
	}
}
