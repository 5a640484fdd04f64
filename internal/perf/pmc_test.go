package perf

import (
	"context"
	"os/exec"
	"testing"
)

// TestPMCQuick runs the perf group in quick mode and checks that both
// extractions found the same figures and mentions (the comparison is
// fair only if they do the same work). Timings are not asserted.
func TestPMCQuick(t *testing.T) {
	// Skip only when the reference itself is missing; any other error
	// (our parser, the articles, the script) fails the test.
	if err := exec.Command(Python, "-c", "import lxml.etree").Run(); err != nil {
		t.Skipf("%s cannot import lxml (%v): install Debian python3-lxml (`make deps-apt`) to enable this test", Python, err)
	}
	res, err := pmcGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Value <= 0 || r.BaselineValue <= 0 {
		t.Errorf("result %+v", r)
	}
	if r.Extra["figures"] != r.Extra["baseline_figures"] || r.Extra["mentions"] != r.Extra["baseline_mentions"] {
		t.Errorf("parsers disagree: %v", r.Extra)
	}
	// The mirror row: both layouts read the same articles into samples.
	if len(res) != 2 || res[1].Value <= 0 || res[1].BaselineValue <= 0 || res[1].Extra["samples"] == 0 || res[1].Extra["baseline_samples"] == 0 {
		t.Errorf("mirror result %+v", res[1:])
	}
}
