package datasets

import (
	"slices"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestPatientIDsDeclared runs every dataset on its fixture and checks that
// each one whose samples carry a pseudonymised patient path segment
// ("pid-", pseudonymisePath) declares Spec.PatientIDs, so a run of it
// warns when MEDMD_PSEUDONYM_KEY is unset: a new dataset cannot be left
// out of the warning.
func TestPatientIDsDeclared(t *testing.T) {
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range local {
			if !yield(n) {
				return
			}
		}
	})
	carrying := 0
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			pid := false
			for _, s := range runPipeline(t, name).samples {
				for _, im := range s.Images {
					pid = pid || strings.Contains(im.SourcePath, "pid-")
				}
				for _, v := range s.Meta {
					pid = pid || strings.Contains(v, "pid-")
				}
			}
			if pid {
				carrying++
			}
			if pid && !local[name].spec.PatientIDs {
				t.Errorf("samples carry patient ids but the spec does not declare PatientIDs")
			}
		})
	}
	if carrying == 0 {
		t.Error("no dataset fixture carries a patient id: the check above checks nothing")
	}
}

// TestMixPatientIDs: labelled-mix reads any dataset, so it declares
// PatientIDs when any of them does.
func TestMixPatientIDs(t *testing.T) {
	any := false
	for _, e := range local {
		any = any || e.spec.PatientIDs
	}
	for _, s := range ingest.SourceSpecs() {
		if s.Name == mixName && s.PatientIDs != any {
			t.Errorf("labelled-mix PatientIDs %v, its datasets %v", s.PatientIDs, any)
		}
	}
}
