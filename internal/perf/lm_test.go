package perf

import (
	"context"
	"strings"
	"testing"
)

func TestLMGroupQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles decoder graphs")
	}
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	rs, err := lmGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lm/safetensors_load/", "lm/kv_cache/tiny_", "lm/kv_cache/mid_", "lm/kv_cache/multimodal_tiny_"}
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		if !strings.HasPrefix(r.Name, want[i]) || r.Value <= 0 || r.BaselineValue <= 0 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
}
