package dicom

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestInspectIdentifiers inspects the planted MR slice (an identifying
// value in every attribute the Basic Profile removes, the patient's ID and
// name in its folder) as text and JSON: by default the UIDs are the keyed
// ones the pipeline writes and no name or ID shows; --show-identifiers
// shows the original UIDs and still no name or ID.
func TestInspectIdentifiers(t *testing.T) {
	t.Setenv("MEDMD_PSEUDONYM_KEY", "test-key-for-inspect")
	dir := filepath.Join(t.TempDir(), "ZZ123456_ZZPATIENTNAME")
	path := filepath.Join(dir, "mr.dcm")
	writePlanted(t, path, plantSeriesUID, plantSOPUID, nil)
	uids := []string{plantStudyUID, plantSeriesUID, plantSOPUID, plantFoRUID}
	// What no output may hold: every planted value but the description's
	// own words (cleaned, not removed) and the other descriptions, which
	// inspect does not print.
	var never []string
	for tag, v := range planted {
		switch tag {
		case 0x0008103E:
			never = append(never, "ZZPATIENTNAME")
		case 0x00081030, 0x00181030:
		default:
			never = append(never, v)
		}
	}
	never = append(never, "ZZGIVEN")
	cases := []struct {
		name     string
		o        ingest.InspectOptions
		want     []string // must appear
		wantMode string
	}{
		{"text", ingest.InspectOptions{}, []string{PseudoUID(plantSeriesUID), PseudoUID(plantStudyUID), PseudoUID(plantSOPUID), "ZZSERIESDESC"}, IdentifiersPseudonymised},
		{"json", ingest.InspectOptions{JSON: true}, []string{PseudoUID(plantSeriesUID), PseudoUID(plantFoRUID), "ZZSERIESDESC"}, IdentifiersPseudonymised},
		{"text_show", ingest.InspectOptions{ShowIdentifiers: true}, uids[:3], IdentifiersOriginal},
		{"json_show", ingest.InspectOptions{JSON: true, ShowIdentifiers: true}, uids, IdentifiersOriginal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := inspect(context.Background(), path, c.o, &buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, v := range never {
				if strings.Contains(out, v) {
					t.Errorf("output holds %q:\n%s", v, out)
				}
			}
			if !c.o.ShowIdentifiers {
				for _, u := range uids {
					if strings.Contains(out, u) {
						t.Errorf("output holds the original UID %s", u)
					}
				}
			}
			for _, v := range c.want {
				if !strings.Contains(out, v) {
					t.Errorf("output lacks %q:\n%s", v, out)
				}
			}
			if c.o.JSON {
				var s Summary
				if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
					t.Fatal(err)
				}
				if s.Identifiers != c.wantMode || !strings.HasPrefix(s.File, filepath.Dir(dir)) || s.Patient == "" {
					t.Errorf("identifiers %q file %q patient %q", s.Identifiers, s.File, s.Patient)
				}
			}
		})
	}
}
