package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// A pipeline ending in model_input records the geometry in its manifest;
// `medmd train` with another preset stops at start-up with one line that
// names the fix (and writes no checkpoint), and with that preset it
// trains.
func TestTrainChecksModelInput(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds the CLI binary and runs it")
	}
	dir := t.TempDir()
	pipes := filepath.Join(dir, "p.yaml")
	yaml := fmt.Sprintf(`version: 1
pipelines:
  - name: tiny-input
    source: {type: nifti, paths: [%q], modality: MR}
    stages:
      - {type: model_input, preset: tiny}
    output: {dir: out/tiny-input}
`, repoFile(t, "testdata/nifti"))
	if err := os.WriteFile(pipes, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	medmd(t, dir, true, "run", "tiny-input", "-f", pipes)
	manifest := filepath.Join(dir, "out", "tiny-input", "manifest.json")
	m, err := shards.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if want := shards.ModelInput(normalize.ModelInputPresets["tiny"]); m.ModelInput == nil || *m.ModelInput != want {
		t.Fatalf("manifest records model input %+v, want %+v", m.ModelInput, want)
	}

	out := medmd(t, dir, false, "train", manifest, "--preset", "small", "-o", "run-small")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "made for preset tiny") {
			line = l
		}
	}
	for _, w := range []string{"train with --preset tiny", "`model_input` stage to `preset: small`"} {
		if !strings.Contains(line, w) {
			t.Errorf("no line with %q and %q in:\n%s", "made for preset tiny", w, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "run-small", "latest")); err == nil {
		t.Errorf("a refused run wrote a checkpoint")
	}

	out = medmd(t, dir, true, "train", manifest, "--preset", "tiny", "--steps", "1", "-o", "run-tiny")
	if _, err := os.Stat(filepath.Join(dir, "run-tiny", "ckpt-00000001")); err != nil {
		t.Errorf("no checkpoint after one step: %v\n%s", err, out)
	}
}
