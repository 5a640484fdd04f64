// Command testreport reads `go test -json` on stdin and prints what plain
// `go test` prints (package results, the output of failing tests), then a
// list of every skipped test with its reason: when a reference tool could
// not be installed, the comparison tests that need it skip, and the end of
// `make test` says which and why instead of passing in silence.
//
// It exits 1 when a test or package failed, so `make test` fails too.
//
//	go test -json ./... | go run ./internal/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output events
	Test       string
	Output     string
}

// skip is one skipped test and the lines it logged.
type skip struct {
	pkg, test, reason string
}

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report copies the stream's results to w and returns whether anything
// failed.
func report(r io.Reader, w io.Writer) (bool, error) {
	logs := map[string][]string{} // package + test → output lines
	var skips []skip
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints some errors (a package that does not build
			// before test2json starts) as plain text.
			fmt.Fprintln(w, sc.Text())
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			// -json runs test binaries verbosely; plain go test does not
			// print their closing PASS.
			if e.Output != "PASS\n" {
				fmt.Fprint(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		case e.Action == "output":
			logs[key] = append(logs[key], e.Output)
		case e.Action == "fail":
			failed = true
			fmt.Fprint(w, strings.Join(logs[key], ""))
			delete(logs, key)
		case e.Action == "skip" && e.Test == "":
			// A package-level skip is a package without test files, not a
			// test that could not check something.
			delete(logs, key)
		case e.Action == "skip":
			skips = append(skips, skip{e.Package, e.Test, reason(logs[key])})
			delete(logs, key)
		case e.Action == "pass":
			delete(logs, key)
		}
	}
	if err := sc.Err(); err != nil {
		return failed, err
	}
	if len(skips) == 0 {
		return failed, nil
	}
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].pkg != skips[j].pkg {
			return skips[i].pkg < skips[j].pkg
		}
		return skips[i].test < skips[j].test
	})
	fmt.Fprintf(w, "\n%d skipped tests (a missing reference tool or fixture; see each reason):\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
	}
	return failed, nil
}

// reason is what a skipped test logged, without test2json's framing lines
// and the file:line prefix of t.Skip.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		if i := strings.Index(l, ": "); i > 0 && strings.Contains(l[:i], ".go:") {
			l = l[i+2:]
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}
