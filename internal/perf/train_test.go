package perf

import (
	"context"
	"testing"
)

// TestTrainStartup measures time to first step on the 100,000-sample
// corpus and checks the row has its numbers.
func TestTrainStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100,000-sample corpus")
	}
	t.Setenv("GOMLX_BACKEND", "go:parallelism=-1")
	r, err := startupResult(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Value <= 0 || r.BaselineValue != 2 || r.Extra["samples"] != startupSamples {
		t.Fatalf("%+v", r)
	}
	t.Logf("%s: %.3g %s vs %.3g (ratio %.2f, goal %.2f) %v", r.Name, r.Value, r.Unit, r.BaselineValue, r.Ratio, r.Goal, r.Extra)
}
