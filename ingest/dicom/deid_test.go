package dicom

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestApplyMeta checks each option's metadata: dates removed, shifted (the
// same offset for one patient, so intervals survive) or kept; descriptions
// removed or cleaned of the header's identifying values; age and sex kept
// or dropped.
func TestApplyMeta(t *testing.T) {
	h := &Header{PatientID: "ZZ123456", Attrs: map[uint32]string{
		0x00080020: "20190315", 0x00080021: "20190320", 0x00080031: "101500",
		0x0008103E: "ZZDOE head ZZ123456", 0x00100010: "ZZDOE^JOHN", 0x00100020: "ZZ123456",
		0x00101010: "054Y", 0x00100040: "F",
	}}
	shift := dateShiftDays(h)
	day := func(s string, back int) string {
		d, _ := time.Parse("20060102", s)
		return d.AddDate(0, 0, -back).Format("20060102")
	}
	tests := []struct {
		name string
		o    DeidOptions
		want map[string]string
	}{
		{"default: shift", DeidOptions{}, map[string]string{"study_date": day("20190315", shift), "series_date": day("20190320", shift),
			"series_time": "101500", "patient_age": "054Y", "patient_sex": "F"}},
		{"remove", DeidOptions{Dates: DatesRemove, DropAgeSex: true}, map[string]string{}},
		{"keep, cleaned descriptions", DeidOptions{Dates: DatesKeep, KeepDescriptions: true}, map[string]string{"study_date": "20190315",
			"series_date": "20190320", "series_time": "101500", "patient_age": "054Y", "patient_sex": "F", "series_description": "head"}},
	}
	for _, tt := range tests {
		m := map[string]string{"series_description": "ZZDOE head ZZ123456", "protocol_name": "x"}
		tt.o.applyMeta(m, h)
		if !reflect.DeepEqual(m, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, m, tt.want)
		}
	}
	if shift < 1 || shift > 3652 {
		t.Errorf("shift %d days out of [1,3652]", shift)
	}
}
