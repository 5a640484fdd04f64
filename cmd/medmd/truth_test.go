package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the CLI binary and runs it")
	}
}

// medmdExit runs the CLI in dir and returns its exit status, stdout and
// stderr apart.
func medmdExit(t *testing.T, dir string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(medmdBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CI=1")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// TestRunRebuildsDamagedShards: a deleted Parquet part and a flipped Arrow
// byte are both reported by verify (every problem, with the repair
// command) and both rebuilt by a plain rerun, with a third shard whose
// stats file was cut short, after which the corpus verifies and the
// rerun's summary still shows the corpus totals.
func TestRunRebuildsDamagedShards(t *testing.T) {
	skipShort(t)
	pipes := repoFile(t, "pipelines.yaml")
	dir := t.TempDir()
	medmd(t, dir, true, "run", "nifti-sample", "-f", pipes)
	corpus := filepath.Join(dir, "out", "nifti-sample")
	manifest := filepath.Join(corpus, "manifest.json")
	if err := os.Remove(filepath.Join(corpus, "shard-00000.parquet")); err != nil {
		t.Fatal(err)
	}
	arrow := filepath.Join(corpus, "shard-00001.arrow")
	data, err := os.ReadFile(arrow)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x40
	if err := os.WriteFile(arrow, data, 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := medmdExit(t, dir, "", "shards", "verify", manifest)
	for _, want := range []string{"shard-00000.parquet", "shard-00001.arrow"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("verify did not report %s:\n%s", want, stdout)
		}
	}
	if code != 1 || !strings.Contains(stderr, "medmd run nifti-sample") {
		t.Errorf("verify exit %d, want 1 and the repair command:\n%s", code, stderr)
	}

	stats := filepath.Join(corpus, "shard-00002.stats.json")
	if err := os.Truncate(stats, 30); err != nil {
		t.Fatal(err)
	}
	out := medmd(t, dir, true, "run", "nifti-sample", "-f", pipes)
	if !strings.Contains(out, "3 shards built (3 damaged") || !strings.Contains(out, "unreadable shard stats") {
		t.Errorf("rerun did not rebuild the three damaged shards:\n%s", out)
	}
	medmd(t, dir, true, "shards", "verify", manifest)

	out = medmd(t, dir, true, "run", "nifti-sample", "-f", pipes)
	if !strings.Contains(out, "0 shards built") || !strings.Contains(out, "corpus: 6 units (0 quarantined), 6 samples") {
		t.Errorf("clean rerun should build nothing and print the corpus totals:\n%s", out)
	}
}

// failingCorpus writes a pipelines file over one readable NIfTI file and
// two that are not NIfTI, one unit per shard, so two thirds of the corpus
// is quarantined.
func failingCorpus(t *testing.T) (dir, pipes string) {
	t.Helper()
	dir = t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	good, err := os.ReadFile(repoFile(t, "testdata/nifti/anatomical.nii"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "a.nii"), []byte("not a nifti file"), 0o644)
	os.WriteFile(filepath.Join(in, "b.nii"), []byte("not a nifti file either"), 0o644)
	os.WriteFile(filepath.Join(in, "c.nii"), good, 0o644)
	pipes = filepath.Join(dir, "p.yaml")
	os.WriteFile(pipes, []byte(`pipelines:
  - name: bad
    source: {type: nifti, paths: [in]}
    output: {dir: out/bad, shard_units: 1}
    max_failure_fraction: 0.5
`), 0o644)
	return dir, pipes
}

// TestFailureFractionOverCorpus: the quarantined fraction is judged over
// every done shard, so neither a rerun, nor a task whose own units are
// fine, nor the merge can exit 0 for a corpus that failed.
func TestFailureFractionOverCorpus(t *testing.T) {
	skipShort(t)
	t.Run("rerun", func(t *testing.T) {
		dir, pipes := failingCorpus(t)
		for i := range 2 {
			code, stdout, stderr := medmdExit(t, dir, "", "run", "-f", pipes)
			if code != 1 || !strings.Contains(stderr, "2 of 3 units of the corpus quarantined") {
				t.Errorf("run %d: exit %d, want 1 with the corpus counts:\n%s%s", i, code, stdout, stderr)
			}
		}
	})
	t.Run("tasks and merge", func(t *testing.T) {
		dir, pipes := failingCorpus(t)
		for task := range 3 {
			// Task 2's own unit reads fine; the corpus it completes does not.
			code, stdout, stderr := medmdExit(t, dir, "", "run", "-f", pipes, "--task", fmt.Sprint(task), "--tasks", "3")
			if code != 1 {
				t.Errorf("task %d: exit %d, want 1:\n%s%s", task, code, stdout, stderr)
			}
		}
		code, stdout, stderr := medmdExit(t, dir, "", "run", "-f", pipes, "--merge")
		if code != 1 || !strings.Contains(stderr, "2 of 3 units") || !strings.Contains(stdout, "manifest.json") {
			t.Errorf("merge: exit %d, want 1 with the counts and the manifest written:\n%s%s", code, stdout, stderr)
		}
	})
}

// TestRunRefusesNothing: a source that finds no input, a mistyped
// pipeline name and nonsensical worker/task counts all fail with a line
// that says what to fix.
func TestRunRefusesNothing(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	pipes := filepath.Join(dir, "p.yaml")
	os.WriteFile(pipes, []byte(`pipelines:
  - name: empty
    source: {type: nifti, paths: [empty]}
    output: {dir: out/empty}
`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "empty"}, `no inputs found (paths: [empty]; looked for NIfTI`},
		{[]string{"run", "emtpy"}, `no pipeline "emtpy" (did you mean "empty"?)`},
		{[]string{"run", "empty", "--workers", "0"}, "--workers 0: need at least 1"},
		{[]string{"run", "empty", "--workers", "-3"}, "--workers -3: need at least 1"},
		{[]string{"run", "empty", "--tasks", "0"}, "--tasks 0: need at least 1"},
	} {
		code, stdout, stderr := medmdExit(t, dir, "", append(tc.args, "-f", pipes)...)
		if code != 1 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "empty", "manifest.json")); err == nil {
		t.Error("an empty source wrote a manifest")
	}
}

