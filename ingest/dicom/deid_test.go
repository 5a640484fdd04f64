package dicom

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestSourceMasksIdentifiers plans and reads a series stored under a
// folder named after its patient and checks that nothing the source hands
// the runner (unit IDs, paths, samples' metadata and source paths) carries
// the PatientID, the patient's name or the raw Series/Study UIDs.
func TestSourceMasksIdentifiers(t *testing.T) {
	b, err := os.ReadFile("testdata/pydicom_CT_small.dcm")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("x", b)
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	dir := filepath.Join(base, "in", f.PatientID+"_"+strings.ReplaceAll(f.PatientName, "^", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ct.dcm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A broken file beside it is quarantined under a masked name too.
	if err := os.WriteFile(filepath.Join(dir, "cut.dcm"), b[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	src := newTestSource(t, base, ingest.Params{"paths": []string{"in"}})
	units, err := src.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, u := range units {
		out = append(out, u.ID, u.Paths)
		smps, err := src.Read(context.Background(), u)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		out = append(out, smps)
	}
	js, _ := json.Marshal(out)
	secrets := []string{f.PatientID, f.SeriesInstanceUID, f.StudyInstanceUID, base}
	secrets = append(secrets, strings.Split(f.PatientName, "^")...)
	for _, s := range secrets {
		if len(s) >= 3 && strings.Contains(strings.ToLower(string(js)), strings.ToLower(s)) {
			t.Errorf("%q reaches the runner: %.400s", s, js)
		}
	}
	if !strings.Contains(string(js), "2.25.") {
		t.Errorf("no 2.25 UID in %s", js)
	}
}
