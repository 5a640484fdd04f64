package perf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLayering keeps the dependency rules of the layout: (a) the perf
// harness is reached only from cmd/ — no library package (nor its tests)
// depends on internal/perf, so no library carries measurement code,
// baseline scripts or fixtures; (b) plumbing under internal/ never imports
// upward into the stages (ingest, normalize, train, bench), except the
// perf harness, which measures them.
func TestLayering(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH")
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports,Module", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.Bytes())
	}
	type pkg struct {
		ImportPath                               string
		Imports, Deps, TestImports, XTestImports []string
		Module                                   *struct{ Path string }
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 || pkgs[0].Module == nil {
		t.Fatalf("go list found no packages of the module")
	}
	mod := pkgs[0].Module.Path + "/"
	under := func(path, dir string) bool {
		return path == mod+dir || strings.HasPrefix(path, mod+dir+"/")
	}
	for _, p := range pkgs {
		if under(p.ImportPath, "cmd") || under(p.ImportPath, "internal/perf") {
			continue
		}
		for _, d := range slices.Concat(p.Deps, p.TestImports, p.XTestImports) {
			if under(d, "internal/perf") {
				t.Errorf("%s depends on %s: only cmd/ may use the perf harness", p.ImportPath, d)
			}
		}
		if !under(p.ImportPath, "internal") {
			continue
		}
		for _, imp := range p.Imports {
			for _, stage := range []string{"ingest", "normalize", "train", "bench"} {
				if under(imp, stage) {
					t.Errorf("%s imports %s: internal/ plumbing must not import the stages", p.ImportPath, imp)
				}
			}
		}
	}
}
