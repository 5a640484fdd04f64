package perf

import (
	"context"
	"testing"
)

// TestRadMDQuick runs the perf group in quick mode; it asserts shape, never
// timings.
func TestRadMDQuick(t *testing.T) {
	rs, err := radmdGroup(context.Background(), Options{Quick: true, Repeats: 1})
	if err != nil || len(rs) != 2 {
		t.Fatalf("%v, %v", rs, err)
	}
	for _, r := range rs {
		if r.Value <= 0 || r.BaselineValue <= 0 {
			t.Errorf("%+v", r)
		}
	}
}
