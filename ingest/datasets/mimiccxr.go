package datasets

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// MIMIC-CXR (Johnson et al. 2019, https://physionet.org/content/mimic-cxr/2.0.0/)
// ships its free-text reports as files/pXX/pSUBJECT/sSTUDY.txt
// (mimic-cxr-reports.zip) beside the DICOM images
// files/pXX/pSUBJECT/sSTUDY/DICOM_ID.dcm; MIMIC-CXR-JPG
// (https://physionet.org/content/mimic-cxr-jpg/2.1.0/) has the same image
// tree with DICOM_ID.jpg but NO reports, plus mimic-cxr-2.0.0-split.csv.gz
// (dicom_id, study_id, subject_id, split: train/validate/test),
// mimic-cxr-2.0.0-metadata.csv.gz (dicom_id, …, ViewPosition: PA, AP,
// LATERAL, LL, …) and mimic-cxr-2.0.0-chexpert.csv.gz (subject_id,
// study_id and 14 CheXpert labels: 1.0, 0.0, -1.0 or blank per study).
//
// One unit is one study: its report's FINDINGS and IMPRESSION sections,
// parsed from the free text, with the study's images, frontal views first
// when the metadata file says which they are; with the CheXpert file, also
// an open diagnosis sample per study. With a MIMIC-CXR-JPG root the reports
// are looked for beside it, where a PhysioNet download puts both projects
// (physionet.org/files/mimic-cxr-jpg/2.1.0 and physionet.org/files/mimic-cxr/2.0.0).

const mimicName = "mimic-cxr"

func init() {
	fields := append(commonFields("physionet.org/files/mimic-cxr-jpg/2.1.0", "LicenseRef-PhysioNet-Credentialed-Health-Data-License-1.5.0", false),
		ingest.Field{Name: "reports", Type: ingest.TypeString, Default: "",
			Description: "folder holding files/pXX/pNNN/sNNN.txt (MIMIC-CXR's mimic-cxr-reports.zip, unzipped), relative to root; empty looks in root, root/mimic-cxr-reports, and MIMIC-CXR's 2.0.0/2.1.0 folder beside a MIMIC-CXR-JPG download", Example: "../mimic-cxr-reports"},
		ingest.Field{Name: "metadata_csv", Type: ingest.TypeString, Default: "mimic-cxr-2.0.0-metadata.csv.gz",
			Description: "MIMIC-CXR-JPG metadata, relative to root; its ViewPosition puts frontal views (PA, AP) first. Optional", Example: "mimic-cxr-2.0.0-metadata.csv"},
		ingest.Field{Name: "chexpert_csv", Type: ingest.TypeString, Default: "mimic-cxr-2.0.0-chexpert.csv.gz",
			Description: "MIMIC-CXR-JPG CheXpert labels, relative to root; when present each study also gets an open diagnosis sample (uncertain labels listed as uncertain). Optional; empty disables", Example: "\"\""},
		ingest.Field{Name: "split_csv", Type: ingest.TypeString, Default: "mimic-cxr-2.0.0-split.csv.gz",
			Description: "official split file, relative to root (.csv or .csv.gz); studies it does not list get no split",
			Example:     "mimic-cxr-2.0.0-split.csv"},
		ingest.Field{Name: "max_images", Type: ingest.TypeInt, Default: 4,
			Description: "at most this many images per study (in dicom_id order); 0 = all", Example: "2"},
	)
	register(ingest.Spec{
		Name:    mimicName,
		Summary: "MIMIC-CXR reports (files/pXX/pNNN/sNNN.txt, found beside a MIMIC-CXR-JPG download) with their DICOM or JPG images, frontal views first, as report samples (findings + impression), plus open diagnosis samples from the CheXpert labels",
		Fields:  fields,

		// Groups and image paths carry the patient id, pseudonymised.
		PatientIDs: true,
	}, newMIMIC)
}

type mimic struct {
	b           *builder
	reports     string // configured folder; "" searches
	splitCSV    string
	metadataCSV string
	chexpertCSV string
	maxImages   int
}

type mimicStudy struct {
	Report  string // path of sNNN.txt
	Subject string // pNNN
	Study   string // sNNN
	Split   string
	Images  []string // the study's image files, frontal views first, then dicom_id order
	// Pos and Uncertain are the study's CheXpert labels; Labelled is false
	// when the labels file does not list the study.
	Pos, Uncertain []string
	Labelled       bool
}

// mimicLabels are the columns of mimic-cxr-2.0.0-chexpert.csv.gz.
var mimicLabels = []string{"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
	"Fracture", "Lung Lesion", "Lung Opacity", "Pleural Effusion", "Pleural Other", "Pneumonia", "Pneumothorax",
	"Support Devices"}

