package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryVerbHasExamples walks the whole command tree: every command,
// group or verb, shows an Examples section in its --help.
func TestEveryVerbHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if strings.TrimSpace(sub.Example) == "" {
				t.Errorf("%q has no Example", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(rootCmd)
}

// TestUsability: --version, one component's reference, DICOM folders in
// inspect, a folder without DICOM in dicom2nii, a shard part in shards
// head, and a non-manifest file, each as a user meets them.
func TestUsability(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "notdicom"), 0o755)
	os.WriteFile(filepath.Join(dir, "notdicom", "notes.txt"), []byte("not an image"), 0o644)
	medmd(t, dir, true, "run", "nifti-sample", "-f", repoFile(t, "pipelines.yaml"))
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"version", []string{"--version"}, 0, "medmd "},
		{"one component", []string{"components", "resize"}, 0, "#### `resize` (stage)"},
		{"component typo", []string{"components", "resiz"}, 1, `no source or stage "resiz" (did you mean "resize"?)`},
		{"inspect folder", []string{"inspect", repoFile(t, "testdata/dicom")}, 0, ": series "},
		{"dicom2nii without DICOM", []string{"dicom2nii", "notdicom", "nii"}, 1, "no DICOM series found"},
		{"head of a part", []string{"shards", "head", "out/nifti-sample/shard-00001.parquet", "--json"}, 0, `"id"`},
		{"head of a non-manifest", []string{"shards", "head", "notdicom/notes.txt"}, 1, "is not a corpus manifest"},
		{"deprecated flag", []string{"radbench", "check-leakage", "--threshold", "5", "out/nifti-sample", "out/nifti-sample"}, 2, "use --near-threshold"},
		{"montage without --id", []string{"montage", "out/nifti-sample/manifest.json", "-o", "m.png"}, 1, "medmd shards head out/nifti-sample/manifest.json lists the ids"},
	} {
		code, stdout, stderr := medmdExit(t, dir, "", tc.args...)
		if code != tc.wantCode || !strings.Contains(stdout+stderr, tc.want) {
			t.Errorf("%s: exit %d (want %d), want %q in:\n%s%s", tc.name, code, tc.wantCode, tc.want, stdout, stderr)
		}
	}
}
