package perf

import (
	"strings"
	"testing"
)

// TestServeQuick runs the serve group in quick mode; it asserts the rows
// and that each carries its CPU time, never timings against goals.
func TestServeQuick(t *testing.T) {
	rs, err := serveGroup(t.Context(), Options{Quick: true, Repeats: 1, TempDir: t.TempDir()})
	if err != nil || len(rs) != 5 {
		t.Fatalf("%v, %v", rs, err)
	}
	for _, r := range rs {
		if !strings.HasPrefix(r.Name, "serve/") || r.Value <= 0 || r.BaselineValue <= 0 || r.Goal != 1 {
			t.Errorf("%+v", r)
		}
		if r.Extra["cpu_ms"] <= 0 && r.Extra["cpu_s"] <= 0 {
			t.Errorf("%s: no CPU time: %v", r.Name, r.Extra)
		}
	}
	if ix := rs[0].Extra; ix["index_heap_mb"] <= 0 || ix["peak_go_memory_mb"] < ix["index_heap_mb"] || ix["index_file_mb"] <= 0 {
		t.Errorf("index memory: %v", ix)
	}
}
