package radfilter

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestShippedRulesFileEqualsDefaults(t *testing.T) {
	b, err := os.ReadFile("../../radmd-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRules("radmd-rules.yaml", b); err != nil {
		t.Fatal(err)
	}
	// Decode over a zero value so that every default must be spelled out.
	var r Rules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if want := DefaultRules(); !reflect.DeepEqual(r, want) {
		t.Errorf("radmd-rules.yaml differs from DefaultRules():\n got %+v\nwant %+v", r, want)
	}
}

func TestParseRules(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, wantErr string
		check               func(Rules) bool
	}{
		{"empty file is defaults", "", "", func(r Rules) bool { return reflect.DeepEqual(r, DefaultRules()) }},
		{"override one field", "dedup:\n  hamming_threshold: 6\n", "", func(r Rules) bool {
			return r.Dedup.HammingThreshold == 6 && r.Dedup.Enabled && r.Text.MinResponseWords == 3
		}},
		{"list replaces", "radiology:\n  keep_modalities: [CT]\n", "", func(r Rules) bool {
			return reflect.DeepEqual(r.Radiology.KeepModalities, []string{"CT"})
		}},
		{"typo", "dedup:\n  treshold: 3\n", "line 2: field treshold not found", nil},
		{"bad policy", "radiology:\n  unknown_modality: maybe\n", "unknown_modality", nil},
		{"bad regexp", "text:\n  boilerplate: ['(']\n", "boilerplate[0]", nil},
		{"threshold range", "leakage:\n  hamming_threshold: 65\n", "outside 0..64", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRules("rules.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "rules.yaml: ") {
					t.Fatalf("err = %v, want one naming the file and containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Errorf("unexpected rules %+v", r)
			}
		})
	}
}
