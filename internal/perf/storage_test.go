package perf

import (
	"context"
	"os"
	"testing"
)

// The storage group's S3 server process is this test binary running
// TestS3ServerProcess.
func init() { s3ServerArgs = []string{"-test.run=^TestS3ServerProcess$"} }

// TestS3ServerProcess is the storage group's S3 server when this binary
// runs as its child; otherwise it returns at once (not a skip: nothing
// is missing, and the test report lists skips as missing tools).
func TestS3ServerProcess(t *testing.T) {
	if os.Getenv(s3ServerEnv) == "" {
		return
	}
	if err := serveS3(os.Stdin, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestStorageQuick runs the storage group in quick mode: its results, over
// s3store and over gofakes3's own stores, come back with numbers.
func TestStorageQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a corpus to a loopback S3 server")
	}
	rs, err := storageGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Goal != 0.5 || rs[1].Goal != 0 {
		t.Fatalf("%d results, want the row over s3store and the informational one over gofakes3's own stores", len(rs))
	}
	for _, r := range rs {
		if r.Value <= 0 || r.BaselineValue <= 0 {
			t.Errorf("%s: value %v baseline %v", r.Name, r.Value, r.BaselineValue)
		}
		if r.Extra["cpu_MB_per_s"] <= 0 || r.Extra["server_cpu_MB_per_s"] <= 0 {
			t.Errorf("%s: CPU rates of the writer and of the server process missing: %v", r.Name, r.Extra)
		}
		t.Logf("%s: %.4g %s vs %.4g (ratio %.2f, goal %.2f) %v", r.Name, r.Value, r.Unit, r.BaselineValue, r.Ratio, r.Goal, r.Extra)
	}
}
