package main

import (
	"strings"
	"testing"
)

// TestPlanViews: `medmd plan` on the bundled NIfTI pipeline (6 units, a
// small plan) lists its units by default, one line per shard with
// --shards, and refuses --units with --shards.
func TestPlanViews(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	pipelines := repoFile(t, "pipelines.yaml")
	for _, tc := range []struct {
		name   string
		args   []string
		wantOK bool
		want   []string
	}{
		{"small plan lists units", nil, true,
			[]string{"SHARD        TASK  UNIT", "shard-00002  2     testdata/nifti/small_64D.nii", "nifti-sample: 6 units (810272 bytes) in 3 shards over 3 task(s)"}},
		{"--shards", []string{"--shards"}, true,
			[]string{"SHARD        TASK  UNITS  BYTES   FIRST", "shard-00002  2     2      178752  testdata/nifti/reoriented_anat_moved.nii  testdata/nifti/small_64D.nii"}},
		{"--shards --json", []string{"--shards", "--json"}, true,
			[]string{`{"bytes":158792,"first":"testdata/nifti/anatomical.nii","last":"testdata/nifti/aniso_vox.nii.gz","shard":"shard-00000","task":0,"units":2}`}},
		{"--units with --shards", []string{"--units", "--shards"}, false, []string{"give one of them"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"plan", "nifti-sample", "--tasks", "3", "-f", pipelines}, tc.args...)
			out := medmd(t, dir, tc.wantOK, args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("medmd %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
				}
			}
		})
	}
}
