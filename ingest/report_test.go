package ingest

import (
	"encoding/json"
	"testing"
)

// TestReportUnlicensed: each pipeline's entry of the --report JSON carries
// the summary's "no licence on N samples" count, 0 included, beside the
// per-source split in corpus.unlicensed.
func TestReportUnlicensed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		corpus    Counts
		want      int
		bySources map[string]int
	}{
		{"two sources", Counts{Samples: 20, Unlicensed: map[string]int{"nifti": 12, "dicom": 3}}, 15, map[string]int{"nifti": 12, "dicom": 3}},
		{"all licensed", Counts{Samples: 20}, 0, nil},
	} {
		s := Summary{Pipeline: "ct", Tasks: 1, Corpus: tc.corpus}
		b, err := json.Marshal(s.Report(nil))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Unlicensed *int `json:"unlicensed_samples"`
			Corpus     struct {
				Unlicensed map[string]int `json:"unlicensed"`
			} `json:"corpus"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Unlicensed == nil || *got.Unlicensed != tc.want {
			t.Errorf("%s: unlicensed_samples missing or wrong in %s, want %d", tc.name, b, tc.want)
		}
		if len(got.Corpus.Unlicensed) != len(tc.bySources) {
			t.Errorf("%s: corpus.unlicensed = %v, want %v", tc.name, got.Corpus.Unlicensed, tc.bySources)
		}
		for src, n := range tc.bySources {
			if got.Corpus.Unlicensed[src] != n {
				t.Errorf("%s: corpus.unlicensed[%s] = %d, want %d", tc.name, src, got.Corpus.Unlicensed[src], n)
			}
		}
	}
}
