package ingest

import (
	"strings"
	"testing"
)

func TestPseudonymWarning(t *testing.T) {
	pipe := func(typ string) *Pipeline {
		return &Pipeline{Name: typ, Source: ComponentConfig{Type: typ}}
	}
	tests := []struct {
		name  string
		pipes []*Pipeline
		keyed bool
		warn  bool
	}{
		{"nifti sample stays quiet", []*Pipeline{pipe("nifti")}, false, false},
		{"pmc stays quiet", []*Pipeline{pipe("pmc"), pipe("radiopaedia")}, false, false},
		{"dicom without key", []*Pipeline{pipe("nifti"), pipe("dicom")}, false, true},
		{"mimic without key", []*Pipeline{pipe("mimic-cxr")}, false, true},
		{"dicom with key", []*Pipeline{pipe("dicom"), pipe("chexpert")}, true, false},
	}
	for _, tt := range tests {
		w := PseudonymWarning(tt.pipes, tt.keyed)
		if (w != "") != tt.warn {
			t.Errorf("%s: warning %q, want one=%v", tt.name, w, tt.warn)
		}
		if w != "" && (strings.Contains(w, "\n") || !strings.Contains(w, "MEDMD_PSEUDONYM_KEY")) {
			t.Errorf("%s: want one line naming MEDMD_PSEUDONYM_KEY, got %q", tt.name, w)
		}
	}
}
