package ingest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestSummaryFitsWidth: every line of a summary with many drop reasons, a
// rerun's corpus totals and a long side report fits SummaryWidth columns,
// and a rerun that built nothing still shows the corpus.
func TestSummaryFitsWidth(t *testing.T) {
	drops := map[string]int{}
	for _, r := range []string{"pmc: author manuscript", "pmc: figure md5 mismatch", "pmc: licence not allowed",
		"pmc: no licence code", "pmc: not open access", "pmc: older version", "pmc: retracted", "report-without-findings-or-impression"} {
		drops[r] = 1
	}
	for _, tc := range []struct {
		name string
		sum  Summary
		want string
	}{
		{"rerun", Summary{Pipeline: "pmc-sample", Tasks: 1, ShardsSkipped: 3, Elapsed: time.Millisecond, PlannedShards: 3, CorpusShards: 3,
			Corpus: Counts{Units: 219, FailedUnits: 33, Samples: 397, Dropped: drops}, Manifest: "out/pmc-sample/manifest.json"},
			"corpus: 219 units (33 quarantined), 397 samples, 8 dropped"},
		{"partial", Summary{Pipeline: "ct", Task: 1, Tasks: 3, ShardsBuilt: 2, ShardsRepaired: 1, Elapsed: time.Second, PlannedShards: 9, CorpusShards: 4,
			Counts: Counts{Units: 20, InputBytes: 1e6}, Corpus: Counts{Units: 40, Dropped: drops},
			SideReport: strings.Repeat("de-identified 20 images: 180 values removed, ", 4)},
			"corpus so far (4 of 9 shards)"},
		{"unlicensed", Summary{Pipeline: "ct", Tasks: 1, ShardsBuilt: 1, PlannedShards: 1, CorpusShards: 1,
			Corpus: Counts{Units: 3, Samples: 12, Unlicensed: map[string]int{"nifti": 12}}},
			"no licence on 12 samples (nifti=12): set the source's license parameter"},
	} {
		got := tc.sum.String()
		if !strings.Contains(strings.ReplaceAll(got, "\n    ", " "), tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.want)
		}
		for _, line := range strings.Split(got, "\n") {
			if n := utf8.RuneCountInString(line); n > SummaryWidth {
				t.Errorf("%s: %d columns: %q", tc.name, n, line)
			}
		}
	}
}
