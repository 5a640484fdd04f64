package normalize

import (
	"strings"
	"testing"
)

func TestTermList(t *testing.T) {
	tl := DefaultTerms()
	if tl.Len() < 100 {
		t.Fatalf("default list has %d terms", tl.Len())
	}
	got := tl.Find("Small left pleural effusion; Ground glass opacity in the lung.")
	for _, w := range []string{"pleural effusion", "ground glass opacity", "lung"} {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	if got["effusion"] {
		t.Errorf("effusion counted inside pleural effusion")
	}
	if _, err := ParseTermList("# only comments\n"); err == nil {
		t.Error("empty list accepted")
	}
}

// TestTermSpans: Spans covers what Find finds, at byte offsets of the
// text as written (case kept).
func TestTermSpans(t *testing.T) {
	tl := DefaultTerms()
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"Small left Pleural Effusion; no pneumothorax. Cardiomegaly.", []string{"Pleural Effusion", "pneumothorax", "Cardiomegaly"}},
		{"Ground-glass opacity in the LUNG", []string{"Ground-glass opacity", "LUNG"}},
		{"", nil},
		{"nothing to see", nil},
	} {
		var got []string
		for _, s := range tl.Spans(tc.text) {
			got = append(got, tc.text[s[0]:s[1]])
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Spans(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
