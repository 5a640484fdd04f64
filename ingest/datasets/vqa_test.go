package datasets

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

func TestVQARAD(t *testing.T) {
	r := runPipeline(t, "vqa-rad")
	if len(r.units) != 4 || len(r.samples) != 3 || len(r.failed) != 1 {
		t.Fatalf("units %d samples %d failed %v; want 4, 3, 1", len(r.units), len(r.samples), r.failed)
	}
	r.failure(t, "VQA_RAD Dataset Public.json:4: no question")
	byQ := map[string]shards.Sample{}
	for _, s := range r.samples {
		byQ[s.Meta["qid"]] = s
		if s.Source != "vqa-rad" || s.Task != shards.TaskVQA || s.License != "CC0-1.0" {
			t.Errorf("%s: %s %s %s", s.ID, s.Source, s.Task, s.License)
		}
		if !strings.HasPrefix(s.Meta["template"], "vqa/") {
			t.Errorf("template %q", s.Meta["template"])
		}
		if s.Placements[0].Offset != 0 {
			t.Errorf("default image_position start: offset %d", s.Placements[0].Offset)
		}
	}
	s0, s1, s2 := byQ["0"], byQ["1"], byQ["2"]
	if !strings.Contains(s0.Instruction, "Are regions of the brain infarcted?") || s0.Response != "Yes" {
		t.Errorf("qid 0: %q → %q", s0.Instruction, s0.Response)
	}
	if s1.Response != "2" {
		t.Errorf("numeric answer: %q", s1.Response)
	}
	if s0.Split != "train" || s2.Split != "test" {
		t.Errorf("splits %q %q", s0.Split, s2.Split)
	}
	if s0.Group != s1.Group || s0.Group == s2.Group || strings.Contains(s0.Group, "medpix") {
		t.Errorf("groups %q %q %q: same case must share a hashed group", s0.Group, s1.Group, s2.Group)
	}
	im := s0.Images[0]
	if im.Width != 64 || im.Height != 64 || im.Channels != 1 || im.DType != shards.Uint8 || im.SourcePath != "VQA_RAD Image Folder/synpic54610.jpg" {
		t.Errorf("image %+v", im.SourcePath)
	}
}

func TestSLAKE(t *testing.T) {
	r := runPipeline(t, "slake")
	if len(r.units) != 5 || len(r.samples) != 4 {
		t.Fatalf("units %d samples %d; want 5, 4 (English only)", len(r.units), len(r.samples))
	}
	r.failure(t, "train.json:4: no img_name")
	splits := map[string]int{}
	for _, s := range r.samples {
		splits[s.Split]++
		if s.Meta["lang"] != "en" {
			t.Errorf("language %q kept", s.Meta["lang"])
		}
		switch s.Meta["modality"] {
		case "MRI":
			if s.Images[0].Modality != "MR" {
				t.Errorf("modality %q", s.Images[0].Modality)
			}
		case "CT":
			if s.Images[0].Modality != "CT" || s.Images[0].Width != 128 {
				t.Errorf("CT image %s %d", s.Images[0].Modality, s.Images[0].Width)
			}
		}
	}
	if splits["train"] != 2 || splits["val"] != 1 || splits["test"] != 1 {
		t.Errorf("splits %v", splits)
	}
	both := runPipeline(t, "slake", "languages: [en, zh]")
	if len(both.samples) != 5 {
		t.Errorf("en+zh: %d samples, want 5", len(both.samples))
	}
	zh := both.find(func(s shards.Sample) bool { return s.Meta["lang"] == "zh" })
	if len(zh) != 1 || zh[0].Response != "核磁共振" {
		t.Errorf("zh sample %+v", zh)
	}
	// Questions on one image (xmlab1) share a group across files.
	g := map[string]map[string]bool{}
	for _, s := range both.samples {
		k := s.Images[0].SourcePath
		if g[k] == nil {
			g[k] = map[string]bool{}
		}
		g[k][s.Group] = true
	}
	for k, gs := range g {
		if len(gs) != 1 {
			t.Errorf("%s in %d groups", k, len(gs))
		}
	}
}

