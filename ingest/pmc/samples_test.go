package pmc

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// TestBuildSamplesDropsSmallFigure: a figure normalize refuses (an icon)
// is dropped with its reason recorded, not a failure of the article.
func TestBuildSamplesDropsSmallFigure(t *testing.T) {
	var icon bytes.Buffer
	png.Encode(&icon, image.NewGray(image.Rect(0, 0, 8, 8)))
	xml, err := os.ReadFile("testdata/casereport.nxml")
	if err != nil {
		t.Fatal(err)
	}
	pkg := &Package{Name: "oa_package/01/00/PMC9000001.tar.gz", Files: map[string][]byte{
		"PMC9000001/casereport.nxml":     xml,
		"PMC9000001/cr-9000001-g001.jpg": figureImage(t, 0, false),
		"PMC9000001/cr-9000001-g002.png": icon.Bytes(),
	}}
	for n := range pkg.Files {
		pkg.Names = append(pkg.Names, n)
	}
	a, err := jats.Parse(xml, jats.Options{Files: pkg.Names})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := buildSamples(a, pkg, OARow{File: pkg.Name}, "CC0", SampleOptions{OA: true, Inline: true, CaseReport: true,
		MaxImagesInline: 3, MaxImagesCase: 8, CaptionPrompt: "Describe the figure.", Image: normalize.Image2DOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range ss {
		kinds = append(kinds, s.Source)
		if !strings.Contains(s.Meta["dropped_figures"], "f2: image-too-small") {
			t.Errorf("%s: dropped_figures %q", s.Source, s.Meta["dropped_figures"])
		}
		if s.Meta["citation"] == "" || s.Group != "PMC9000001" {
			t.Errorf("%s: meta %v", s.Source, s.Meta)
		}
		for _, im := range s.Images {
			if im.SourcePath != "oa_package/01/00/PMC9000001.tar.gz/PMC9000001/cr-9000001-g001.jpg" || len(im.Transforms) == 0 {
				t.Errorf("image provenance %q %v", im.SourcePath, im.Transforms)
			}
		}
	}
	if strings.Join(kinds, ",") != "pmc-oa,pmc-inline,pmc-casereport" {
		t.Fatalf("samples %v", kinds)
	}
	if oa := ss[0]; oa.Instruction != "Describe the figure." || oa.Task != shards.TaskCaption ||
		oa.Placements[0] != (shards.Placement{Image: 0, Field: shards.FieldInstruction, Offset: 0}) || oa.Meta["compound"] != "true" {
		t.Errorf("pmc-oa sample %+v", oa)
	}
	// Panels as separate samples when asked.
	ss, _ = buildSamples(a, pkg, OARow{}, "CC0", SampleOptions{OA: true, SplitPanels: true})
	if len(ss) != 2 || ss[0].Meta["panel"] != "A" || ss[1].Response != "Portal venous phase shows no enhancement." || ss[0].ID == ss[1].ID {
		t.Errorf("panel samples %+v", ss)
	}
	// Each panel sample keeps the figure's caption title, which names the
	// modality its own sub-caption may not mention.
	for _, s := range ss {
		if s.Meta["figure_title"] != "Abdominal CT." {
			t.Errorf("panel %s: figure_title %q", s.Meta["panel"], s.Meta["figure_title"])
		}
	}
}

// caseReport parses the synthetic case report with a generated image for
// each of its two figures.
func caseReport(t *testing.T) (*jats.Article, *Package) {
	t.Helper()
	xml, err := os.ReadFile("testdata/casereport.nxml")
	if err != nil {
		t.Fatal(err)
	}
	pkg := &Package{Files: map[string][]byte{
		"P/cr-9000001-g001.jpg": figureImage(t, 0, false),
		"P/cr-9000001-g002.jpg": figureImage(t, 1, false),
	}, Names: []string{"P/cr-9000001-g001.jpg", "P/cr-9000001-g002.jpg"}}
	a, err := jats.Parse(xml, jats.Options{Files: pkg.Names})
	if err != nil {
		t.Fatal(err)
	}
	return a, pkg
}

func TestCaseReportVQA(t *testing.T) {
	a, pkg := caseReport(t)
	a.QA = []jats.QA{{Question: "What is the lesion?", Answer: "A simple hepatic cyst."}}
	ss, err := buildSamples(a, pkg, OARow{}, "CC0", SampleOptions{CaseReport: true, MaxImagesCase: 8})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Task != shards.TaskReport || ss[1].Task != shards.TaskVQA {
		t.Fatalf("samples %d", len(ss))
	}
	v := ss[1]
	if v.Instruction != "What is the lesion?" || v.Response != "A simple hepatic cyst." || len(v.Images) != 2 ||
		v.Placements[1] != (shards.Placement{Image: 1, Field: shards.FieldInstruction, Offset: 0}) || v.Group != "PMC9000001" {
		t.Errorf("vqa sample %+v", v)
	}
}

// TestImageCarriesCaption: every figure image carries its own caption in
// Meta["caption"] (with the label in Meta["label"]) in every sample kind,
// so a multi-figure sample's figures can be judged one by one; images that
// several samples share do not share one Meta map.
func TestImageCarriesCaption(t *testing.T) {
	a, pkg := caseReport(t)
	want := map[string]string{}
	for _, f := range a.Figures {
		want[f.ID] = f.Caption
	}
	if !strings.HasPrefix(want["f1"], "Abdominal CT.") || !strings.HasPrefix(want["f2"], "Ultrasound of the right liver lobe") {
		t.Fatalf("parsed captions %q", want)
	}
	ss, err := buildSamples(a, pkg, OARow{}, "CC0", SampleOptions{OA: true, Inline: true, CaseReport: true,
		MaxImagesInline: 3, MaxImagesCase: 8})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, s := range ss {
		for k, im := range s.Images {
			id := im.Meta["figure_id"]
			if got := im.Meta["caption"]; got == "" || got != want[id] {
				t.Errorf("%s image %d (%s): caption %q, want %q", s.Source, k, id, got, want[id])
			}
			if im.Meta["label"] == "" {
				t.Errorf("%s image %d: no label", s.Source, k)
			}
			seen++
		}
	}
	if seen < 5 { // 2 pmc-oa + 2 inline + 2 case report
		t.Fatalf("only %d images in %d samples", seen, len(ss))
	}
	ss[0].Images[0].Meta["caption"] = "changed"
	for _, s := range ss[1:] {
		for _, im := range s.Images {
			if im.Meta["caption"] == "changed" {
				t.Fatalf("%s shares its image Meta with another sample", s.Source)
			}
		}
	}
}
