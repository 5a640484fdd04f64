package perf

import (
	"context"
	"os/exec"
	"testing"
)

// TestPerfNormalizeQuick runs the normalize perf group in quick mode (a
// 120×148×126 volume): the scipy reference must run and the outputs' means
// must agree (normalizeGroup fails otherwise). Timings are not asserted.
func TestPerfNormalizeQuick(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import nibabel, scipy").Run() != nil {
		t.Skip("/usr/bin/python3 with nibabel and scipy not available")
	}
	res, err := normalizeGroup(context.Background(), Options{Quick: true, TempDir: t.TempDir(), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Ratio <= 0 || res[1].Ratio <= 0 || res[0].Goal != 4 {
		t.Fatalf("results %+v", res)
	}
	if testing.Verbose() {
		for _, r := range res {
			t.Logf("%s: %.3gs vs %.3gs (%.2f×)", r.Name, r.Value, r.BaselineValue, r.Ratio)
		}
	}
}
