package perf

import (
	"context"
	"testing"
)

// TestStorageQuick runs the storage group in quick mode: its result comes
// back with numbers.
func TestStorageQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a corpus to a loopback S3 server")
	}
	rs, err := storageGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d results, want 1", len(rs))
	}
	for _, r := range rs {
		if r.Value <= 0 || r.BaselineValue <= 0 {
			t.Errorf("%s: value %v baseline %v", r.Name, r.Value, r.BaselineValue)
		}
		t.Logf("%s: %.4g %s vs %.4g (ratio %.2f, goal %.2f) %v", r.Name, r.Value, r.Unit, r.BaselineValue, r.Ratio, r.Goal, r.Extra)
	}
}
