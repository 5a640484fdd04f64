package datasets

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// labelsOf returns the true labels of a label-set sample.
func labelsOf(s shards.Sample) []string {
	if s.Meta["labels"] == "" {
		return nil
	}
	return strings.Split(s.Meta["labels"], "|")
}

// withLabels copies each image's label list onto its yes/no samples (they
// carry only the label asked), keyed by image path.
func withLabels(ss []shards.Sample) func(s shards.Sample) []string {
	m := map[string][]string{}
	for _, s := range ss {
		if s.Meta["question"] == "open" {
			m[s.Images[0].SourcePath] = labelsOf(s)
		}
	}
	return func(s shards.Sample) []string { return m[s.Images[0].SourcePath] }
}

// TestChestXray14LabelFile: with only root set, the v2020 label file of
// today's NIH download is found, the 2017 file of older downloads too, and
// the v2020 file wins when both are present.
func TestChestXray14LabelFile(t *testing.T) {
	for _, c := range []struct {
		name  string
		edits map[string]string
		extra string // a second label file written beside the first
		file  string // the file rows are reported against
	}{
		{"v2020", nil, "", "Data_Entry_2017_v2020.csv"},
		{"2017", map[string]string{"Data_Entry_2017_v2020.csv": "Data_Entry_2017.csv"}, "", "Data_Entry_2017.csv"},
		{"both", nil, "Data_Entry_2017.csv", "Data_Entry_2017_v2020.csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := copyFixture(t, "chestxray14", c.edits)
			if c.extra != "" {
				// A stale 2017 file that names one image only: were it read,
				// the counts below would differ.
				text := "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n" +
					"00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143,\n"
				if err := os.WriteFile(filepath.Join(root, c.extra), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := runAt(t, "chestxray14", root)
			if len(r.units) != 7 || len(r.failed) != 2 || len(r.samples) != 17 {
				t.Fatalf("units %d samples %d failed %v", len(r.units), len(r.samples), r.failed)
			}
			r.failure(t, c.file+":7: image 00000005_000.png not found")
			for _, s := range r.samples {
				if s.Images[0].SourcePath == pseudonymisePath("images_001/images/00000001_000.png") && s.Meta["sex"] != "M" {
					t.Errorf("sex %q", s.Meta["sex"])
				}
			}
		})
	}
	err := planErr(t, "chestxray14", copyFixture(t, "chestxray14", map[string]string{"Data_Entry_2017_v2020.csv": ""}))
	if err == nil || !strings.Contains(err.Error(), "looked for Data_Entry_2017_v2020.csv, Data_Entry_2017.csv") {
		t.Errorf("no label file: %v", err)
	}
}

func TestChestXray14(t *testing.T) {
	r := runPipeline(t, "chestxray14")
	if len(r.units) != 7 || len(r.failed) != 2 {
		t.Fatalf("units %d failed %v; want 7, 2", len(r.units), r.failed)
	}
	r.failure(t, "Data_Entry_2017_v2020.csv:7: image 00000005_000.png not found")
	r.failure(t, "Data_Entry_2017_v2020.csv:8: image 00000006_000.png not found")
	open := r.find(func(s shards.Sample) bool { return s.Meta["question"] == "open" })
	if len(open) != 5 {
		t.Fatalf("%d open samples, want 5", len(open))
	}
	yes, no := yesNoBalance(t, r.samples, withLabels(r.samples))
	want := map[string]int{"Cardiomegaly": 2, "Emphysema": 1, "Hernia": 1, "Mass": 1, "Nodule": 1}
	for l, n := range want {
		if yes[l] != n || no[l] != n {
			t.Errorf("%s: %d yes, %d no; want %d each", l, yes[l], no[l], n)
		}
	}
	if len(r.samples) != 5+6+6 {
		t.Errorf("%d samples, want 17", len(r.samples))
	}
	for _, s := range open {
		switch s.Images[0].SourcePath {
		case "images_001/images/00000001_001.png":
			if s.Response != "Cardiomegaly, Emphysema." || s.Split != "train" {
				t.Errorf("001: %q split %q", s.Response, s.Split)
			}
			im := s.Images[0]
			if want := 0.143 * 2894 / 64; math.Abs(im.Spacing[0]-want) > 1e-9 {
				t.Errorf("spacing %v, want %v", im.Spacing[0], want)
			}
		case "images_002/images/00000002_000.png":
			if s.Response != "No finding." {
				t.Errorf("no-finding response %q", s.Response)
			}
			if im := s.Images[0]; im.DType != shards.Uint16 || im.Width != 64 || im.Height != 256 {
				t.Errorf("16-bit PNG decoded as %s %d×%d", im.DType, im.Width, im.Height)
			}
		case "images_002/images/00000003_000.png":
			if s.Split != "test" || s.Response != "Hernia." {
				t.Errorf("003: %q %q", s.Split, s.Response)
			}
		case "images_002/images/00000004_000.png":
			if s.Response != "Mass, Nodule." {
				t.Errorf("004: %q", s.Response)
			}
		}
		if s.Images[0].Modality != "DX" {
			t.Errorf("modality %q", s.Images[0].Modality)
		}
	}
	g := r.find(func(s shards.Sample) bool { return strings.HasPrefix(s.Images[0].SourcePath, "images_001/") })
	for _, s := range g {
		if s.Group != g[0].Group || s.Group == "1" || len(s.Group) != 64 {
			t.Errorf("patient 1 group %q", s.Group)
		}
	}
	// Without yes/no only the open questions remain; max_questions caps.
	if r := runPipeline(t, "chestxray14", "yes_no: false"); len(r.samples) != 5 {
		t.Errorf("yes_no false: %d samples", len(r.samples))
	}
	if r := runPipeline(t, "chestxray14", "max_questions: 2"); len(r.samples) > 10 {
		t.Errorf("max_questions 2: %d samples", len(r.samples))
	}
	// Class cap: at most one row per label while any label is under it.
	// Which Cardiomegaly row goes depends on the hash order; the rows of
	// the single-row labels always stay.
	capped := runPipeline(t, "chestxray14", "max_per_label: 1")
	kept := map[string]bool{}
	for _, s := range capped.samples {
		kept[s.Images[0].SourcePath] = true
	}
	if len(kept) < 4 || !kept[pseudonymisePath("images_002/images/00000003_000.png")] || !kept[pseudonymisePath("images_002/images/00000004_000.png")] || !kept[pseudonymisePath("images_002/images/00000002_000.png")] {
		t.Errorf("max_per_label 1 kept %v", kept)
	}
}

func TestCheXpert(t *testing.T) {
	r := runPipeline(t, "chexpert")
	if len(r.units) != 5 || len(r.failed) != 1 {
		t.Fatalf("units %d failed %v", len(r.units), r.failed)
	}
	r.failure(t, `train.csv:5: column "Edema": value "2.0" is not 1, 0, -1 or blank`)
	open := map[string]shards.Sample{}
	for _, s := range r.samples {
		if s.Meta["question"] == "open" {
			open[s.Images[0].SourcePath] = s
		}
	}
	frontal := open[pseudonymisePath("train/patient00002/study2/view1_frontal.jpg")]
	if frontal.Response != "Lung Opacity, Fracture. Uncertain: Cardiomegaly, Edema." {
		t.Errorf("uncertain=ignore response %q", frontal.Response)
	}
	lateral := open[pseudonymisePath("train/patient00002/study2/view2_lateral.jpg")]
	if frontal.Group == "" || frontal.Group != lateral.Group {
		t.Errorf("one patient's views in groups %q, %q", frontal.Group, lateral.Group)
	}
	if v := open[pseudonymisePath("valid/patient64541/study1/view1_frontal.jpg")]; v.Split != "val" || v.Response != "Cardiomegaly, Lung Opacity, Support Devices." {
		t.Errorf("valid row: %q %q", v.Split, v.Response)
	}
	if s := open[pseudonymisePath("train/patient00001/study1/view1_frontal.jpg")]; s.Response != "Support Devices." || s.Split != "train" {
		t.Errorf("row 1: %q", s.Response)
	}
	// Under "ignore", no yes/no question is asked about an uncertain label.
	for _, s := range r.samples {
		if s.Meta["label"] != "" && strings.HasPrefix(s.Images[0].SourcePath, "train/patient00002/") &&
			(s.Meta["label"] == "Cardiomegaly" || s.Meta["label"] == "Edema") {
			t.Errorf("asked about uncertain %s: %q → %q", s.Meta["label"], s.Instruction, s.Response)
		}
	}
	yesNoBalance(t, r.samples, withLabels(r.samples))

	ones := runPipeline(t, "chexpert", "uncertain: ones")
	for _, s := range ones.samples {
		if s.Meta["question"] == "open" && s.Images[0].SourcePath == pseudonymisePath("train/patient00002/study2/view1_frontal.jpg") &&
			s.Response != "Cardiomegaly, Lung Opacity, Edema, Fracture." {
			t.Errorf("uncertain=ones: %q", s.Response)
		}
	}
	yesNoBalance(t, ones.samples, withLabels(ones.samples))
}

// TestCheXpertLayouts reads CheXpert with only root set: the downsampled
// CheXpert-v1.0-small folder, and the full-resolution AIMI download whose
// training patients sit in batch folders without the train/ level that the
// CSV's Path names.
func TestCheXpertLayouts(t *testing.T) {
	batch3 := "CheXpert-v1.0 batch 3 (train 2)/"
	for _, c := range []struct {
		name, root, bad          string
		frontal, lateral, valid1 string // image paths as recorded
	}{
		{"small", "chexpert/CheXpert-v1.0-small", `train.csv:5: column "Edema": value "2.0" is not 1, 0, -1 or blank`,
			"train/patient00002/study2/view1_frontal.jpg", "train/patient00002/study2/view2_lateral.jpg",
			"valid/patient64541/study1/view1_frontal.jpg"},
		{"full resolution", "chexpert/chexpertchestxrays-u20210408", "train.csv:5: patient folder train/patient00004 is in no",
			batch3 + "patient00002/study2/view1_frontal.jpg", batch3 + "patient00002/study2/view2_lateral.jpg",
			"CheXpert-v1.0 batch 1 (validate & csv)/valid/patient64541/study1/view1_frontal.jpg"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runAt(t, "chexpert", filepath.Join("testdata", c.root))
			if len(r.units) != 5 || len(r.failed) != 1 {
				t.Fatalf("units %d failed %v", len(r.units), r.failed)
			}
			r.failure(t, c.bad)
			open := map[string]shards.Sample{}
			for _, s := range r.samples {
				if s.Meta["question"] == "open" {
					open[s.Images[0].SourcePath] = s
				}
			}
			frontal, lateral := open[pseudonymisePath(c.frontal)], open[pseudonymisePath(c.lateral)]
			if frontal.Response != "Lung Opacity, Fracture. Uncertain: Cardiomegaly, Edema." || frontal.Group == "" || frontal.Group != lateral.Group {
				t.Errorf("frontal %q group %q, lateral group %q", frontal.Response, frontal.Group, lateral.Group)
			}
			if v := open[pseudonymisePath(c.valid1)]; v.Split != "val" || v.Response != "Cardiomegaly, Lung Opacity, Support Devices." {
				t.Errorf("valid row: %q %q", v.Split, v.Response)
			}
			if len(open) != 4 {
				t.Errorf("%d open samples: %v", len(open), keysOfSamples(open))
			}
		})
	}
	err := planErr(t, "chexpert", filepath.Join("testdata", "chexpert"))
	if err == nil || !strings.Contains(err.Error(), "looked for train.csv, valid.csv, CheXpert-v1.0 batch 1 (validate & csv)/train.csv") {
		t.Errorf("no CSVs: %v", err)
	}
}

