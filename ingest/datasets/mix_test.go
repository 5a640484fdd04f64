package datasets

import (
	"regexp"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// TestMix: the mixed pipeline yields exactly the union of the per-dataset
// pipelines, each sample keeping its own source.
func TestMix(t *testing.T) {
	r := runPipeline(t, "labelled-mix")
	want := map[string]int{}
	total, failed := 0, 0
	for _, name := range []string{"vqa-rad", "slake", "pmc-vqa", "mimic-cxr", "chestxray14", "chexpert", "vindr-cxr", "radiopaedia", "medpix"} {
		one := runPipeline(t, name)
		want[name] = len(one.samples)
		total += len(one.samples)
		failed += len(one.failed)
	}
	got := map[string]int{}
	for _, s := range r.samples {
		got[s.Source]++
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d samples in the mix, %d alone", k, got[k], v)
		}
	}
	if len(r.samples) != total {
		t.Errorf("%d samples, want %d", len(r.samples), total)
	}
	if len(r.failed) != failed {
		t.Errorf("%d quarantined, want %d", len(r.failed), failed)
	}
}

func TestMixParams(t *testing.T) {
	for _, c := range []struct {
		over    map[string]string
		wantErr string
	}{
		{map[string]string{"uncertain": "maybe"}, "not one of"},
		{map[string]string{"max_questions": "x"}, "max_questions"},
		{map[string]string{"nope": "1"}, "unknown field"},
		{map[string]string{"files": "a.csv, b.csv", "yes_no": "false", "sample_ratio": "0.5"}, ""},
	} {
		p, err := specParams(local["chexpert"].spec, c.over)
		if c.wantErr == "" {
			if err != nil || len(p.Strings("files")) != 2 || p.Bool("yes_no") || p.Float("sample_ratio") != 0.5 {
				t.Errorf("%v: %v %v", c.over, p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%v: err %v, want %q", c.over, err, c.wantErr)
		}
	}
}

// TestMixMapParam: a map field is written "prefix=folder, prefix=folder".
func TestMixMapParam(t *testing.T) {
	p, err := specParams(local[radiopaediaName].spec, map[string]string{"path_rewrite": "/mnt/a/processed_file=images, ../x=y"})
	if err != nil {
		t.Fatal(err)
	}
	if m := p.Map("path_rewrite"); len(m) != 2 || m["/mnt/a/processed_file"] != "images" || m["../x"] != "y" {
		t.Errorf("path_rewrite %v", m)
	}
	if _, err := specParams(local[radiopaediaName].spec, map[string]string{"path_rewrite": "nofolder"}); err == nil {
		t.Error("a pair without = was accepted")
	}
}

// TestQuarantineNamesFileAndRow: every unit a fixture pipeline quarantines
// says which index file and which row (or entry) it came from.
func TestQuarantineNamesFileAndRow(t *testing.T) {
	cfg, err := ingest.LoadConfig("testdata/pipelines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fileRow := regexp.MustCompile(`\.(csv|json|jsonl|parquet|txt)(\.gz)?:\d+: `)
	n := 0
	for _, p := range cfg.Pipelines {
		if p.Name == "labelled-mix" {
			continue
		}
		r := runPipeline(t, p.Name)
		for id, err := range r.failed {
			n++
			if !fileRow.MatchString(err.Error()) {
				t.Errorf("%s: unit %s: %q names no file:row", p.Name, id, err)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d quarantined units across the fixtures", n)
	}
}
