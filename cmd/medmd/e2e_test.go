package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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
		t.Skip("skipped in -short mode: builds the CLI binary and runs it")
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
		t.Skip("skipped in -short mode: builds the CLI binary and runs it")
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
	// A value the spec's types allow but the stage rejects is reported with
	// its position too, before any pipeline runs.
	os.WriteFile(bad, []byte("pipelines:\n  - name: ok\n    source: {type: nifti, paths: [x]}\n  - name: x\n    source: {type: nifti, paths: [x]}\n    stages:\n      - {type: intensity, percentile_lo: 99, percentile_hi: 1}\n"), 0o644)
	out = medmd(t, dir, false, "run", "-f", bad)
	if !strings.Contains(out, `p.yaml:7:9: pipeline "x": stage 0 "intensity"`) || strings.Contains(out, "ok: task") {
		t.Errorf("stage error without its position, or a pipeline ran first:\n%s", out)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestRunSurvivesSIGKILL kills a real `medmd run` process (no chance to
// clean up) as soon as its first shard is published, reruns it, and
// expects the same bytes as an uninterrupted run.
func TestRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the CLI binary and runs it")
	}
	pipes := filepath.Join(t.TempDir(), "p.yaml")
	cfg := fmt.Sprintf(`pipelines:
  - name: kill
    source: {type: nifti, paths: [%s], volumes_4d: all}
    stages: [{type: resize}, {type: intensity, dtype: float32}]
    output: {dir: out/kill, shard_units: 1}
`, repoFile(t, "testdata/nifti"))
	if err := os.WriteFile(pipes, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	medmd(t, ref, true, "run", "-f", pipes, "--workers", "1")

	dir := t.TempDir()
	cmd := exec.Command(medmdBinary(t), "run", "-f", pipes, "--workers", "1")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "out", "kill", "shard-00000.stats.json")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(first); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(dir, "out", "kill", "manifest.json")); err == nil {
		t.Log("the run finished before the kill landed; the rerun below still checks resumption")
	} else {
		done, _ := filepath.Glob(filepath.Join(dir, "out", "kill", "*.stats.json"))
		t.Logf("killed with %d shard(s) done", len(done))
	}
	medmd(t, dir, true, "run", "-f", pipes, "--workers", "1")
	want, got := publishedFiles(t, filepath.Join(ref, "out", "kill")), publishedFiles(t, filepath.Join(dir, "out", "kill"))
	if len(want) == 0 {
		t.Fatal("reference run published nothing")
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs after kill + rerun", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected file after kill + rerun: %s", name)
		}
	}
}

// publishedFiles maps the shard, stats and manifest files of a corpus
// folder to their bytes.
func publishedFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".arrow") || strings.HasSuffix(n, ".parquet") || strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".jsonl")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}
