package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

func TestMIMICCXR(t *testing.T) {
	r := runPipeline(t, "mimic-cxr")
	if len(r.units) != 3 || len(r.samples) != 4 || len(r.failed) != 1 {
		t.Fatalf("units %d samples %d failed %v", len(r.units), len(r.samples), r.failed)
	}
	var drop *normalize.DropError
	if err := r.failure(t, "s57375967.txt:1: report has neither a FINDINGS nor an IMPRESSION section"); !errors.As(err, &drop) || drop.Reason != DropNoReportSections {
		t.Errorf("a report without sections is a drop with its reason: %#v", err)
	}
	if n := r.byTask(); n[shards.TaskReport] != 2 || n[shards.TaskDiagnosis] != 2 {
		t.Errorf("tasks %v", n)
	}
	var full, imp shards.Sample
	for _, s := range r.samples {
		if s.Task == shards.TaskDiagnosis {
			if s.Response != "No finding." || s.Meta["label_source"] != "mimic-cxr-2.0.0-chexpert" {
				t.Errorf("chexpert diagnosis %q", s.Response)
			}
			continue
		}
		switch s.Meta["study"] {
		case "s50414267":
			full = s
		case "s53189527":
			imp = s
		}
	}
	wantFull := "Findings: There is no focal consolidation, pleural effusion or pneumothorax. Bilateral nodular opacities that most likely represent nipple shadows. The cardiomediastinal silhouette is normal. Clips project over the left lung, potentially within the breast. The imaged upper abdomen is unremarkable. Chronic deformity of the posterior left sixth and seventh ribs are noted.\nImpression: No acute cardiopulmonary process."
	if full.Response != wantFull {
		t.Errorf("response:\n%q\nwant\n%q", full.Response, wantFull)
	}
	if !strings.HasPrefix(full.Instruction, "Indication: ___F with new onset ascites // eval for infection\n") ||
		!strings.HasPrefix(full.Meta["template"], "report_full/") {
		t.Errorf("instruction %q template %q", full.Instruction, full.Meta["template"])
	}
	if len(full.Images) != 2 || len(full.Placements) != 2 || full.Split != "train" {
		t.Errorf("%d images, split %q", len(full.Images), full.Split)
	}
	if full.Images[0].SourcePath != pseudonymisePath("files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg") {
		t.Errorf("image order: %s", full.Images[0].SourcePath)
	}
	if imp.Response != "Compared to prior chest radiographs ___ through ___.\nPrevious mild pulmonary edema has resolved. Heart size is normal." ||
		!strings.HasPrefix(imp.Meta["template"], "report_impression/") || imp.Split != "val" {
		t.Errorf("impression-only: %q %q %q", imp.Response, imp.Meta["template"], imp.Split)
	}
	if full.Group != imp.Group || len(full.Group) != 64 {
		t.Errorf("subject groups %q %q", full.Group, imp.Group)
	}
	if r := runPipeline(t, "mimic-cxr", "max_images: 1"); len(r.samples[0].Images) != 1 {
		t.Errorf("max_images 1: %d images", len(r.samples[0].Images))
	}
}

