package main

import (
	"strings"
	"testing"
)

// stream is `go test -json` output of one package with a passing, a
// skipped and a failing test, and of a second package that passed.
const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK"}
{"Action":"run","Package":"example.com/a","Test":"TestGolden"}
{"Action":"output","Package":"example.com/a","Test":"TestGolden","Output":"=== RUN   TestGolden\n"}
{"Action":"output","Package":"example.com/a","Test":"TestGolden","Output":"    golden_test.go:31: dcm2niix not installed (apt-get install dcm2niix)\n"}
{"Action":"output","Package":"example.com/a","Test":"TestGolden","Output":"--- SKIP: TestGolden (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestGolden"}
{"Action":"run","Package":"example.com/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"    bad_test.go:9: want 1, got 2\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestBad"}
{"Action":"output","Package":"example.com/a","Output":"FAIL\texample.com/a\t0.01s\n"}
{"Action":"fail","Package":"example.com/a"}
{"Action":"output","Package":"example.com/b","Output":"ok  \texample.com/b\t0.01s\n"}
{"Action":"pass","Package":"example.com/b"}
`

func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         string
		wantFailed bool
		want, not  []string
	}{
		{"mixed", stream, true,
			[]string{"want 1, got 2", "FAIL\texample.com/a", "ok  \texample.com/b",
				"1 skipped tests", "example.com/a TestGolden: dcm2niix not installed (apt-get install dcm2niix)"},
			[]string{"=== RUN   TestOK"}},
		{"all passed", `{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}` + "\n" + `{"Action":"pass","Package":"p"}` + "\n", false,
			[]string{"ok  \tp"}, []string{"skipped"}},
		{"no test files", `{"Action":"output","Package":"p","Output":"?   \tp\t[no test files]\n"}` + "\n" + `{"Action":"skip","Package":"p"}` + "\n", false,
			[]string{"no test files"}, []string{"skipped"}},
		{"build failure", `{"ImportPath":"p","Action":"build-output","Output":"p/x.go:3:1: syntax error\n"}` + "\n" + `{"ImportPath":"p","Action":"build-fail"}` + "\n", true,
			[]string{"syntax error"}, nil},
	} {
		var out strings.Builder
		failed, err := report(strings.NewReader(tc.in), &out)
		if err != nil || failed != tc.wantFailed {
			t.Errorf("%s: failed %v err %v, want failed %v", tc.name, failed, err, tc.wantFailed)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: missing %q in:\n%s", tc.name, w, out.String())
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out.String(), n) {
				t.Errorf("%s: unexpected %q in:\n%s", tc.name, n, out.String())
			}
		}
	}
}
