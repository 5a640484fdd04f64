package perf

import (
	"context"
	"strings"
	"testing"
)

// TestTrainQuick runs the train group in quick mode: the data path rows
// (2D and 3D, against memcpy) and time to first step on the
// 100,000-sample manifest (against its 2 s budget) and the tiny
// preset's data wait (against 5% of its step time) come back with
// numbers.
func TestTrainQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100,000-sample corpus and 3D volumes")
	}
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	rs, err := trainGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"train/datapath/2d_", "train/datapath/3d_", "train/startup/100k", "train/data_wait/tiny"}
	for _, w := range want {
		found := false
		for _, r := range rs {
			if strings.HasPrefix(r.Name, w) {
				found = true
				if r.Value <= 0 || r.BaselineValue <= 0 || r.Ratio <= 0 {
					t.Errorf("%s: value %v baseline %v ratio %v", r.Name, r.Value, r.BaselineValue, r.Ratio)
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