// TestMIMICCXRLayouts: with a MIMIC-CXR-JPG root the reports are found in
// MIMIC-CXR's folder beside it, in the zip's folder inside root, or not at
// all (a one-line error saying where they are and what to set).
func TestMIMICCXRLayouts(t *testing.T) {
	jpg := "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0"
	r := runAt(t, "mimic-cxr", filepath.Join("testdata", jpg))
	if len(r.units) != 3 {
		t.Errorf("side by side: %d units", len(r.units))
	}
	// Reports unzipped into root/mimic-cxr-reports/files.
	root := copyFixture(t, jpg, nil)
	reports := copyFixture(t, "mimic-cxr/physionet.org/files/mimic-cxr/2.0.0", nil)
	if err := os.Rename(reports, filepath.Join(root, "mimic-cxr-reports")); err != nil {
		t.Fatal(err)
	}
	if r := runAt(t, "mimic-cxr", root); len(r.units) != 3 || len(r.samples) != 4 {
		t.Errorf("mimic-cxr-reports inside root: %d units, %d samples", len(r.units), len(r.samples))
	}
	// The JPG project alone: no reports anywhere.
	err := planErr(t, "mimic-cxr", copyFixture(t, jpg, nil))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "mimic-cxr-reports.zip") || !strings.Contains(err.Error(), "set reports:") {
		t.Errorf("no reports: %v", err)
	}
	// Without the metadata file the study's images stay in dicom_id order;
	// with it, frontal views come first.
	for _, c := range []struct {
		view   string
		listed bool
		want   int
	}{{"PA", true, 0}, {"AP", true, 0}, {"LATERAL", true, 1}, {"LL", true, 1}, {"", false, 2}} {
		if got := viewRank(c.view, c.listed); got != c.want {
			t.Errorf("viewRank(%q) = %d, want %d", c.view, got, c.want)
		}
	}
	one := runPipeline(t, "mimic-cxr", "max_images: 1")
	for _, s := range one.samples {
		if s.Meta["study"] == "s50414267" && s.Meta["dicom_ids"] != "02aa804e-bde0afdd-112c0b34-7bc16630-4e384014" {
			t.Errorf("max_images 1 kept %s, not the PA view", s.Meta["dicom_ids"])
		}
	}
}

