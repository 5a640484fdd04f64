package main

import (
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

func TestPseudonymWarning(t *testing.T) {
	pipe := func(typ string) *ingest.Pipeline {
		return &ingest.Pipeline{Name: typ, Source: ingest.ComponentConfig{Type: typ}}
	}
	tests := []struct {
		name  string
		pipes []*ingest.Pipeline
		keyed bool
		warn  bool
	}{
		{"nifti sample stays quiet", []*ingest.Pipeline{pipe("nifti")}, false, false},
		{"pmc stays quiet", []*ingest.Pipeline{pipe("pmc"), pipe("radiopaedia")}, false, false},
		{"dicom without key", []*ingest.Pipeline{pipe("nifti"), pipe("dicom")}, false, true},
		{"mimic without key", []*ingest.Pipeline{pipe("mimic-cxr")}, false, true},
		{"dicom with key", []*ingest.Pipeline{pipe("dicom"), pipe("chexpert")}, true, false},
	}
	for _, tt := range tests {
		w := pseudonymWarning(tt.pipes, tt.keyed)
		if (w != "") != tt.warn {
			t.Errorf("%s: warning %q, want one=%v", tt.name, w, tt.warn)
		}
		if w != "" && (strings.Contains(w, "\n") || !strings.Contains(w, "MEDMD_PSEUDONYM_KEY")) {
			t.Errorf("%s: want one line naming MEDMD_PSEUDONYM_KEY, got %q", tt.name, w)
		}
	}
}
