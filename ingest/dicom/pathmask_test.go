package dicom

import (
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestPathMaskerSegments checks that identifying segments are replaced
// whole, that identifiers match whole tokens only, and that a PN split by
// "^" matches its components in any order.
func TestPathMaskerSegments(t *testing.T) {
	pseud := func(seg, ext string) string { return "p-" + shards.Pseudonym("path-patient", seg)[:16] + ext }
	tests := []struct {
		name string
		hdr  *Header
		path string
		want string
	}{
		{
			name: "id, name and accession folders",
			hdr:  &Header{PatientID: "ZZ123456", PatientName: "ZZPATIENTNAME", Attrs: map[uint32]string{0x00080050: "ZZACC98765"}},
			path: "ZZ123456_ZZPATIENTNAME/ZZACC98765/x.dcm",
			want: pseud("ZZ123456_ZZPATIENTNAME", "") + "/" + pseud("ZZACC98765", "") + "/x.dcm",
		},
		{
			name: "name inside a token is not a match",
			hdr:  &Header{PatientName: "dicom"},
			path: "pydicom_rtplan_truncated.dcm",
			want: "pydicom_rtplan_truncated.dcm",
		},
		{
			name: "PN components match tokens, extension kept",
			hdr:  &Header{PatientName: "DOE^JOHN"},
			path: "scans/John_Doe_scan.dcm",
			want: "scans/" + pseud("John_Doe_scan.dcm", ".dcm"),
		},
		{
			name: "PN components match a segment without extension",
			hdr:  &Header{PatientName: "DOE^JOHN"},
			path: "John_Doe_scan",
			want: pseud("John_Doe_scan", ""),
		},
		{
			name: "multi-token identifier matches a run",
			hdr:  &Header{PatientID: "AB-1234"},
			path: "site_ab_1234/ab/1234x",
			want: pseud("site_ab_1234", "") + "/ab/1234x",
		},
		{
			name: "main word of a several-word name part",
			hdr:  &Header{PatientName: "VAN DER BERG^ANNA"},
			path: "Berg_scans/ct.dcm",
			want: pseud("Berg_scans", "") + "/ct.dcm",
		},
		{
			name: "short identifiers are not looked for",
			hdr:  &Header{PatientName: "LI^WU"},
			path: "li/wu_scan.dcm",
			want: "li/wu_scan.dcm",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newPathMasker("", []*Header{tc.hdr})
			if got := m.rel(tc.path); got != tc.want {
				t.Errorf("rel(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

// TestPathMaskerText checks that a path in a message is masked the same
// way as in a report, and that other words are left alone.
func TestPathMaskerText(t *testing.T) {
	tests := []struct {
		name, msg string
		hdr       *Header
		want      func(m *pathMasker) string
	}{
		{
			name: "path in an error",
			hdr:  &Header{PatientID: "ZZ123456"},
			msg:  "open /data/ZZ123456_x/cut.dcm: truncated",
			want: func(m *pathMasker) string { return "open " + m.rel("/data/ZZ123456_x/cut.dcm") + ": truncated" },
		},
		{
			name: "token inside a word survives",
			hdr:  &Header{PatientName: "dicom"},
			msg:  "pydicom_rtplan_truncated.dcm: unexpected EOF",
			want: func(*pathMasker) string { return "pydicom_rtplan_truncated.dcm: unexpected EOF" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newPathMasker("", []*Header{tc.hdr})
			got := m.text(tc.msg)
			if want := tc.want(m); got != want {
				t.Errorf("text(%q) = %q, want %q", tc.msg, got, want)
			}
			if strings.Contains(strings.ToLower(got), "zz123456") {
				t.Errorf("identifier left in %q", got)
			}
		})
	}
}
