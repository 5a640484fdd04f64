package datasets

import (
	"strings"
	"testing"
)

func TestPseudonymisePath(t *testing.T) {
	tests := []struct{ in, keep, gone string }{
		{"files/p10/p10000032/s50414267/02aa804e.jpg", "s50414267/02aa804e.jpg", "p10000032"},
		{"train/patient00001/study1/view1_frontal.jpg", "study1/view1_frontal.jpg", "patient00001"},
		{"images_001/images/00000001_000.png", "images_001/images/pid-", "00000001"},
		{"SLAKE/imgs/xmlab1/source.jpg", "SLAKE/imgs/xmlab1/source.jpg", ""},
	}
	for _, tt := range tests {
		got := pseudonymisePath(tt.in)
		if !strings.Contains(got, tt.keep) || (tt.gone != "" && strings.Contains(got, tt.gone)) {
			t.Errorf("pseudonymisePath(%q) = %q: want %q kept and %q gone", tt.in, got, tt.keep, tt.gone)
		}
		if pseudonymisePath(tt.in) != got {
			t.Errorf("not deterministic for %q", tt.in)
		}
	}
}