func TestParseReport(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       ReportSections
	}{
		{"both", " FINDINGS:  Lungs clear.\n\n IMPRESSION: Normal.\n", ReportSections{Findings: "Lungs clear.", Impression: "Normal."}},
		{"conclusion", "EXAMINATION: CT\nCONCLUSION:\n  No change.\n", ReportSections{Impression: "No change."}},
		{"combined", "FINDINGS AND IMPRESSION:\nNo acute\n  process.\n", ReportSections{Findings: "No acute process."}},
		{"wrapped paragraphs", "IMPRESSION:\n1. Effusion\n  on the left.\n \n2. No pneumothorax.", ReportSections{Impression: "1. Effusion on the left.\n2. No pneumothorax."}},
		{"history", "INDICATION: Fever.\nFINDINGS: Clear.", ReportSections{Indication: "Fever.", Findings: "Clear."}},
		{"mid-line colon is not a heading", "FINDINGS: Tube tip: in the SVC.\n", ReportSections{Findings: "Tube tip: in the SVC."}},
		{"none", "Wet read: normal.", ReportSections{}},
		{"crlf", "FINDINGS:\r\nClear.\r\nIMPRESSION:\r\nNormal.\r\n", ReportSections{Findings: "Clear.", Impression: "Normal."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ParseReport(c.text); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestRadiopaedia(t *testing.T) {
	// Only root set: RadFM's file names, its recorded ../processed_file and
	// absolute paths found under root/processed_file, the modality CSV's
	// .nii.gz files read as NIfTI. The test list records a folder with no
	// processed_file segment: quarantined with a path_rewrite hint.
	r := runAt(t, radiopaediaName, "testdata/radiopaedia")
	r.failure(t, "radiology_article_npy_train.json:4: no npy_path")
	r.failure(t, "radio_modality_train.csv:5: no image_path")
	hint := r.failure(t, `radiology_article_npy_test.json:1: image "/gpfs/home/cs/leijiayu/radiopaedia/npy/13579_0.npy" not found under root`)
	if hint != nil && !strings.Contains(hint.Error(), `set path_rewrite: {"/gpfs/home/cs/leijiayu/radiopaedia/npy": <folder under root>}`) {
		t.Errorf("no path_rewrite hint: %v", hint)
	}
	if len(r.failed) != 3 {
		t.Errorf("failed %v", keysOf(r.failed))
	}
	tasks := r.byTask()
	// Cases 1 and 3 have findings + impression, case 2 findings only: 3
	// reports; rationale needs features or articles: cases 1, 2.
	if tasks[shards.TaskReport] != 3 || tasks[shards.TaskRationale] != 2 || tasks[shards.TaskVQA] != 1 {
		t.Errorf("tasks %v", tasks)
	}
	var report, rationale shards.Sample
	for _, s := range r.samples {
		if s.Meta["diagnosis"] == "Glioblastoma" && strings.Contains(s.Instruction, "45 years old") {
			switch s.Task {
			case shards.TaskReport:
				report = s
			case shards.TaskRationale:
				rationale = s
			}
		}
		if s.Split != "train" {
			t.Errorf("split %q", s.Split)
		}
	}
	// The modality CSV's NIfTI images: the 3D MR series (24×20, 4 slices,
	// int16) and the 2D X-ray (depth 1).
	nii := 0
	for _, s := range r.samples {
		if s.Task != shards.TaskModality {
			continue
		}
		im := s.Images[0]
		switch {
		case strings.HasSuffix(im.SourcePath, "12345/1/MRI_0.nii.gz"):
			if im.Depth*im.Height*im.Width != 24*20*4 || im.Modality != "MR" {
				t.Errorf("%s: %d×%d×%d %s", im.SourcePath, im.Depth, im.Height, im.Width, im.Modality)
			}
			nii++
		case strings.HasSuffix(im.SourcePath, "67890/1/X-ray_0.nii.gz"):
			if im.Depth != 1 || im.Modality != "DX" {
				t.Errorf("%s: depth %d %s", im.SourcePath, im.Depth, im.Modality)
			}
		}
		if !strings.HasPrefix(im.SourcePath, "processed_file/npys/") {
			t.Errorf("modality image path %q", im.SourcePath)
		}
	}
	if nii == 0 {
		t.Error("no modality sample from the NIfTI files")
	}
	if !strings.HasPrefix(report.Instruction, "45 years old, female. Headache for two weeks.\n") ||
		report.Response != "Findings: Large heterogeneously enhancing mass in the right frontal lobe with surrounding vasogenic oedema.\nImpression: Appearances are most consistent with a high-grade glioma." {
		t.Errorf("report %q → %q", report.Instruction, report.Response)
	}
	if rationale.Response != "Diagnosis: Glioblastoma.\nGlioblastoma is the most common primary malignant brain tumour in adults.\nRadiographic features: Thick irregular enhancing margin. Central necrosis." {
		t.Errorf("rationale %q", rationale.Response)
	}
	// The volume: (1, 3, 24, 20, 4) float32 → one image C3 D4 H24 W20.
	im := report.Images[0]
	if len(report.Images) != 1 || im.Channels != 3 || im.Depth != 4 || im.Height != 24 || im.Width != 20 || im.DType != shards.Float32 {
		t.Errorf("volume %d images, %d×%d×%d×%d %s", len(report.Images), im.Channels, im.Depth, im.Height, im.Width, im.DType)
	}
	// Case 2's npy holds two 2D images.
	for _, s := range r.samples {
		if s.Meta["diagnosis"] == "Lobar pneumonia" && len(s.Images) != 2 {
			t.Errorf("pneumonia case: %d images", len(s.Images))
		}
	}
	// Diagnosis yes/no: Glioblastoma has two cases and only one other case
	// to be asked "no" about it; never "no" about a case's own diagnosis.
	yes, no := yesNoBalance(t, r.samples, func(s shards.Sample) []string {
		if s.Task == shards.TaskModality {
			return []string{s.Meta["modality"]}
		}
		return []string{s.Meta["diagnosis"]}
	})
	if yes["Glioblastoma"] != 2 || no["Glioblastoma"] != 1 || yes["Lobar pneumonia"] != 1 || no["Lobar pneumonia"] != 1 {
		t.Errorf("diagnosis yes %v no %v", yes, no)
	}
	if yes["MRI"] != 2 || no["MRI"] != 1 || yes["X-ray"] != 1 || no["X-ray"] != 1 {
		t.Errorf("modality yes %v no %v", yes, no)
	}
	if r.samples[0].Group == "" {
		t.Error("no group")
	}
	// Groups follow the case id in the npy name (12345_0.npy) and the NIfTI
	// folder (npys/12345/1/): case 12345's report and modality rows share
	// one group.
	g := map[string]bool{}
	for _, s := range r.samples {
		if strings.Contains(s.Images[0].SourcePath, "12345") {
			g[s.Group] = true
		}
	}
	if len(g) != 1 {
		t.Errorf("case 12345 in %d groups", len(g))
	}

	// path_rewrite maps the test list's recorded folder to a local one.
	rw := runPipeline(t, "radiopaedia", `path_rewrite: {"/gpfs/home/cs/leijiayu/radiopaedia/npy": processed_file/processed_images}`)
	if len(rw.failed) != 2 {
		t.Errorf("with path_rewrite: failed %v", keysOf(rw.failed))
	}
	var test int
	for _, s := range rw.samples {
		if s.Split == "test" {
			test++
			if s.Meta["diagnosis"] != "Meningioma" {
				t.Errorf("test split sample %q", s.Meta["diagnosis"])
			}
		}
	}
	if test == 0 {
		t.Error("with path_rewrite: no test-split sample")
	}
}

// TestRadiopaediaLayouts: a root without RadFM's files fails in one line
// naming each; the case list alone is enough (missing CSVs are warnings).
func TestRadiopaediaLayouts(t *testing.T) {
	err := planErr(t, radiopaediaName, t.TempDir())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "radiology_article_npy_train.json") ||
		!strings.Contains(err.Error(), "radio_modality_train.csv") || !strings.Contains(err.Error(), "radiology_vqa_test.csv") {
		t.Errorf("empty root: %v", err)
	}
	root := copyFixture(t, "radiopaedia", map[string]string{"radio_modality_train.csv": "", "radiology_vqa_train.csv": ""})
	r := runAt(t, radiopaediaName, root)
	if n := r.byTask(); n[shards.TaskModality] != 0 || n[shards.TaskReport] != 3 {
		t.Errorf("case list only: %v", n)
	}
	for _, c := range []struct{ path, want string }{
		{"../processed_file/processed_images/12345_0.npy", "12345"},
		{"/mnt/x/processed_file/npys/67890/1/X-ray_0.nii.gz", "67890"},
		{"npys/24680/2/MRI_3.nii", "24680"},
		{"case.npy", "case"},
	} {
		if got := radiopaediaCaseID(c.path); got != c.want {
			t.Errorf("radiopaediaCaseID(%q) = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestMedPix(t *testing.T) {
	r := runPipeline(t, "medpix")
	r.failure(t, `MedPix_single_train.csv:8: unknown type "colour"`)
	if len(r.failed) != 1 || len(r.units) != 11 {
		t.Fatalf("units %d failed %v", len(r.units), keysOf(r.failed))
	}
	tasks := r.byTask()
	// modality: 3 open + 3 yes + 3 no; dxHow none; plane (vqa): 2 open + 2
	// yes + 2 no, txFollowup none, question 1 → vqa 7.
	if tasks[shards.TaskModality] != 9 || tasks[shards.TaskVQA] != 7 || tasks[shards.TaskCaption] != 1 ||
		tasks[shards.TaskReport] != 1 || tasks[shards.TaskDiagnosis] != 1 || tasks[shards.TaskRationale] != 1 {
		t.Errorf("tasks %v", tasks)
	}
	yes, no := yesNoBalance(t, r.samples, func(s shards.Sample) []string {
		ans := strings.TrimSuffix(r.openAnswer(s), ".")
		return []string{ans}
	})
	for _, l := range []string{"CT - noncontrast", "MR - T2 weighted", "US - Ultrasound", "Axial", "Sagittal"} {
		if yes[l] != 1 || no[l] != 1 {
			t.Errorf("%s: %d yes %d no", l, yes[l], no[l])
		}
	}
	for _, s := range r.samples {
		switch s.Meta["type"] {
		case "findings":
			if s.Response != "Hyperdense right basal ganglia haemorrhage.\nMild mass effect." ||
				!strings.HasPrefix(s.Instruction, "65 year old man with sudden left weakness.\n") || len(s.Images) != 2 {
				t.Errorf("findings %q → %q (%d images)", s.Instruction, s.Response, len(s.Images))
			}
		}
		if strings.Contains(s.Instruction, "Where is the haemorrhage") &&
			s.Response != "Right basal ganglia. The hyperdense focus lies lateral to the internal capsule." {
			t.Errorf("qa %q", s.Response)
		}
	}
	// Two rows of case MPX1009 and its QA share one hashed group.
	gs := map[string]bool{}
	for _, s := range r.samples {
		if strings.HasPrefix(s.Images[0].SourcePath, "images/MPX1009") {
			gs[s.Group] = true
		}
	}
	if len(gs) != 1 {
		t.Errorf("MPX1009 in %d groups", len(gs))
	}
}

// openAnswer finds the open-question answer of the row a yes/no sample
// came from (same images, same type).
func (r result) openAnswer(s shards.Sample) string {
	for _, o := range r.samples {
		if o.Meta["type"] == s.Meta["type"] && o.Meta["answer"] == "" && o.Images[0].SourcePath == s.Images[0].SourcePath {
			return o.Response
		}
	}
	return ""
}

// TestMedPix2: MedPix 2.0 as its repository ships it, with only root set
// (the MedPix-2-0 folder, or the clone holding it).
func TestMedPix2(t *testing.T) {
	for _, root := range []string{"testdata/medpix2/MedPix-2-0", "testdata/medpix2"} {
		r := runAt(t, medPixName, root)
		r.failure(t, "Descriptions.json:7: empty image name")
		if len(r.failed) != 1 {
			t.Errorf("%s: failed %v", root, keysOf(r.failed))
		}
		n := r.byTask()
		// 6 images: caption each; cases: findings 3, ddx 3 + diagnosis 3,
		// discussion 3 (MPX1009's from its topic), treatment 1 (vqa).
		if n[shards.TaskCaption] != 6 || n[shards.TaskReport] != 3 || n[shards.TaskDiagnosis] != 6 || n[shards.TaskRationale] != 3 {
			t.Errorf("%s: tasks %v", root, n)
		}
		splits := map[string]string{}
		for _, s := range r.samples {
			uid := strings.SplitN(filepath.Base(s.Images[0].SourcePath), "_", 2)[0]
			if prev, ok := splits[uid]; ok && prev != s.Split {
				t.Errorf("%s: case %s in splits %q and %q", root, uid, prev, s.Split)
			}
			splits[uid] = s.Split
			if s.Meta["type"] == "findings" && uid == "MPX1024" {
				if s.Response != "Left upper lobe volume loss with an obstructing hilar mass." ||
					!strings.HasPrefix(s.Instruction, "60-year-old woman with chest pain and dyspnoea.\n") || len(s.Images) != 2 {
					t.Errorf("findings %q → %q", s.Instruction, s.Response)
				}
			}
			if s.Meta["type"] == "exam" {
				t.Errorf("an N/A exam gave a sample: %q", s.Response)
			}
			for _, im := range s.Images {
				if strings.HasSuffix(im.SourcePath, "MPX2483_synpic27405.png") && im.Modality != "MR" {
					t.Errorf("MR image stored as %q", im.Modality)
				}
			}
		}
		if splits["MPX1024"] != "train" || splits["MPX1009"] != "val" || splits["MPX2483"] != "val" {
			t.Errorf("%s: splits %v", root, splits)
		}
		yes, no := yesNoBalance(t, r.samples, func(s shards.Sample) []string {
			return []string{strings.TrimSuffix(r.openAnswer(s), ".")}
		})
		if yes["CT - noncontrast"] != 3 || no["CT - noncontrast"] != 3 || yes["Axial"] != 5 {
			t.Errorf("%s: yes %v no %v", root, yes, no)
		}
	}
}

// TestMedPixLayouts: neither MedPix 2.0 nor any RadFM CSV is a one-line
// error naming both; a missing RadFM CSV is a warning.
func TestMedPixLayouts(t *testing.T) {
	err := planErr(t, medPixName, t.TempDir())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "Case_topic.json") ||
		!strings.Contains(err.Error(), "MedPix_single_train.csv") {
		t.Errorf("empty root: %v", err)
	}
	root := copyFixture(t, "medpix", map[string]string{"MedPix_questions_train.csv": ""})
	r := runAt(t, medPixName, root)
	if n := r.byTask(); n[shards.TaskModality] == 0 || len(r.failed) != 1 {
		t.Errorf("without the questions CSV: %v, failed %v", n, keysOf(r.failed))
	}
}

// TestCheXpertPlus: the release's CSV, PNG/ tree and CheXbert label file,
// with only root set.
func TestCheXpertPlus(t *testing.T) {
	r := runAt(t, cheXpertPlusName, "testdata/chexpert-plus")
	r.failure(t, "df_chexpert_plus_240401.csv:6: no path_to_image")
	var drop *normalize.DropError
	if err := r.failure(t, "study "+pseudonymisePath("valid/patient64541/study1")+": report has neither"); !errors.As(err, &drop) || drop.Reason != DropNoReportSections {
		t.Errorf("a report without sections is a drop: %#v", err)
	}
	if len(r.failed) != 2 {
		t.Errorf("failed %v", keysOf(r.failed))
	}
	n := r.byTask()
	if n[shards.TaskReport] != 2 {
		t.Errorf("tasks %v", n)
	}
	var full, imp shards.Sample
	opens := 0
	for _, s := range r.samples {
		switch {
		case s.Task == shards.TaskReport && s.Meta["study"] == pseudonymisePath("train/patient00001/study1"):
			full = s
		case s.Task == shards.TaskReport:
			imp = s
		case s.Task == shards.TaskDiagnosis && s.Meta["question"] == "open":
			if s.Meta["label_source"] != "impression_fixed" {
				t.Errorf("label source %q", s.Meta["label_source"])
			}
			opens++
			if strings.HasSuffix(s.Images[0].SourcePath, "/study1/view1_frontal.png") && s.Response != "Pleural Effusion. Uncertain: Atelectasis." {
				t.Errorf("open diagnosis %q", s.Response)
			}
		}
	}
	if opens != 3 {
		t.Errorf("%d open diagnosis samples, want one per labelled image (3)", opens)
	}
	if full.Response != "Findings: Low lung volumes. Small left pleural effusion.\nImpression: Small left pleural effusion." ||
		!strings.HasPrefix(full.Instruction, "Clinical history: Shortness of breath.\n") || len(full.Images) != 2 || full.Split != "train" {
		t.Errorf("full report %q → %q (%d images, %q)", full.Instruction, full.Response, len(full.Images), full.Split)
	}
	// The CSV lists the lateral view first; the frontal view leads.
	if len(full.Images) == 2 && !strings.HasSuffix(full.Images[0].SourcePath, "view1_frontal.png") {
		t.Errorf("first image %s", full.Images[0].SourcePath)
	}
	if !strings.HasPrefix(imp.Meta["template"], "report_impression/") || imp.Response != "No acute cardiopulmonary process." {
		t.Errorf("impression-only %q %q", imp.Meta["template"], imp.Response)
	}
	for _, s := range r.samples {
		if strings.Contains(fmt.Sprint(s.Images[0].SourcePath, s.Meta), "patient") {
			t.Errorf("patient id in %s %v", s.Images[0].SourcePath, s.Meta)
		}
	}
	// Without the label file: report samples only.
	root := copyFixture(t, "chexpert-plus", map[string]string{"chexbert_labels/impression_fixed.json": ""})
	if n := runAt(t, cheXpertPlusName, root).byTask(); n[shards.TaskDiagnosis] != 0 || n[shards.TaskReport] != 2 {
		t.Errorf("without labels: %v", n)
	}
	err := planErr(t, cheXpertPlusName, t.TempDir())
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "df_chexpert_plus_240401.csv") {
		t.Errorf("empty root: %v", err)
	}
}

// TestVinDrTransferSyntax: an image in a transfer syntax medmd does not
// decode is quarantined with its label file and row, and its error names
// the syntax as its quarantine class (the run summary counts by it).
func TestVinDrTransferSyntax(t *testing.T) {
	root := copyFixture(t, "vindr-cxr/1.0.0", nil)
	data, err := os.ReadFile("testdata/dicom-syntax/mpeg2.dicom")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "train", "000434271f63a053c4128a0ba6352c7f.dicom"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runAt(t, vinDrName, root)
	err = r.failure(t, "unsupported transfer syntax 1.2.840.10008.1.2.4.100")
	if err == nil {
		return
	}
	if !strings.Contains(err.Error(), "image_labels_train.csv:") {
		t.Errorf("no file:row in %v", err)
	}
	if c := ingest.QuarantineClass(err); c != "unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)" {
		t.Errorf("class %q", c)
	}
}