func newMIMIC(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(mimicName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &mimic{b: b, maxImages: p.Int("max_images")}
	if r := p.String("reports"); r != "" {
		s.reports = joinPath(b.opts.Root, r)
	}
	opt := func(name, def string) string {
		v, set := p[name].(string)
		if !set {
			v = def
		}
		if v == "" {
			return ""
		}
		return joinPath(b.opts.Root, v)
	}
	s.splitCSV = opt("split_csv", "mimic-cxr-2.0.0-split.csv.gz")
	s.metadataCSV = opt("metadata_csv", "mimic-cxr-2.0.0-metadata.csv.gz")
	s.chexpertCSV = opt("chexpert_csv", "mimic-cxr-2.0.0-chexpert.csv.gz")
	return rowSource{s, b}, nil
}

// reportDirs are where reports are looked for, relative to root, when the
// reports parameter is empty: the root itself (MIMIC-CXR, or the reports
// unzipped into the JPG folder), the zip's folder inside or beside root,
// and MIMIC-CXR's release folders beside a MIMIC-CXR-JPG release in a
// PhysioNet download tree (physionet.org/files/<project>/<version>).
var reportDirs = []string{".", "mimic-cxr-reports", "../mimic-cxr-reports",
	"../../mimic-cxr/2.1.0", "../../mimic-cxr/2.0.0"}

// hasReport reports whether dir/files holds at least one sNNN.txt.
func (t *tree) hasReport(ctx context.Context, dir string) bool {
	found := false
	t.walkFiles(ctx, joinPath(dir, "files"), func(name string, _ int64, err error) error {
		if err != nil {
			return nil // an unreadable branch: look elsewhere
		}
		if mimicReportRe.MatchString(path.Base(filepath.ToSlash(name))) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// reportRoot finds the folder holding files/pXX/pNNN/sNNN.txt. MIMIC-CXR-JPG
// alone has none: the error says where the reports are and what to set.
func (s *mimic) reportRoot(ctx context.Context) (string, error) {
	root := s.b.opts.Root
	if s.reports != "" {
		if !s.b.fs.hasReport(ctx, s.reports) {
			return "", fmt.Errorf("%s: reports: no files/pXX/pNNN/sNNN.txt under %s", mimicName, s.reports)
		}
		return s.reports, nil
	}
	var looked []string
	for _, d := range reportDirs {
		dir := joinPath(root, d)
		looked = append(looked, joinPath(d, "files"))
		if s.b.fs.hasReport(ctx, dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%s: no reports (files/pXX/pNNN/sNNN.txt) under %s (looked in %s): MIMIC-CXR-JPG ships images only; "+
		"the reports are MIMIC-CXR's mimic-cxr-reports.zip (https://physionet.org/content/mimic-cxr/2.0.0/): unzip it and set reports: to its folder",
		mimicName, root, strings.Join(looked, ", "))
}

// frontalViews are the ViewPosition values of frontal chest radiographs.
var frontalViews = map[string]bool{"PA": true, "AP": true, "AP AXIAL": true, "PA LLD": true, "AP LLD": true, "AP RLD": true, "PA RLD": true}

// viewRank orders a study's images: frontal views, then other known views,
// then images the metadata does not list.
func viewRank(view string, listed bool) int {
	switch {
	case frontalViews[view]:
		return 0
	case listed:
		return 1
	}
	return 2
}

// readViews reads dicom_id → ViewPosition from the metadata file; a missing
// file leaves the dicom_id order.
func (s *mimic) readViews(ctx context.Context) (map[string]string, error) {
	if s.metadataCSV == "" || !s.b.fs.exists(ctx, s.metadataCSV) {
		return nil, nil
	}
	t, err := s.b.fs.readCSV(ctx, s.metadataCSV, ',')
	if err != nil {
		return nil, err
	}
	if err := t.require("dicom_id", "ViewPosition"); err != nil {
		return nil, err
	}
	views := map[string]string{}
	for _, r := range t.Rows {
		if r.Err == nil {
			views[t.get(r, "dicom_id")] = strings.ToUpper(t.get(r, "ViewPosition"))
		}
	}
	return views, nil
}

// mimicLabelRow is one study's CheXpert labels.
type mimicLabelRow struct{ Pos, Uncertain []string }

// readLabels reads study_id → labels from the CheXpert file. A malformed
// cell leaves that study without labels (its report is still read).
func (s *mimic) readLabels(ctx context.Context) (map[string]mimicLabelRow, error) {
	if s.chexpertCSV == "" || !s.b.fs.exists(ctx, s.chexpertCSV) {
		return nil, nil
	}
	t, err := s.b.fs.readCSV(ctx, s.chexpertCSV, ',')
	if err != nil {
		return nil, err
	}
	if err := t.require(append([]string{"study_id"}, mimicLabels...)...); err != nil {
		return nil, err
	}
	out := map[string]mimicLabelRow{}
rows:
	for _, r := range t.Rows {
		if r.Err != nil {
			slog.Warn("mimic-cxr: CheXpert row skipped", "err", r.Err)
			continue
		}
		var lr mimicLabelRow
		for _, l := range mimicLabels {
			v, err := parseCheXpertValue(t.get(r, l))
			if err != nil {
				slog.Warn("mimic-cxr: CheXpert row skipped", "err", rowErrorf(s.chexpertCSV, r.Line, "column %q: %v", l, err))
				continue rows
			}
			switch v {
			case 1:
				lr.Pos = append(lr.Pos, l)
			case -1:
				lr.Uncertain = append(lr.Uncertain, l)
			}
		}
		out[t.get(r, "study_id")] = lr
	}
	return out, nil
}

var (
	mimicReportRe = regexp.MustCompile(`^s(\d+)\.txt$`)
	mimicSubject  = regexp.MustCompile(`^p(\d+)$`)
)

func (s *mimic) plan(ctx context.Context) ([]ingest.Unit, error) {
	reports, err := s.reportRoot(ctx)
	if err != nil {
		return nil, err
	}
	views, err := s.readViews(ctx)
	if err != nil {
		return nil, err
	}
	labels, err := s.readLabels(ctx)
	if err != nil {
		return nil, err
	}
	split := map[string]string{} // study_id → split
	if s.splitCSV != "" && s.b.fs.exists(ctx, s.splitCSV) {
		t, err := s.b.fs.readCSV(ctx, s.splitCSV, ',')
		if err != nil {
			return nil, err
		}
		if err := t.require("study_id", "split"); err != nil {
			return nil, err
		}
		for _, r := range t.Rows {
			if r.Err == nil {
				sp := t.get(r, "split")
				if sp == "validate" {
					sp = "val"
				}
				split[t.get(r, "study_id")] = sp
			}
		}
	}
	var units []ingest.Unit
	filesDir := joinPath(reports, "files")
	err = s.b.fs.walkFiles(ctx, filesDir, func(path string, reportSize int64, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		m := mimicReportRe.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			return nil
		}
		subj := filepath.Base(dirPath(path))
		if !mimicSubject.MatchString(subj) {
			return nil
		}
		rel := relPath(reports, path)
		if !s.b.opts.keep(rel) {
			return nil
		}
		st := &mimicStudy{Report: path, Subject: subj, Study: "s" + m[1], Split: split[m[1]]}
		if lr, ok := labels[m[1]]; ok {
			st.Pos, st.Uncertain, st.Labelled = lr.Pos, lr.Uncertain, true
		}
		// Listing the study folder is one directory read: cheap enough to
		// plan, and it lets the plan name (and size) every image.
		imgs, err := s.studyImages(ctx, reports, st)
		if err != nil {
			return err
		}
		if views != nil {
			sort.SliceStable(imgs, func(i, j int) bool {
				vi, li := views[dicomID(imgs[i])]
				vj, lj := views[dicomID(imgs[j])]
				return viewRank(vi, li) < viewRank(vj, lj)
			})
		}
		if s.maxImages > 0 && len(imgs) > s.maxImages {
			imgs = imgs[:s.maxImages]
		}
		st.Images = imgs
		size := reportSize
		for _, p := range imgs {
			size += s.b.fs.size(p)
		}
		units = append(units, ingest.Unit{ID: rel, Paths: append([]string{path}, imgs...), Bytes: size, Data: st})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(units, func(i, j int) bool { return units[i].ID < units[j].ID })
	return units, nil
}

// studyImages lists a study's images: files/pXX/pNNN/sNNN/*.{dcm,jpg,png}
// under root (the image tree may differ from the report tree).
func (s *mimic) studyImages(ctx context.Context, reports string, st *mimicStudy) ([]string, error) {
	relDir, err := filepath.Rel(reports, joinPath(dirPath(st.Report), st.Study))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, base := range []string{s.b.opts.Root, reports} {
		ents, err := s.b.fs.readDir(ctx, joinPath(base, relDir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			switch strings.ToLower(filepath.Ext(e.name)) {
			case ".dcm", ".jpg", ".jpeg", ".png":
				if !e.dir {
					out = append(out, joinPath(base, relDir, e.name))
				}
			}
		}
		if len(out) > 0 {
			break
		}
	}
	sort.Strings(out)
	return out, nil
}

// dicomID is an image file's name without its extension.
func dicomID(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

func (s *mimic) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	st := u.Data.(*mimicStudy)
	text, err := s.b.fs.readFile(ctx, st.Report, 1<<20)
	if err != nil {
		return nil, err
	}
	sec := ParseReport(string(text))
	if sec.Findings == "" && sec.Impression == "" {
		// About 5% of MIMIC-CXR's reports (wet reads, addenda) have neither
		// section: a known gap of the dataset, reported as a drop with its
		// reason rather than as broken input.
		return nil, &normalize.DropError{Reason: DropNoReportSections,
			Detail: (&RowError{File: st.Report, Row: 1, Reason: "report has neither a FINDINGS nor an IMPRESSION section"}).Error()}
	}
	paths := st.Images
	if len(paths) == 0 {
		return nil, &RowError{File: st.Report, Row: 1, Reason: "study " + st.Study + " has no images (.dcm, .jpg, .png) beside the report"}
	}
	var ims []shards.Image
	var ids []string
	for _, p := range paths {
		im, err := s.b.fs.loadImages(ctx, p, relPath(s.b.opts.Root, p), "DX")
		if err != nil {
			return nil, err
		}
		ims = append(ims, im...)
		ids = append(ids, strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)))
	}
	d := draft{Task: shards.TaskReport, Images: ims, Split: st.Split,
		Group: patientGroup("mimic", st.Subject),
		Key:   []string{st.Subject, st.Study},
		Meta:  map[string]string{"study": st.Study, "dicom_ids": strings.Join(ids, ",")},
	}
	d.Set, d.Response = reportSet(sec.Findings, sec.Impression)
	if sec.Indication != "" {
		d.Context = "Indication: " + sec.Indication
		d.Meta["indication"] = "1"
	}
	ds := []draft{d}
	if st.Labelled {
		resp := "No finding."
		if len(st.Pos) > 0 {
			resp = strings.Join(st.Pos, ", ") + "."
		}
		if len(st.Uncertain) > 0 {
			resp += " Uncertain: " + strings.Join(st.Uncertain, ", ") + "."
		}
		ds = append(ds, draft{Task: shards.TaskDiagnosis, Set: "diagnosis_open", Response: resp, Images: ims,
			Split: st.Split, Group: d.Group, Key: []string{st.Subject, st.Study, "chexpert"},
			Meta: map[string]string{"study": st.Study, "dicom_ids": d.Meta["dicom_ids"], "question": "open",
				"labels": strings.Join(st.Pos, "|"), "label_source": "mimic-cxr-2.0.0-chexpert"}})
	}
	return s.b.buildAll(ds)
}

// DropNoReportSections is the drop reason of a MIMIC-CXR study whose report
// has neither a FINDINGS nor an IMPRESSION section.
const DropNoReportSections = "report-without-findings-or-impression"

// ReportSections are the parts of a free-text radiology report medmd uses.
type ReportSections struct {
	Findings, Impression, Indication string
}

// sectionRe finds a section heading: an upper-case phrase at the start of a
// line, followed by a colon (MIMIC-CXR writes " FINDINGS:", " IMPRESSION:",
// " INDICATION:", " FINDINGS AND IMPRESSION:").
var sectionRe = regexp.MustCompile(`(?m)^[ \t]*([A-Z][A-Z /&()-]*[A-Z)]):`)

// ParseReport splits a MIMIC-CXR style free-text report into sections, the
// way the dataset's own section parser (create_section_files.py) does for
// the sections medmd needs: CONCLUSION counts as impression, a combined
// "FINDINGS AND IMPRESSION" fills findings. Line wraps inside a section are
// joined; paragraphs are kept apart by one newline.
func ParseReport(text string) ReportSections {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	locs := sectionRe.FindAllStringSubmatchIndex(text, -1)
	var r ReportSections
	for i, l := range locs {
		name := text[l[2]:l[3]]
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := cleanSection(text[l[1]:end])
		if body == "" {
			continue
		}
		switch name {
		case "FINDINGS", "FINDINGS AND IMPRESSION", "FINDINGS/IMPRESSION":
			if r.Findings == "" {
				r.Findings = body
			}
		case "IMPRESSION", "CONCLUSION", "IMPRESSIONS":
			if r.Impression == "" {
				r.Impression = body
			}
		case "INDICATION", "CLINICAL HISTORY", "HISTORY", "CLINICAL INDICATION":
			if r.Indication == "" {
				r.Indication = body
			}
		}
	}
	return r
}

var paraRe = regexp.MustCompile(`\n[ \t]*\n`)

// cleanSection joins wrapped lines and collapses runs of spaces; blank lines
// separate paragraphs.
func cleanSection(s string) string {
	var paras []string
	for _, p := range paraRe.Split(s, -1) {
		p = strings.Join(strings.Fields(p), " ")
		if p != "" {
			paras = append(paras, p)
		}
	}
	return strings.Join(paras, "\n")
}
