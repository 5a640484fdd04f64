package perf

import (
	"context"
	"strings"
	"testing"
)

// TestShardsQuick runs the shards group in quick mode; it checks which
// measurements come back and that each has numbers, never timings.
func TestShardsQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few hundred MiB")
	}
	rs, err := shardsGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shards/ipc_write/", "shards/create_shard_metadata/", "shards/create_shard_none/",
		"shards/create_shard_full_zstd/", "shards/create_shard_full_zstd-fast/", "shards/zero_copy_read_heap/",
		"shards/disk_bytes_native/"}
	if _, err := LookReference("dcm2niix"); err == nil {
		want = append(want, "shards/native_ingest/")
	}
	for _, w := range want {
		found := false
		for _, r := range rs {
			if strings.HasPrefix(r.Name, w) {
				found = true
				if r.Value <= 0 || r.BaselineValue <= 0 {
					t.Errorf("%s: value %v baseline %v", r.Name, r.Value, r.BaselineValue)
				}
			}
		}
		if !found {
			t.Errorf("no %s* result among %d", w, len(rs))
		}
	}
	for _, r := range rs {
		t.Logf("%s: %.4g %s vs %.4g (ratio %.2f, goal %.2f) %v", r.Name, r.Value, r.Unit, r.BaselineValue, r.Ratio, r.Goal, r.Extra)
	}
}
