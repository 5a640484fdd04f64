package bench_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/bench"
	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/shards"
)

func writeCorpus(t testing.TB, dir string, ss []shards.Sample) string {
	t.Helper()
	if _, err := shards.WriteCorpus(dir, "medmd-test", "cfg", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 32}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, shards.ManifestFile)
}

func readAll(t testing.TB, manifest string) []shards.Sample {
	t.Helper()
	m, err := shards.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var out []shards.Sample
	for s, err := range m.Iter(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range s.Images {
			s.Images[i].Voxels = bytes.Clone(s.Images[i].Voxels)
		}
		out = append(out, s)
	}
	return out
}

func treeFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuildIsDeterministicAndGroupAware(t *testing.T) {
	tmp := t.TempDir()
	in := writeCorpus(t, filepath.Join(tmp, "medmd"), benchtest.MedMD(40))
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	rep, err := bench.Build(context.Background(), in, a, bench.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bench.Build(context.Background(), in, b, bench.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	fa, fb := treeFiles(t, a), treeFiles(t, b)
	if len(fa) != len(fb) || len(fa) < 1+3*len(bench.Tasks)*3 {
		t.Fatalf("%d vs %d files", len(fa), len(fb))
	}
	for name, x := range fa {
		if !bytes.Equal(x, fb[name]) {
			t.Errorf("%s differs between two builds", name)
		}
	}
	// A rerun into the same folder reuses the same build, refuses one of
	// other parameters, and replaces it with Force, byte for byte.
	for _, tc := range []struct {
		name         string
		opts         bench.BuildOptions
		wantErr      bool
		wantUpToDate bool
	}{
		{"same", bench.BuildOptions{}, false, true},
		{"other seed", bench.BuildOptions{Seed: "other"}, true, false},
		{"other seed forced", bench.BuildOptions{Seed: "other", Force: true}, false, false},
		{"back, forced", bench.BuildOptions{Force: true}, false, false},
	} {
		r, err := bench.Build(context.Background(), in, a, tc.opts)
		if (err != nil) != tc.wantErr || (err == nil && r.UpToDate != tc.wantUpToDate) {
			t.Errorf("%s: err %v, want error %v; up to date %v", tc.name, err, tc.wantErr, r != nil && r.UpToDate)
		}
	}
	for name, x := range treeFiles(t, a) {
		if !bytes.Equal(x, fb[name]) {
			t.Errorf("%s differs after a forced rebuild", name)
		}
	}

	splitOfGroup := map[string]string{}
	perTaskSplit := map[string]map[string]int{}
	for _, task := range bench.Tasks {
		perTaskSplit[task] = map[string]int{}
		for _, sp := range bench.Splits {
			for _, s := range readAll(t, filepath.Join(a, rep.Manifests[task][sp])) {
				if s.Task != task || s.Split != sp {
					t.Fatalf("%s in %s/%s has task %s split %q", s.ID, task, sp, s.Task, s.Split)
				}
				if prev, ok := splitOfGroup[s.Group]; ok && prev != sp {
					t.Errorf("group %s is in %s and %s", s.Group, prev, sp)
				}
				splitOfGroup[s.Group] = sp
				// Planted samples (their own small stratum, or joined to patient 0) aside.
				if planted := map[string]bool{"re-export": true, "sc-1": true, "short-1": true, "de-1": true}; !planted[s.Group] {
					perTaskSplit[task][sp]++
				}
			}
		}
	}
	// 40 patients/cases per source, stratified: exactly 4 test and 4 val
	// groups each (VQA has two questions per case).
	for task, want := range map[string]int{"report": 4, "modality": 4, "rationale": 4, "diagnosis": 4, "vqa": 8} {
		if got := perTaskSplit[task]; got["test"] != want || got["val"] != want {
			t.Errorf("%s: %v, want %d test and val", task, got, want)
		}
	}
}

func TestBuildFractionsAndSeed(t *testing.T) {
	tmp := t.TempDir()
	in := writeCorpus(t, filepath.Join(tmp, "medmd"), benchtest.MedMD(20))
	rep, err := bench.Build(context.Background(), in, filepath.Join(tmp, "o1"), bench.BuildOptions{Test: 0.25, Val: 0.05, Seed: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Counts["diagnosis"]["test"]["chestx-ray14"]; got != 5 {
		t.Errorf("test fraction 0.25 of 20 groups gave %d", got)
	}
	if got := rep.Counts["diagnosis"]["val"]["chestx-ray14"]; got != 1 {
		t.Errorf("val fraction 0.05 of 20 groups gave %d", got)
	}
	for _, bad := range []bench.BuildOptions{{Test: 0.7, Val: 0.5}, {Test: -0.1}} {
		if _, err := bench.Build(context.Background(), in, filepath.Join(tmp, "bad"), bad); err == nil {
			t.Errorf("fractions %+v accepted", bad)
		}
	}
}

// TestBuildJoinsGroupsSharingAnImage: two patients whose studies hold the
// same (or a re-encoded) image always land in the same split.
func TestBuildJoinsGroupsSharingAnImage(t *testing.T) {
	tmp := t.TempDir()
	ss := benchtest.MedMD(30)
	var extra []shards.Sample
	for _, s := range ss {
		if s.Task != shards.TaskReport || s.Source != "dicom" {
			continue
		}
		c := s
		c.ID, c.Group = s.ID+"-copy", "copy-of-"+s.Group
		im := c.Images[0]
		im.Voxels = bytes.Clone(im.Voxels)
		for i := 0; i+1 < len(im.Voxels); i += 2 { // re-encoded brighter
			binary.LittleEndian.PutUint16(im.Voxels[i:], binary.LittleEndian.Uint16(im.Voxels[i:])+20)
		}
		c.Images = []shards.Image{im}
		extra = append(extra, c)
	}
	in := writeCorpus(t, filepath.Join(tmp, "medmd"), append(ss, extra...))
	out := filepath.Join(tmp, "rb")
	rep, err := bench.Build(context.Background(), in, out, bench.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.LinkedGroups < len(extra) {
		t.Errorf("linked %d groups, planted %d", rep.LinkedGroups, len(extra))
	}
	split := map[string]string{}
	for _, sp := range bench.Splits {
		for _, s := range readAll(t, filepath.Join(out, rep.Manifests["report"][sp])) {
			split[s.Group] = sp
		}
	}
	for _, c := range extra {
		orig := c.Group[len("copy-of-"):]
		if split[c.Group] != split[orig] {
			t.Errorf("%s in %s but its copy in %s", orig, split[orig], split[c.Group])
		}
	}
}

func TestAssignSplitsUnstratifiedIsPerUnit(t *testing.T) {
	strata := map[string]string{}
	for i := range 1000 {
		strata[string(rune('A'+i%26))+string(rune(i))] = "s"
	}
	a := bench.AssignSplits("seed", 0.1, 0.1, false, strata)
	// Adding units never moves existing ones.
	strata["new-unit"] = "s"
	b := bench.AssignSplits("seed", 0.1, 0.1, false, strata)
	n := 0
	for u, sp := range a {
		if b[u] != sp {
			t.Fatalf("%s moved from %s to %s", u, sp, b[u])
		}
		if sp == "test" {
			n++
		}
	}
	if n < 60 || n > 140 {
		t.Errorf("%d of 1000 units in test at fraction 0.1", n)
	}
}

func TestAssignSplitsStratified(t *testing.T) {
	strata := map[string]string{}
	for i := range 50 {
		strata["big-"+string(rune('a'+i%26))+string(rune('0'+i/26))] = "big"
	}
	for i := range 200 { // 200 singleton strata: decided by their hash
		strata["tiny-"+string(rune(i+100))] = "tiny-" + string(rune(i+100))
	}
	got := bench.AssignSplits("s", 0.1, 0.2, true, strata)
	count := map[string]map[string]int{"big": {}, "tiny": {}}
	for u, sp := range got {
		count[u[:strings.Index(u, "-")]][sp]++
	}
	if c := count["big"]; c["test"] != 5 || c["val"] != 10 || c["train"] != 35 {
		t.Errorf("big stratum: %v", c)
	}
	if c := count["tiny"]; c["test"] < 5 || c["val"] < 15 {
		t.Errorf("singleton strata never held out: %v", c)
	}
}

// TestBuildIgnoresBoilerplateImages: an image in more groups than
// MaxSharedGroups (a journal logo) joins nothing.
func TestBuildIgnoresBoilerplateImages(t *testing.T) {
	logo := benchtest.Phantom(1, 24, 24, 0.5, 0.5, 0.3, 0, 0, 42)
	var ss []shards.Sample
	for i := range 12 {
		ss = append(ss, shards.Sample{ID: "logo-" + string(rune('a'+i)), Source: "pmc-casereport", Task: shards.TaskReport,
			Group: "PMC" + string(rune('a'+i)), Response: "Axial CT shows a mass in the liver.", Images: []shards.Image{logo}})
	}
	tmp := t.TempDir()
	in := writeCorpus(t, filepath.Join(tmp, "in"), ss)
	rep, err := bench.Build(context.Background(), in, filepath.Join(tmp, "out"), bench.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Units != 12 || rep.BoilerplateImages != 1 || rep.LinkedGroups != 0 {
		t.Errorf("units %d, boilerplate %d, linked %d", rep.Units, rep.BoilerplateImages, rep.LinkedGroups)
	}
	rep, err = bench.Build(context.Background(), in, filepath.Join(tmp, "out2"), bench.BuildOptions{MaxSharedGroups: 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Units != 1 || rep.LinkedGroups != 11 {
		t.Errorf("with a higher cap: units %d, linked %d", rep.Units, rep.LinkedGroups)
	}
}
