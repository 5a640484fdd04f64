package radfilter

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

func sample(id, source, task, group, instr, resp string, ims ...shards.Image) *shards.Sample {
	return &shards.Sample{ID: id, Source: source, Task: task, Group: group, Instruction: instr, Response: resp, Images: ims}
}

func withMeta(s *shards.Sample, kv ...string) *shards.Sample {
	s.Meta = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Meta[kv[i]] = kv[i+1]
	}
	return s
}

func withModality(im shards.Image, m string) shards.Image { im.Modality = m; return im }

// TestFilterSequence feeds one stable-ordered corpus through the default
// rules and checks every decision, including which kept id a duplicate
// points at.
func TestFilterSequence(t *testing.T) {
	a := phantom(3, 48, 48, 0.4, 0.6, 0.1, 0, 0, 1)
	aBright := phantom(3, 48, 48, 0.4, 0.6, 0.1, 150, 0, 1)
	b := phantom(3, 48, 48, 0.7, 0.3, 0.15, 0, 0, 1)
	c := phantom(1, 40, 40, 0.3, 0.3, 0.2, 0, 0, 1)
	d := phantom(1, 40, 56, 0.6, 0.7, 0.12, 0, 0, 9)
	testImg := phantom(1, 32, 32, 0.5, 0.2, 0.2, 0, 0, 1)
	testNear := phantom(1, 32, 32, 0.5, 0.2, 0.2, 300, 0, 1)
	e := phantom(1, 32, 32, 0.2, 0.8, 0.1, 0, 0, 1)

	leak := NewLeakIndex(4)
	for _, s := range []*shards.Sample{
		sample("test-1", "vqa-rad", "vqa", "case-9", "Is there a mass?", "yes", testImg),
	} {
		leak.Add(s, FingerprintOf(s))
	}
	f, err := NewFilter(DefaultRules(), leak)
	if err != nil {
		t.Fatal(err)
	}
	const report = "Axial CT of the abdomen shows a hypodense lesion in the right lobe of the liver."
	for _, tc := range []struct {
		s          *shards.Sample
		reason     string
		kept       string
		cue        string
		detailPart string
	}{
		{s: withMeta(sample("pmc-1", "pmc-oa", "caption", "PMC1", "", "Axial CT shows a hypodense hepatic lesion with rim enhancement.", a), "caption", "Axial CT shows a hypodense hepatic lesion with rim enhancement."), cue: `ct:"CT"`},
		{s: sample("pmc-2", "pmc-oa", "caption", "PMC1", "", "Histology of the resected lesion (H&E, x200).", b), reason: ReasonNotRadiology, detailPart: "pathology"},
		{s: withMeta(sample("pmc-3", "pmc-oa", "caption", "PMC2", "", "Figure 2.", b), "caption", "Coronal T2-weighted MRI of the knee."), reason: ReasonBoilerplate},
		{s: sample("dcm-1", "dicom", "report", "p1", "", report, withModality(b, "OT")), reason: ReasonNotRadiology, detailPart: "modality OT"},
		{s: sample("dcm-2", "dicom", "report", "p1", "", "Normal.", withModality(b, "CT")), reason: ReasonShortResponse},
		{s: sample("dcm-3", "dicom", "report", "p1", "", "Die Computertomographie zeigt eine große Raumforderung der Leber mit zentraler Nekrose.", withModality(b, "CT")), reason: ReasonNotEnglish},
		{s: sample("dcm-4", "dicom", "report", "p1", "", report, withModality(b, "CT")), cue: "modality:CT"},
		{s: sample("dcm-5", "dicom", "report", "p2", "", report, withModality(b, "CT")), reason: ReasonDuplicate, kept: "dcm-4"},
		{s: sample("dcm-6", "dicom", "modality", "p1", "", "CT", withModality(b, "CT"))}, // other task: kept
		{s: sample("pmc-4", "pmc-casereport", "caption", "PMC3", "", "Contrast-enhanced CT: hypodense liver lesion with rim enhancement.", aBright), reason: ReasonNearDuplicate, kept: "pmc-1"},
		{s: sample("nii-1", "nifti", "report", "p3", "", report, aBright)}, // same image, other task: kept
		{s: sample("vqa-1", "vqa-rad", "vqa", "c1", "Is there a fracture?", "no", withModality(c, "DX"))},
		{s: sample("vqa-2", "vqa-rad", "vqa", "c1", "Which side is abnormal?", "left", withModality(c, "DX"))},
		{s: sample("vqa-3", "vqa-rad", "vqa", "c2", "Is there a  FRACTURE?", "no", withModality(c, "DX")), reason: ReasonDuplicate, kept: "vqa-1"},
		{s: sample("vqa-4", "vqa-rad", "vqa", "case-9", "Is this an MRI?", "no", withModality(d, "MR")), reason: ReasonLeakGroup, kept: "test-1"},
		{s: sample("vqa-5", "vqa-rad", "vqa", "c3", "Is this an MRI?", "no", withModality(testImg, "MR")), reason: ReasonLeakImage, kept: "test-1"},
		{s: sample("vqa-6", "vqa-rad", "vqa", "c4", "Is this an MRI?", "no", withModality(testNear, "MR")), reason: ReasonLeakNearImage, kept: "test-1"},
		{s: sample("vqa-7", "vqa-rad", "vqa", "c5", "What is shown?", "none", withModality(e, "MR"))}, // "none" is fine for VQA
	} {
		err := f.Apply(tc.s)
		var de *normalize.DropError
		errors.As(err, &de)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: dropped: %v", tc.s.ID, err)
		case tc.reason != "" && de == nil:
			t.Errorf("%s: kept, want %s", tc.s.ID, tc.reason)
		case de != nil && (de.Reason != tc.reason || de.KeptID != tc.kept):
			t.Errorf("%s: %s (kept %q), want %s (kept %q): %s", tc.s.ID, de.Reason, de.KeptID, tc.reason, tc.kept, de.Detail)
		case de != nil && tc.detailPart != "" && !contains(de.Detail, tc.detailPart):
			t.Errorf("%s: detail %q lacks %q", tc.s.ID, de.Detail, tc.detailPart)
		case err == nil && tc.cue != "" && tc.s.Meta[MetaCue] != tc.cue:
			t.Errorf("%s: cue %q, want %q", tc.s.ID, tc.s.Meta[MetaCue], tc.cue)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestFilterDisabledSections(t *testing.T) {
	r := DefaultRules()
	r.Radiology.Enabled, r.Text.Enabled, r.Dedup.Enabled, r.Leakage.Enabled = false, false, false, false
	f, err := NewFilter(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	im := phantom(1, 16, 16, 0.5, 0.5, 0.2, 0, 0, 1)
	for i := range 3 {
		if err := f.Apply(sample("x", "pmc-oa", "caption", "g", "", "H&E stain", withModality(im, "OT"))); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
}

// TestMultiFigureSamples: in a case report, figures are judged one by one
// from their own caption (image Meta) or the sentence that mentions them;
// the non-radiology ones are removed with their placements.
func TestMultiFigureSamples(t *testing.T) {
	text := "A 54-year-old man presented with abdominal pain. Contrast-enhanced CT of the abdomen showed a 5 cm mass in the pancreatic head (Figure 1). " +
		"Biopsy was performed. Histology revealed a moderately differentiated adenocarcinoma (H&E, original magnification x200) (Figure 2). " +
		"He received chemotherapy. Tumour marker levels over time are plotted in Figure 3. A mass was seen (Figure 4)."
	mention := func(fig string) int {
		i := strings.Index(text, fig)
		return len([]rune(text[:i]))
	}
	ims := make([]shards.Image, 4)
	for k := range ims {
		ims[k] = phantom(1, 16, 16, 0.2*float64(k+1), 0.5, 0.1, 0, 0, uint64(k))
		ims[k].Meta = map[string]string{"figure_id": fmt.Sprintf("F%d", k+1), "label": fmt.Sprintf("Figure %d", k+1)}
	}
	ims[3].Meta["caption"] = "Coronal T2-weighted MR image showing the mass."
	s := &shards.Sample{ID: "cr", Source: "pmc-casereport", Task: "report", Group: "PMC1", Response: text, Images: ims}
	// Placements at the start of the text: the figure labels find the
	// mentioning sentences wherever the source placed the images.
	for k := range ims {
		s.Placements = append(s.Placements, shards.Placement{Image: k, Field: shards.FieldResponse, Offset: 0})
	}
	r := DefaultRules()
	r.Dedup.Enabled = false
	f, err := NewFilter(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(s); err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 2 || s.Images[0].Meta["figure_id"] != "F1" || s.Images[1].Meta["figure_id"] != "F4" {
		t.Fatalf("kept images %v", s.Images)
	}
	if len(s.Placements) != 2 || s.Placements[0].Image != 0 || s.Placements[1].Image != 1 {
		t.Errorf("placements %+v", s.Placements)
	}
	if rm := s.Meta[MetaRemoved]; !strings.Contains(rm, "F2 pathology") || !strings.Contains(rm, "F3 chart") {
		t.Errorf("removed: %q", rm)
	}
	if cue := s.Meta[MetaCue]; !strings.Contains(cue, `F1 ct:"CT"`) || !strings.Contains(cue, `F4 mr:"T2-weighted"`) {
		t.Errorf("cue: %q", cue)
	}

	// No radiology figure at all: the sample is dropped. Without labels the
	// sentence at each placement is read.
	noLabel := func(im shards.Image) shards.Image { im.Meta = map[string]string{}; return im }
	s2 := &shards.Sample{ID: "cr2", Source: "pmc-inline", Task: "inline", Group: "PMC2", Response: text, Images: []shards.Image{noLabel(ims[1]), noLabel(ims[2])},
		Placements: []shards.Placement{{Image: 0, Field: shards.FieldResponse, Offset: mention("Figure 2")}, {Image: 1, Field: shards.FieldResponse, Offset: mention("Figure 3")}}}
	var de *normalize.DropError
	if err := f.Apply(s2); !errors.As(err, &de) || de.Reason != ReasonNotRadiology {
		t.Errorf("all-non-radiology inline sample: %v", err)
	}
}

func TestSentenceAt(t *testing.T) {
	r := []rune("First one. CT showed a mass (Fig. 1).\nUltrasound confirmed a cyst (Fig. 2). End")
	for _, tc := range []struct {
		label string
		want  string
	}{{"Figure 1", "CT showed a mass (Fig. 1)."}, {"Fig. 2", "Ultrasound confirmed a cyst (Fig. 2)."}} {
		at, ok := nearestMention(r, tc.label, 0)
		if got := sentenceAt(r, at); !ok || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.label, got, ok, tc.want)
		}
	}
	if _, ok := nearestMention(r, "Figure 3", 0); ok {
		t.Error("found a mention of figure 3")
	}
}

// TestSingleFigureArticleJudgedByFigure: a pmc-inline (or case report)
// sample with one figure is judged by that figure's caption, not by the
// whole article text: an article full of CT talk whose only figure is a
// histology slide must not enter RadMD, and a radiology figure in an
// article that never names a modality must.
func TestSingleFigureArticleJudgedByFigure(t *testing.T) {
	body := "Contrast-enhanced CT of the abdomen showed a mass. MRI confirmed it. The CT findings are discussed (Figure 1)."
	tests := []struct {
		name, source, caption, text string
		drop                        bool
	}{
		{"histology figure in a CT article", "pmc-inline", "Histology of the resected lesion (H&E, x200).", body, true},
		{"histology figure in a CT case", "pmc-casereport", "Histology of the resected lesion (H&E, x200).", body, true},
		{"MR figure, article without modality words", "pmc-inline", "Axial T2-weighted MR image of the brain.",
			"The patient recovered well after surgery and was discharged home (Figure 1).", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im := phantom(1, 16, 16, 0.5, 0.5, 0.1, 0, 0, 1)
			im.Meta = map[string]string{"figure_id": "F1", "label": "Figure 1", "caption": tc.caption}
			task := "inline"
			if tc.source == "pmc-casereport" {
				task = "report"
			}
			s := &shards.Sample{ID: "s", Source: tc.source, Task: task, Group: "PMC1", Response: tc.text, Images: []shards.Image{im},
				Placements: []shards.Placement{{Image: 0, Field: shards.FieldResponse, Offset: 0}}}
			f, err := NewFilter(DefaultRules(), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Apply(s)
			var de *normalize.DropError
			switch {
			case tc.drop && (!errors.As(err, &de) || de.Reason != ReasonNotRadiology):
				t.Errorf("kept (err %v, cue %q), want not-radiology", err, s.Meta[MetaCue])
			case !tc.drop && err != nil:
				t.Errorf("dropped: %v", err)
			case !tc.drop && !strings.Contains(s.Meta[MetaCue], "F1 mr:"):
				t.Errorf("cue %q does not name the figure's MR cue", s.Meta[MetaCue])
			}
		})
	}
}

// TestPerImageQuestionsAreNotDuplicates: the dataset adapters ask several
// questions of one image (an open diagnosis question plus yes/no per
// label, the same for modality). Under the default rules those are
// different samples; only the same question about the same image again is
// a duplicate. A report about the same image is still one per image.
func TestPerImageQuestionsAreNotDuplicates(t *testing.T) {
	im := withModality(phantom(1, 32, 32, 0.5, 0.5, 0.1, 0, 0, 7), "DX")
	tests := []struct {
		s    *shards.Sample
		drop string // reason, "" = kept
	}{
		{s: sample("d1", "chestxray14", "diagnosis", "p1", "What findings does this chest X-ray show?", "Cardiomegaly.", im)},
		{s: sample("d2", "chestxray14", "diagnosis", "p1", "Is cardiomegaly present?", "Yes.", im)},
		{s: sample("d3", "chestxray14", "diagnosis", "p1", "Is there a hernia?", "No.", im)},
		{s: sample("m1", "medpix", "modality", "c1", "Which imaging modality is this?", "X-ray.", im)},
		{s: sample("m2", "medpix", "modality", "c1", "Is this a CT scan?", "No.", im)},
		{s: sample("d4", "chexpert", "diagnosis", "p2", "is  Cardiomegaly present?", "Yes.", im), drop: ReasonDuplicate},
		{s: sample("r1", "mimic-cxr", "report", "p3", "Write the findings.", "Enlarged cardiac silhouette. No effusion.", im)},
		{s: sample("r2", "mimic-cxr", "report", "p3", "Describe the image.", "Enlarged cardiac silhouette. No effusion.", im), drop: ReasonDuplicate},
	}
	f, err := NewFilter(DefaultRules(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		err := f.Apply(tc.s)
		var de *normalize.DropError
		switch {
		case tc.drop == "" && err != nil:
			t.Errorf("%s dropped: %v", tc.s.ID, err)
		case tc.drop != "" && (!errors.As(err, &de) || de.Reason != tc.drop):
			t.Errorf("%s: %v, want %s", tc.s.ID, err, tc.drop)
		}
	}
}

// TestPanelSampleUsesFigureTitle: a pmc-oa panel sample whose sub-caption
// names no modality is judged together with the figure's caption title
// (Meta "figure_title"), which does.
func TestPanelSampleUsesFigureTitle(t *testing.T) {
	im := phantom(1, 16, 16, 0.5, 0.5, 0.1, 0, 0, 3)
	s := withMeta(sample("p", "pmc-oa", "caption", "PMC1", "", "Portal venous phase shows no enhancement.", im),
		"label", "Figure 1", "figure_title", "Abdominal CT.", "panel", "B")
	f, err := NewFilter(DefaultRules(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(s); err != nil {
		t.Fatalf("dropped: %v", err)
	}
	if !strings.Contains(s.Meta[MetaCue], "ct:") {
		t.Errorf("cue %q", s.Meta[MetaCue])
	}
	// Without the title (fresh filter: no duplicate of the kept sample).
	delete(s.Meta, "figure_title")
	f2, err := NewFilter(DefaultRules(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var de *normalize.DropError
	if err := f2.Apply(s); !errors.As(err, &de) || de.Reason != ReasonNotRadiology {
		t.Errorf("without the title: %v; the sub-caption alone should not be radiology, or this test shows nothing", err)
	}
}
