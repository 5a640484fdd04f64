package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// medmdBinary builds the CLI once per test binary.
func medmdBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "medmd-e2e-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "medmd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// medmd runs the CLI in dir and returns stdout; stderr is shown on failure.
func medmd(t *testing.T, dir string, wantOK bool, args ...string) string {
	t.Helper()
	cmd := exec.Command(medmdBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if (err == nil) != wantOK {
		t.Fatalf("medmd %s: err = %v (want ok=%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, wantOK, stdout.String(), stderr.String())
	}
	return stdout.String() + stderr.String()
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestRunSampleCorpus is the README's first command end to end: the bundled
// nifti pipeline builds a corpus that verifies, fails verification after a
// one-byte flip, and comes out identical when built as three tasks and
// merged.
func TestRunSampleCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	pipes := repoFile(t, "pipelines.yaml")
	one := t.TempDir()
	out := medmd(t, one, true, "run", "nifti-sample", "-f", pipes)
	if !strings.Contains(out, "nifti-sample: task 0/1") || !strings.Contains(out, "manifest.json") {
		t.Fatalf("run printed:\n%s", out)
	}
	manifest := filepath.Join(one, "out", "nifti-sample", "manifest.json")
	medmd(t, one, true, "shards", "verify", manifest)

	three := t.TempDir()
	for _, task := range []string{"0", "1", "2"} {
		medmd(t, three, true, "run", "nifti-sample", "-f", pipes, "--task", task, "--tasks", "3")
	}
	medmd(t, three, true, "run", "nifti-sample", "-f", pipes, "--merge")
	a, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(three, "out", "nifti-sample", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("manifest of --tasks 3 + merge differs from --tasks 1:\n%s\nvs\n%s", a, b)
	}

	// A rerun builds nothing.
	if out := medmd(t, one, true, "run", "nifti-sample", "-f", pipes); !strings.Contains(out, "0 shards built") {
		t.Errorf("rerun rebuilt shards:\n%s", out)
	}

	// Flip one byte of a shard: verify must fail and name the file.
	shard := filepath.Join(one, "out", "nifti-sample", "shard-00000.arrow")
	data, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(shard, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := medmd(t, one, false, "shards", "verify", manifest); !strings.Contains(out, "shard-00000.arrow") {
		t.Errorf("verify after a flip did not name the shard:\n%s", out)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the CLI")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "p.yaml")
	os.WriteFile(bad, []byte("pipelines:\n  - name: x\n    source: {type: nifti, pahts: [a]}\n"), 0o644)
	out := medmd(t, dir, false, "run", "-f", bad)
	for _, want := range []string{`p.yaml:3:27: source "nifti": unknown field "pahts" (did you mean "paths"?)`, `missing required field "paths"`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)
