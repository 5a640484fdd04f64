package ingest

import (
	"strings"
	"testing"
)

func init() {
	// A source that keeps patient ids and one that does not, as
	// dicom and nifti declare themselves (Spec.PatientIDs).
	RegisterSource(Spec{Name: "warn-test-patients", Summary: "test source", PatientIDs: true}, nil)
	RegisterSource(Spec{Name: "warn-test-volumes", Summary: "test source"}, nil)
}

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
		{"no patient ids stays quiet", []*Pipeline{pipe("warn-test-volumes")}, false, false},
		{"unknown source stays quiet", []*Pipeline{pipe("no-such-source")}, false, false},
		{"patient ids without key", []*Pipeline{pipe("warn-test-volumes"), pipe("warn-test-patients")}, false, true},
		{"patient ids with key", []*Pipeline{pipe("warn-test-patients")}, true, false},
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