func keysOfSamples(m map[string]shards.Sample) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestVinDrCXR(t *testing.T) {
	r := runPipeline(t, "vindr-cxr")
	if len(r.units) != 3 || len(r.failed) != 1 {
		t.Fatalf("units %d failed %v", len(r.units), r.failed)
	}
	r.failure(t, `image_labels_train.csv:10: column "Aortic enlargement": value "x" is not 0 or 1`)
	open := map[string]shards.Sample{}
	for _, s := range r.samples {
		if s.Meta["question"] == "open" {
			open[s.Images[0].SourcePath] = s
		}
	}
	a := open[pseudonymisePath("train/000434271f63a053c4128a0ba6352c7f.dicom")]
	b := open[pseudonymisePath("train/00053190460d56c53cc3e57321387478.dicom")]
	if a.Response != "No finding." || b.Response != "Cardiomegaly." {
		t.Errorf("majority: %q, %q", a.Response, b.Response)
	}
	if b.Meta["readers"] != "R10,R9,R8" {
		t.Errorf("readers %q", b.Meta["readers"])
	}
	// The DICOM files decode through ingest/dicom: CT_small is a signed
	// 128×128 CT with rescale, MR_small an unsigned 64×64 MR.
	if im := a.Images[0]; im.Width != 128 || im.Height != 128 || im.Modality != "CT" {
		t.Errorf("CT_small decoded as %d×%d %s %s", im.Width, im.Height, im.DType, im.Modality)
	}
	if im := b.Images[0]; im.Width != 64 || im.Modality != "MR" || im.Spacing[0] == 0 {
		t.Errorf("MR_small decoded as %d %s spacing %v", im.Width, im.Modality, im.Spacing)
	}
	yesNoBalance(t, r.samples, withLabels(r.samples))
	anyR := runPipeline(t, "vindr-cxr", "readers: any")
	for _, s := range anyR.samples {
		if s.Meta["question"] == "open" && s.Images[0].SourcePath == b.Images[0].SourcePath &&
			s.Response != "Aortic enlargement, Cardiomegaly, Pleural thickening." {
			t.Errorf("readers any: %q", s.Response)
		}
	}
}

// TestVinDrLayouts: a root without the label file is one line naming it.
func TestVinDrLayouts(t *testing.T) {
	err := planErr(t, vinDrName, t.TempDir())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "annotations/image_labels_train.csv") {
		t.Errorf("empty root: %v", err)
	}
}
