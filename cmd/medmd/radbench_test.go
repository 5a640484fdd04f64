package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/shards"
)

// TestRadMDRadBenchCLI drives the verbs as a user would: build RadBench,
// filter RadMD against its test splits, check leakage both ways (exit 0,
// then exit 2 on the unfiltered corpus) and score perfect predictions.
func TestRadMDRadBenchCLI(t *testing.T) {
	dir := t.TempDir()
	if _, err := shards.WriteCorpus(filepath.Join(dir, "medmd"), "medmd-test", "cfg", shards.SamplesOf(benchtest.MedMD(10)), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out := medmd(t, dir, true, "radbench", "build", "medmd/manifest.json", "rb", "--test", "0.2", "--val", "0.1")
	if !strings.Contains(out, "| vqa |") {
		t.Errorf("build output:\n%s", out)
	}
	var tests []string
	for _, task := range []string{"modality", "diagnosis", "vqa", "report", "rationale"} {
		tests = append(tests, filepath.Join("rb", task, "test", "manifest.json"))
	}
	args := []string{"radmd", "medmd/manifest.json", "radmd"}
	for _, m := range tests {
		args = append(args, "--test-manifest", m)
	}
	if out := medmd(t, dir, true, args...); !strings.Contains(out, "leak-group") || !strings.Contains(out, "not-radiology") {
		t.Errorf("radmd output:\n%s", out)
	}
	for _, f := range []string{"radmd/manifest.json", "radmd/reports/exclusions.parquet", "radmd/reports/summary.md", "radmd/reports/summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// Only shards are Parquet files at the corpus's top level, so a shard
	// glob ('radmd/*.parquet') never meets the report's other schema.
	if pq, _ := filepath.Glob(filepath.Join(dir, "radmd", "*.parquet")); len(pq) == 0 {
		t.Error("no shard Parquet parts in radmd/")
	} else {
		for _, p := range pq {
			if !strings.HasPrefix(filepath.Base(p), "shard-") {
				t.Errorf("%s matches the shard glob", p)
			}
		}
	}
	// Reruns of the walk-through: the same command is up to date, other
	// flags need --force.
	if out := medmd(t, dir, true, args...); !strings.Contains(out, "is up to date") {
		t.Errorf("radmd rerun:\n%s", out)
	}
	if out := medmd(t, dir, false, "radmd", "medmd/manifest.json", "radmd"); !strings.Contains(out, "--force") {
		t.Errorf("radmd rerun with other rules:\n%s", out)
	}
	medmd(t, dir, true, append(args, "--force")...)
	if out := medmd(t, dir, true, "radbench", "build", "medmd/manifest.json", "rb", "--test", "0.2", "--val", "0.1"); !strings.Contains(out, "is up to date") {
		t.Errorf("radbench build rerun:\n%s", out)
	}
	if out := medmd(t, dir, false, "radbench", "build", "medmd/manifest.json", "rb"); !strings.Contains(out, "--force") {
		t.Errorf("radbench build rerun with other flags:\n%s", out)
	}
	medmd(t, dir, true, "radbench", "build", "medmd/manifest.json", "rb", "--test", "0.2", "--val", "0.1", "--force")
	medmd(t, dir, true, append([]string{"radbench", "check-leakage", "radmd/manifest.json"}, tests...)...)

	cmd := exec.Command(medmdBinary(t), append([]string{"radbench", "check-leakage", "--json", "medmd/manifest.json"}, tests...)...)
	cmd.Dir = dir
	b, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("check-leakage on unfiltered MedMD: %v, want exit status 2", err)
	}
	var rep struct {
		SharedGroups int `json:"shared_groups"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.SharedGroups == 0 {
		t.Errorf("leak report %s (%v)", b, err)
	}

	// Perfect predictions for the vqa test split score 1.
	m, err := shards.ReadManifest(filepath.Join(dir, tests[2]))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for s, err := range m.Iter(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		l, _ := json.Marshal(map[string]string{"id": s.ID, "prediction": s.Response})
		lines = append(lines, string(l))
	}
	os.WriteFile(filepath.Join(dir, "pred.jsonl"), []byte(strings.Join(lines, "\n")), 0o644)
	out = medmd(t, dir, true, "radbench", "score", "--json", tests[2], "pred.jsonl")
	var ts struct {
		Task    string
		Missing int
		Metrics map[string]float64
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &ts); err != nil || ts.Task != "vqa" || ts.Metrics["accuracy"] != 1 || ts.Missing != 0 {
		t.Errorf("score: %s (%v)", out, err)
	}
	if out := medmd(t, dir, false, "radbench", "score", tests[2], "nope.jsonl"); !strings.Contains(out, "nope.jsonl") {
		t.Errorf("missing predictions file: %s", out)
	}

	// '-' reads the predictions from stdin; a file of the wrong split, an
	// empty split and a partial file fail with counts.
	all := strings.Join(lines, "\n")
	for _, tc := range []struct {
		name, split, stdin string
		extra              []string
		wantCode           int
		want               string
	}{
		{"stdin", tests[2], all, nil, 0, "| vqa |"},
		{"wrong split", tests[0], all, nil, 1, "none of its"},
		{"partial", tests[2], lines[0], nil, 1, "pass --allow-missing"},
		{"partial allowed", tests[2], lines[0], []string{"--allow-missing"}, 0, "| vqa |"},
	} {
		if len(lines) < 2 {
			t.Fatalf("the vqa test split has %d samples; the cases need 2", len(lines))
		}
		code, stdout, stderr := medmdExit(t, dir, tc.stdin, append([]string{"radbench", "score", tc.split, "-"}, tc.extra...)...)
		if code != tc.wantCode || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("%s: exit %d (want %d), want %q in:\n%s%s", tc.name, code, tc.wantCode, tc.want, stdout, stderr)
		}
	}
}