// TestSLAKELayouts reads SLAKE with only root set, as shipped by Hugging
// Face (validation.json), as in the original Slake1.0 zip (validate.json),
// and with a split file missing (a warning: the other splits are read).
func TestSLAKELayouts(t *testing.T) {
	for _, c := range []struct {
		name   string
		edits  map[string]string
		splits map[string]int
	}{
		{"huggingface", nil, map[string]int{"train": 2, "val": 1, "test": 1}},
		{"Slake1.0 zip", map[string]string{"validation.json": "validate.json"}, map[string]int{"train": 2, "val": 1, "test": 1}},
		{"no test.json", map[string]string{"test.json": ""}, map[string]int{"train": 2, "val": 1}},
		{"only validate.json", map[string]string{"validation.json": "validate.json", "train.json": "", "test.json": ""}, map[string]int{"val": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, "slake", copyFixture(t, "slake/SLAKE", c.edits))
			splits := map[string]int{}
			for _, s := range r.samples {
				splits[s.Split]++
			}
			if !reflect.DeepEqual(splits, c.splits) {
				t.Errorf("splits %v, want %v", splits, c.splits)
			}
		})
	}
	// A folder with none of the lists fails with one line naming them.
	err := planErr(t, "slake", copyFixture(t, "slake/SLAKE", map[string]string{"train.json": "", "validation.json": "", "test.json": ""}))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "train.json, validation.json, validate.json, test.json") {
		t.Errorf("empty root: %v", err)
	}
}

// TestPMCVQA reads both releases with only root set: the fixture holds
// both, as the Hugging Face repository does, so version 2 is read; without
// its files, version 1.
func TestPMCVQA(t *testing.T) {
	v1only := map[string]string{"train_2.csv": "", "test_2.csv": ""}
	for _, c := range []struct {
		name               string
		edits              map[string]string
		units, vqa, captns int
		bad, image         string
	}{
		{"version 2", nil, 4, 3, 2, `train_2.csv:4: answer label "E" is not A, B, C or D`, "figures/PMC8253867_Fig1_41.jpg"},
		{"version 1", v1only, 4, 3, 0, `train.csv:4: answer label "E" is not A, B, C or D`, "images/PMC8253867_Fig1_41.jpg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, "pmc-vqa", copyFixture(t, "pmc-vqa", c.edits))
			if len(r.units) != c.units || len(r.failed) != 1 {
				t.Fatalf("units %d failed %v", len(r.units), r.failed)
			}
			r.failure(t, c.bad)
			if n := r.byTask(); n[shards.TaskVQA] != c.vqa || n[shards.TaskCaption] != c.captns {
				t.Errorf("tasks %v", n)
			}
			var us shards.Sample
			for _, s := range r.samples {
				if s.Meta["pmcid"] == "PMC8253867" && s.Task == shards.TaskVQA && strings.Contains(s.Instruction, "modality") {
					us = s
				}
				if s.Task == shards.TaskCaption && s.Meta["pmcid"] == "PMC7125455" && (s.Split != "test" || !strings.HasPrefix(s.Response, "Axial chest CT")) {
					t.Errorf("caption of the test figure: %q split %q", s.Response, s.Split)
				}
			}
			if us.Response != "B: Ultrasound" || !strings.Contains(us.Instruction, "A: CT scan\nB: Ultrasound\nC: MRI\nD: X-ray") {
				t.Errorf("choice sample: %q → %q", us.Instruction, us.Response)
			}
			if us.Group != "PMC8253867" || us.Split != "train" || !strings.HasPrefix(us.Meta["template"], "vqa_choice/") {
				t.Errorf("group %q split %q template %q", us.Group, us.Split, us.Meta["template"])
			}
			if im := us.Images[0]; im.Channels != 3 || im.Width != 80 || im.Height != 60 || im.SourcePath != c.image {
				t.Errorf("colour figure %s decoded as %d×%d×%d", im.SourcePath, im.Channels, im.Height, im.Width)
			}
		})
	}
	err := planErr(t, "pmc-vqa", copyFixture(t, "pmc-vqa", map[string]string{"train_2.csv": "", "test_2.csv": "", "train.csv": "", "test.csv": ""}))
	if err == nil || !strings.Contains(err.Error(), "looked for train_2.csv, test_2.csv, train.csv, test.csv") {
		t.Errorf("no question files: %v", err)
	}
	open := runPipeline(t, "pmc-vqa", "format: open")
	for _, s := range open.samples {
		if s.Meta["pmcid"] == "PMC8253867" && s.Task == shards.TaskVQA && strings.Contains(s.Instruction, "modality") && (s.Response != "Ultrasound" || strings.Contains(s.Instruction, "CT scan")) {
			t.Errorf("open format: %q → %q", s.Instruction, s.Response)
		}
	}
}

