package bench_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/bench"
	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/ingest/radmd"
	"github.com/medmd/medmd/shards"
)

// TestRadMDTrainVersusRadBenchTest is the acceptance flow: build
// RadBench from MedMD, filter MedMD into RadMD against every RadBench test
// split, and check that RadMD and the test splits share nothing; then
// plant leaks and check that all of them are found.
func TestRadMDTrainVersusRadBenchTest(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	medmd := benchtest.MedMD(20)
	in := writeCorpus(t, filepath.Join(tmp, "medmd"), medmd)
	rb := filepath.Join(tmp, "radbench")
	rep, err := bench.Build(ctx, in, rb, bench.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var tests []string
	for _, task := range bench.Tasks {
		tests = append(tests, filepath.Join(rb, rep.Manifests[task]["test"]))
	}
	out := filepath.Join(tmp, "radmd")
	res, err := radmd.Run(ctx, in, out, radmd.Options{TestManifests: tests})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.ByReason["leak-group"] == 0 {
		t.Fatalf("RadMD dropped no test groups: %v", res.Summary.ByReason)
	}
	lr, err := bench.CheckLeakage(ctx, filepath.Join(out, shards.ManifestFile), tests, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if lr.Total() != 0 || lr.TestSamples == 0 || lr.TrainSamples == 0 {
		t.Fatalf("RadMD vs RadBench test: %+v", lr)
	}
	// RadBench's own train split does not leak into its test split either.
	lr, err = bench.CheckLeakage(ctx, filepath.Join(rb, rep.Manifests["report"]["train"]), tests, 10, 10)
	if err != nil || lr.Total() != 0 {
		t.Fatalf("RadBench train vs test: %+v, %v", lr, err)
	}

	// Plant: a test sample's group under a new id, its image under a new
	// group, and a re-encoded (brighter) copy under a third group.
	testSamples := readAll(t, tests[2]) // vqa test split
	if len(testSamples) == 0 {
		t.Fatal("empty vqa test split")
	}
	ts := testSamples[0]
	clean := readAll(t, filepath.Join(out, shards.ManifestFile))
	sameGroup := clean[0]
	sameGroup.ID, sameGroup.Group = "planted-group", ts.Group
	sameImage := clean[1]
	sameImage.ID, sameImage.Group, sameImage.Images = "planted-image", "planted-image", ts.Images
	near := clean[2]
	im := ts.Images[0]
	im.Voxels = bytes.Clone(im.Voxels)
	for i := 0; i+1 < len(im.Voxels); i += 2 {
		binary.LittleEndian.PutUint16(im.Voxels[i:], binary.LittleEndian.Uint16(im.Voxels[i:])+15)
	}
	near.ID, near.Group, near.Images = "planted-near", "planted-near", []shards.Image{im}
	leaky := writeCorpus(t, filepath.Join(tmp, "leaky"), append(clean, sameGroup, sameImage, near))
	lr, err = bench.CheckLeakage(ctx, leaky, tests, 10, 10)
	if err != nil {
		t.Fatal(err)
	}
	if lr.SharedGroups != 1 || lr.Images != 1 || lr.NearImages != 1 || lr.LeakingSamples != 3 {
		t.Fatalf("planted 1 group, 1 image, 1 near image; found %+v", lr)
	}
	found := map[string]string{}
	for _, e := range lr.Examples {
		found[e.TrainID] = e.Reason
		if e.TestID != ts.ID {
			t.Errorf("%s points at %s, want %s", e.TrainID, e.TestID, ts.ID)
		}
	}
	if found["planted-group"] != "leak-group" || found["planted-image"] != "leak-image" || found["planted-near"] != "leak-near-image" {
		t.Errorf("examples %+v", lr.Examples)
	}
	var le interface{ ExitCode() int } = &bench.LeakError{Report: lr}
	if le.ExitCode() == 0 {
		t.Error("leak error exits 0")
	}
}