// TestRunReport: --report writes one JSON object with each pipeline's
// counts and the total.
func TestRunReport(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	medmd(t, dir, true, "run", "nifti-sample", "-f", repoFile(t, "pipelines.yaml"), "--report", "run.json")
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Pipelines []struct {
			Pipeline string  `json:"pipeline"`
			Seconds  float64 `json:"seconds"`
			Corpus   struct {
				Units, Samples int
				InputBytes     int64 `json:"input_bytes"`
			} `json:"corpus"`
		} `json:"pipelines"`
		Total struct{ Samples int } `json:"total"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pipelines) != 1 || rep.Pipelines[0].Pipeline != "nifti-sample" || rep.Pipelines[0].Corpus.Samples != 6 ||
		rep.Pipelines[0].Corpus.InputBytes == 0 || rep.Total.Samples != 6 {
		t.Errorf("report:\n%s", b)
	}
}

// TestRunCtrlC interrupts a real `medmd run` (SIGINT, as Ctrl-C sends) once
// its first shard is published: it exits 130 saying the finished shards
// are kept and a rerun resumes, and the rerun completes the corpus.
func TestRunCtrlC(t *testing.T) {
	skipShort(t)
	pipes := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pipes, []byte(fmt.Sprintf(`pipelines:
  - name: slow
    source: {type: nifti, paths: [%s]}
    stages: [{type: resize}]
    output: {dir: out/slow, shard_units: 1}
`, repoFile(t, "testdata/nifti"))), 0o644)
	dir := t.TempDir()
	cmd := exec.Command(medmdBinary(t), "run", "-f", pipes, "--workers", "1")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "out", "slow", "shard-00000.stats.json")
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(first); err == nil {
			break
		}
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if _, serr := os.Stat(filepath.Join(dir, "out", "slow", "manifest.json")); err == nil && serr == nil {
		t.Skip("the run finished before the interrupt landed")
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 || !strings.Contains(stderr.String(), "shards finished so far are kept") ||
		!strings.Contains(stderr.String(), "rerun the same command to resume") {
		t.Fatalf("interrupted run: %v, want exit 130 and what is kept:\n%s", err, stderr.String())
	}
	medmd(t, dir, true, "run", "-f", pipes, "--workers", "1")
	medmd(t, dir, true, "shards", "verify", filepath.Join(dir, "out", "slow"))
}

// TestGeneratePipesIntoScore: `medmd generate … | medmd radbench score … -`
// works in a pipe, because generate writes nothing but predictions on
// stdout (the GoMLX backend's own line goes to stderr).
func TestGeneratePipesIntoScore(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	medmd(t, dir, true, "run", "train-sample", "-f", repoFile(t, "pipelines.yaml"))
	split := filepath.Join("out", "train-sample", "manifest.json")
	// The old spellings (--manifest, --out) still work, with a note.
	if out := medmd(t, dir, true, "train", "--manifest", split, "--steps", "1", "--out", "out/train"); !strings.Contains(out, "deprecated") {
		t.Errorf("train --manifest/--out without a deprecation note:\n%s", out)
	}
	// A resume keeps the checkpoint's schedule: another --steps is refused
	// with the fix; the same command reruns (nothing left to train).
	if code, _, stderr := medmdExit(t, dir, "", "train", split, "--steps", "2", "-o", "out/train"); code == 0 || !strings.Contains(stderr, "--init") {
		t.Errorf("train resumed with another --steps: exit %d\n%s", code, stderr)
	}
	medmd(t, dir, true, "train", split, "--steps", "1", "-o", "out/train")

	code, stdout, stderr := medmdExit(t, dir, "", "generate", "--checkpoint", "out/train", split, "--max-new-tokens", "4")
	if code != 0 {
		t.Fatalf("generate: exit %d\n%s", code, stderr)
	}
	for i, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var p struct{ ID, Prediction *string }
		if err := json.Unmarshal([]byte(line), &p); err != nil || p.ID == nil || p.Prediction == nil {
			t.Fatalf("generate's stdout line %d is not a prediction: %q", i+1, line)
		}
	}
	pipe := exec.Command("bash", "-o", "pipefail", "-c", fmt.Sprintf(
		"%q generate --checkpoint out/train %q --max-new-tokens 4 | %q radbench score %q -",
		medmdBinary(t), split, medmdBinary(t), split))
	pipe.Dir = dir
	pipe.Env = append(os.Environ(), "CI=1")
	out, err := pipe.Output()
	if err != nil || !strings.Contains(string(out), "| vqa |") {
		t.Errorf("generate | score -: %v\n%s", err, out)
	}
}
