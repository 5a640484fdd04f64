package radmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

func writeMedMD(t *testing.T, dir string, ss []shards.Sample) string {
	t.Helper()
	if _, err := shards.WriteCorpus(dir, "medmd-test", "cfg", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 16}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, shards.ManifestFile)
}

func readExclusions(t *testing.T, path string) map[string][2]string {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if got := tbl.Schema().String(); !strings.Contains(got, "kept_id") || !strings.Contains(got, "reason") {
		t.Fatalf("schema %s", got)
	}
	out := map[string][2]string{}
	tr := arrowRows(t, tbl)
	for _, r := range tr {
		out[r["id"]] = [2]string{r["reason"], r["kept_id"]}
	}
	return out
}

func TestRunFiltersAndReports(t *testing.T) {
	tmp := t.TempDir()
	in := benchtest.MedMD(6)
	inPath := writeMedMD(t, filepath.Join(tmp, "medmd"), in)
	// The input's model input record carries over: filtering changes no
	// image.
	inM, err := shards.ReadManifest(inPath)
	if err != nil {
		t.Fatal(err)
	}
	geometry := shards.ModelInput{Channels: 1, ImageHeight: 16, ImageWidth: 16, VolumeHeight: 8, VolumeWidth: 8, ImageDepth: 8, Patch: [3]int{4, 8, 8}, DType: shards.Uint8}
	inM.ModelInput = &geometry
	if err := inM.Write(inPath); err != nil {
		t.Fatal(err)
	}

	// A RadBench test split holding one VQA case: its group and image must
	// leak-drop the other question on that case.
	var vqa shards.Sample
	for _, s := range in {
		if s.Source == "vqa-rad" {
			vqa = s
			break
		}
	}
	testPath := writeMedMD(t, filepath.Join(tmp, "test"), []shards.Sample{vqa})

	out := filepath.Join(tmp, "radmd")
	res, err := Run(context.Background(), inPath, out, Options{TestManifests: []string{testPath}})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	if sum.Input != len(in) || sum.Kept+sum.Dropped != sum.Input {
		t.Fatalf("summary counts %+v for %d samples", sum, len(in))
	}
	wantReasons := map[string]int{
		radfilter.ReasonNotRadiology:  len(benchtest.RealCaptions) + 1, // + the OT study
		radfilter.ReasonShortResponse: 1,
		radfilter.ReasonNotEnglish:    1,
		radfilter.ReasonBoilerplate:   1,
		radfilter.ReasonDuplicate:     1,
		radfilter.ReasonNearDuplicate: 1,
		radfilter.ReasonLeakGroup:     2, // both questions of the test case
	}
	for r, n := range wantReasons {
		if sum.ByReason[r] != n {
			t.Errorf("%s: %d dropped, want %d (all: %v)", r, sum.ByReason[r], n, sum.ByReason)
		}
	}
	if len(sum.ByReason) != len(wantReasons) {
		t.Errorf("unexpected reasons %v", sum.ByReason)
	}

	m, err := shards.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.ModelInput == nil || *m.ModelInput != geometry {
		t.Errorf("RadMD manifest model input %+v, want the input's %+v", m.ModelInput, geometry)
	}
	if m.Samples != sum.Kept || m.Pipeline != Pipeline {
		t.Errorf("manifest %d samples (pipeline %q), summary kept %d", m.Samples, m.Pipeline, sum.Kept)
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for s, err := range m.Iter(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		kept[s.ID] = true
		if s.Meta[radfilter.MetaCue] == "" {
			t.Errorf("%s: kept without a cue", s.ID)
		}
	}
	excl := readExclusions(t, filepath.Join(out, ReportsDir, ExclusionsFile))
	if len(excl) != sum.Dropped {
		t.Errorf("%d exclusion rows, %d dropped", len(excl), sum.Dropped)
	}
	for id, e := range excl {
		if kept[id] {
			t.Errorf("%s both kept and excluded", id)
		}
		if e[1] != "" && !kept[e[1]] && !strings.HasPrefix(e[0], "leak-") {
			t.Errorf("%s (%s) points at %s, which was not kept", id, e[0], e[1])
		}
	}
	if e := excl[shards.MakeID("dicom", "re-export", "report")]; e[0] != radfilter.ReasonDuplicate || e[1] == "" {
		t.Errorf("re-export: %v", e)
	}

	var js Summary
	b, err := os.ReadFile(filepath.Join(out, ReportsDir, SummaryJSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &js); err != nil || js.Kept != sum.Kept || js.BySource["pmc-oa"].Dropped[radfilter.ReasonNotRadiology] != len(benchtest.RealCaptions) {
		t.Errorf("summary.json %s (%v)", b, err)
	}
	md, _ := os.ReadFile(filepath.Join(out, ReportsDir, SummaryMDFile))
	if !strings.Contains(string(md), "| pmc-oa |") || !strings.Contains(string(md), "not-radiology") {
		t.Errorf("summary.md:\n%s", md)
	}

	// Rerunning into a published folder: the same corpus is reused, one of
	// other rules is refused without Force and replaced with it.
	for _, tc := range []struct {
		name         string
		opts         Options
		wantErr      string
		wantUpToDate bool
	}{
		{"same", Options{TestManifests: []string{testPath}}, "", true},
		{"other rules", Options{}, "pass --force to replace it", false},
		{"forced", Options{TestManifests: []string{testPath}, Force: true}, "", false},
	} {
		r, err := Run(context.Background(), inPath, out, tc.opts)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: rerun into %s: %v, want %q", tc.name, out, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case r.UpToDate != tc.wantUpToDate || r.Manifest.Hash() != res.Manifest.Hash() || r.Summary.Kept != res.Summary.Kept:
			t.Errorf("%s: up to date %v (want %v), manifest or summary differs", tc.name, r.UpToDate, tc.wantUpToDate)
		}
	}
	// The same inputs give byte-identical shards.
	out2 := filepath.Join(tmp, "radmd2")
	res2, err := Run(context.Background(), inPath, out2, Options{TestManifests: []string{testPath}})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Manifest.Hash() != res.Manifest.Hash() {
		t.Errorf("second run's manifest differs")
	}
}

func TestRunRulesFile(t *testing.T) {
	tmp := t.TempDir()
	inPath := writeMedMD(t, filepath.Join(tmp, "medmd"), benchtest.MedMD(2))
	rulesPath := filepath.Join(tmp, "rules.yaml")
	os.WriteFile(rulesPath, []byte("radiology:\n  enabled: false\ntext:\n  enabled: false\ndedup:\n  enabled: false\n"), 0o644)
	res, err := Run(context.Background(), inPath, filepath.Join(tmp, "out"), Options{RulesPath: rulesPath})
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Dropped != 0 {
		t.Errorf("everything disabled but %v dropped", res.Summary.ByReason)
	}
	os.WriteFile(rulesPath, []byte("dedup:\n  treshold: 3\n"), 0o644)
	if _, err := Run(context.Background(), inPath, filepath.Join(tmp, "out2"), Options{RulesPath: rulesPath}); err == nil ||
		!strings.Contains(err.Error(), "rules.yaml") || !strings.Contains(err.Error(), "treshold") {
		t.Errorf("typo in rules: %v", err)
	}
	if _, err := Run(context.Background(), filepath.Join(tmp, "nope.json"), filepath.Join(tmp, "out3"), Options{}); err == nil {
		t.Error("missing input accepted")
	}
}