// TestHFParquet: the Hugging Face Parquet uploads (data/*.parquet with the
// images embedded) read with only root set, as the JSON layouts are.
func TestHFParquet(t *testing.T) {
	for _, c := range []struct {
		typ, root  string
		samples    int
		splits     map[string]int
		quarantine string
	}{
		{vqaRADName, "testdata/hf/vqa-rad", 4, map[string]int{"train": 3, "test": 1},
			"data/test-00000-of-00001-e5bc3d208bb4deeb.parquet:2: image:"},
		{slakeName, "testdata/hf/slake", 4, map[string]int{"train": 2, "val": 1, "test": 1},
			"data/train-00000-of-00002.parquet:2: no answer"},
	} {
		t.Run(c.typ, func(t *testing.T) {
			r := runAt(t, c.typ, c.root)
			r.failure(t, c.quarantine)
			if len(r.samples) != c.samples || len(r.failed) != 1 {
				t.Fatalf("%d samples, failed %v", len(r.samples), keysOf(r.failed))
			}
			splits := map[string]int{}
			groups := map[string]map[string]bool{}
			for _, s := range r.samples {
				splits[s.Split]++
				if s.Task != shards.TaskVQA || !strings.HasPrefix(s.Meta["template"], "vqa/") || s.Source != c.typ {
					t.Errorf("%s: task %s template %s source %s", s.ID, s.Task, s.Meta["template"], s.Source)
				}
				if !strings.HasPrefix(s.Images[0].SourcePath, "data/") {
					t.Errorf("source path %q", s.Images[0].SourcePath)
				}
				sha := s.Images[0].SourceSHA256
				if groups[sha] == nil {
					groups[sha] = map[string]bool{}
				}
				groups[sha][s.Group] = true
			}
			if fmt.Sprint(splits) != fmt.Sprint(c.splits) {
				t.Errorf("splits %v, want %v", splits, c.splits)
			}
			for sha, g := range groups {
				if len(g) != 1 {
					t.Errorf("image %s in %d groups", sha[:8], len(g))
				}
			}
		})
	}
	// Same answer text as the JSON layout for the same question.
	r := runAt(t, vqaRADName, "testdata/hf/vqa-rad")
	for _, s := range r.samples {
		if strings.Contains(s.Instruction, "is this a ct scan?") && s.Response != "yes" {
			t.Errorf("response %q", s.Response)
		}
	}
}

// TestVQALayouts: a root with neither the JSON release nor a Parquet upload
// is one line naming both.
func TestVQALayouts(t *testing.T) {
	for _, typ := range []string{vqaRADName, slakeName} {
		err := planErr(t, typ, t.TempDir())
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "data/*.parquet") {
			t.Errorf("%s: %v", typ, err)
		}
	}
}
