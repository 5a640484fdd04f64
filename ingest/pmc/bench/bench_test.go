package bench

import (
	"context"
	"os"
	"testing"

	"github.com/medmd/medmd/internal/perf"
)

// TestRunQuick runs the perf group in quick mode and checks that both
// extractions found the same figures and mentions (the comparison is
// fair only if they do the same work). Timings are not asserted.
func TestRunQuick(t *testing.T) {
	if _, err := os.Stat(Python); err != nil {
		t.Skipf("%s not available", Python)
	}
	res, err := Run(context.Background(), perf.Options{Quick: true, TempDir: t.TempDir()})
	if err != nil {
		t.Skipf("reference unavailable: %v", err)
	}
	r := res[0]
	if r.Value <= 0 || r.BaselineValue <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.Extra["figures"] != r.Extra["baseline_figures"] || r.Extra["mentions"] != r.Extra["baseline_mentions"] {
		t.Errorf("parsers disagree: %v", r.Extra)
	}
}
