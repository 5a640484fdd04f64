package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// lintSource is a source registered only in tests, so config linting can be
// checked against a known spec.
type lintSource struct{}

func (lintSource) Plan(context.Context) ([]Unit, error)                { return nil, nil }
func (lintSource) Read(context.Context, Unit) ([]shards.Sample, error) { return nil, nil }

func init() {
	RegisterSource(Spec{Name: "lint-test", Summary: "test source", Fields: []Field{
		{Name: "paths", Type: TypeStrings, Required: true, Description: "inputs"},
		{Name: "threshold", Type: TypeFloat, Default: 0.5},
		{Name: "mode", Type: TypeString, Default: "first", Enum: []string{"first", "all"}},
		{Name: "timeout", Type: TypeDuration, Default: "30s"},
		{Name: "limit", Type: TypeInt},
	}}, func(Params, string) (Source, error) { return lintSource{}, nil })
}

func TestParseConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings, one per expected problem, in order
	}{
		{"unknown field with suggestion", `
pipelines:
  - name: a
    source:
      type: lint-test
      paths: [x]
      treshold: 0.2
`, []string{`p.yaml:7:7: source "lint-test": unknown field "treshold" (did you mean "threshold"?)`}},
		{"bad values", `
pipelines:
  - name: a
    source: {type: lint-test, paths: [x], threshold: high, mode: some, timeout: soon, limit: 1.5}
`, []string{`field "threshold": want a number, got "high"`, `field "mode": "some" is not one of first, all`,
			`field "timeout": want a duration`, `field "limit": want an integer`}},
		{"unknown source and missing required", `
pipelines:
  - name: a
    source: {type: lint-tset}
  - name: b
    source: {type: lint-test}
    output: {dri: x}
`, []string{`unknown source type "lint-tset" (did you mean "lint-test"?)`, `missing required field "paths"`,
			`unknown field "dri" (did you mean "dir"?)`}},
		{"top level", `
version: 2
pipelins: []
`, []string{`3:1: top level: unknown field "pipelins" (did you mean "pipelines"?)`, `version: want 1`, `missing "pipelines" list`}},
		{"credentials in URLs", `
pipelines:
  - name: a
    source: {type: lint-test, paths: [x, "s3://AKIAEXAMPLE:hunter2@scans/ct"]}
    output: {dir: "s3://corpus/a?endpoint=http://minio:hunter2@127.0.0.1:9000"}
`, []string{`field "paths": storage: root s3://xxxxx@scans/ct: credentials in a URL are not read`,
			`output: dir: storage: root s3://corpus/a?…: credentials in a URL are not read`}},
		{"credentials in a URL that does not parse, and a URL of another scheme", `
pipelines:
  - name: a
    source: {type: lint-test, paths: ["s3://AKIAEXAMPLE:hunter2/x+y@scans/ct", "mailto://someone@example.org"]}
`, []string{`field "paths": storage: root s3://xxxxx@scans/ct: credentials in a URL are not read`}},
		{"duplicate names", `
pipelines:
  - {name: a, source: {type: lint-test, paths: [x]}}
  - {name: a, source: {type: lint-test, paths: [x]}}
`, []string{`pipeline "a" declared twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("p.yaml", []byte(tt.yaml))
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("want a LintError, got %v", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing problem %q in:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("a problem shows a password:\n%s", msg)
			}
			if len(le.Problems) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(le.Problems), len(tt.want), msg)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("p.yaml", []byte(`
version: 1
pipelines:
  - name: a
    source: {type: lint-test, paths: one}
    output: {shard_units: 4, max_shard_bytes: 64MiB}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pipelines[0]
	if got := p.Source.Params.Strings("paths"); len(got) != 1 || got[0] != "one" {
		t.Errorf("paths = %v", got)
	}
	if p.Source.Params.Float("threshold") != 0.5 || p.Source.Params.String("mode") != "first" {
		t.Errorf("defaults not applied: %v", p.Source.Params)
	}
	if p.Output.ShardUnits != 4 || p.Output.MaxShardBytes != 64<<20 || p.Output.Dir != "out/a" {
		t.Errorf("output = %+v", p.Output)
	}
	if p.MaxFailureFraction != DefaultFailureFraction {
		t.Errorf("max_failure_fraction = %v", p.MaxFailureFraction)
	}
	h1 := p.Hash()
	p.Output.Dir = "elsewhere"
	if p.Hash() != h1 {
		t.Error("output dir must not change the config hash")
	}
	p.Output.ShardUnits = 5
	if p.Hash() == h1 {
		t.Error("shard sizing must change the config hash")
	}
}

func TestPackShards(t *testing.T) {
	units := make([]Unit, 10)
	for i := range units {
		units[i].Bytes = 10
	}
	units[5].Bytes = 1000 // a big unit gets a shard of its own
	got := packShards(units, 3, 100)
	want := [][2]int{{0, 3}, {3, 5}, {5, 6}, {6, 9}, {9, 10}}
	if len(got) != len(want) {
		t.Fatalf("got %d shards %+v, want %v", len(got), got, want)
	}
	for i, s := range got {
		if s.First != want[i][0] || s.End != want[i][1] || s.Name != shards.ShardName(i) {
			t.Errorf("shard %d = %+v, want %v", i, s, want[i])
		}
	}
}

// TestParseConfigSyntaxLine checks that a YAML syntax error names the line
// the mistake is on, where yaml.v3's own message names the line before it
// or the start of the enclosing block.
func TestParseConfigSyntaxLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the whole error
	}{
		{"unclosed flow list", "pipelines:\n  - name: a\n    source:\n      type: lint-test\n      paths: [x\n    stages: []\n",
			"p.yaml:5: YAML syntax: did not find expected ',' or ']'"},
		{"tab in indentation", "pipelines:\n  - name: a\n    source:\n      type: lint-test\n      paths: [x]\n  \tstages: []\n",
			"p.yaml:6: YAML syntax: found character that cannot start any token"},
		{"key indented too far", "pipelines:\n  - name: a\n    source:\n      type: lint-test\n      paths: [x]\n     mode: all\n",
			"p.yaml:6: YAML syntax: did not find expected key"},
		{"key without colon", "pipelines:\n  - name: a\n    source:\n      type: lint-test\n      paths: [x]\n    stages\n    output: y\n",
			"p.yaml:6: YAML syntax: could not find expected ':'"},
		{"unclosed quote", "pipelines:\n  - name: a\n    source:\n      type: lint-test\n      paths: [x]\n    output: \"y\n",
			"p.yaml:6: YAML syntax: found unexpected end of stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("p.yaml", []byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}
