package datasets

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// MIMIC-CXR (Johnson et al. 2019, https://physionet.org/content/mimic-cxr/2.0.0/)
// ships its free-text reports as files/pXX/pSUBJECT/sSTUDY.txt
// (mimic-cxr-reports.zip) beside the DICOM images
// files/pXX/pSUBJECT/sSTUDY/DICOM_ID.dcm; MIMIC-CXR-JPG
// (https://physionet.org/content/mimic-cxr-jpg/2.0.0/) has the same tree with
// DICOM_ID.jpg, and mimic-cxr-2.0.0-split.csv.gz (dicom_id, study_id,
// subject_id, split: train/validate/test). One unit is one study: its
// report's FINDINGS and IMPRESSION sections, parsed from the free text, with
// the study's images.

const mimicName = "mimic-cxr"

func init() {
	fields := append(commonFields("datasets/mimic-cxr-jpg/2.0.0", "PhysioNet-Credentialed-Health-Data-License-1.5.0", false),
		ingest.Field{Name: "reports", Type: ingest.TypeString, Default: "",
			Description: "folder holding files/pXX/pNNN/sNNN.txt, relative to root (default: root)", Example: "../mimic-cxr-reports"},
		ingest.Field{Name: "split_csv", Type: ingest.TypeString, Default: "mimic-cxr-2.0.0-split.csv.gz",
			Description: "official split file, relative to root (.csv or .csv.gz); studies it does not list get no split",
			Example:     "mimic-cxr-2.0.0-split.csv"},
		ingest.Field{Name: "max_images", Type: ingest.TypeInt, Default: 4,
			Description: "at most this many images per study (in dicom_id order); 0 = all", Example: "2"},
	)
	register(ingest.Spec{
		Name:    mimicName,
		Summary: "MIMIC-CXR reports (files/pXX/pNNN/sNNN.txt) with their DICOM or MIMIC-CXR-JPG images as report samples (findings + impression)",
		Fields:  fields,
	}, newMIMIC)
}

type mimic struct {
	b         *builder
	reports   string
	splitCSV  string
	maxImages int
}

type mimicStudy struct {
	Report  string // path of sNNN.txt
	Subject string // pNNN
	Study   string // sNNN
	Split   string
	Images  []string // the study's image files, dicom_id order
}

func newMIMIC(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(mimicName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &mimic{b: b, reports: b.opts.Root, maxImages: p.Int("max_images")}
	if r := p.String("reports"); r != "" {
		s.reports = filepath.Join(b.opts.Root, r)
	}
	if f := p.String("split_csv"); f != "" {
		s.splitCSV = filepath.Join(b.opts.Root, f)
	}
	return rowSource{s, b}, nil
}

var (
	mimicReportRe = regexp.MustCompile(`^s(\d+)\.txt$`)
	mimicSubject  = regexp.MustCompile(`^p(\d+)$`)
)

func (s *mimic) plan(ctx context.Context) ([]ingest.Unit, error) {
	split := map[string]string{} // study_id → split
	if s.splitCSV != "" && exists(s.splitCSV) {
		t, err := readCSV(s.splitCSV, ',')
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
	filesDir := filepath.Join(s.reports, "files")
	err := filepath.WalkDir(filesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		m := mimicReportRe.FindStringSubmatch(d.Name())
		if m == nil {
			return nil
		}
		subj := filepath.Base(filepath.Dir(path))
		if !mimicSubject.MatchString(subj) {
			return nil
		}
		rel := relPath(s.reports, path)
		if !s.b.opts.keep(rel) {
			return nil
		}
		st := &mimicStudy{Report: path, Subject: subj, Study: "s" + m[1], Split: split[m[1]]}
		// Listing the study folder is one directory read: cheap enough to
		// plan, and it lets the plan name (and size) every image.
		imgs, err := s.studyImages(st)
		if err != nil {
			return err
		}
		if s.maxImages > 0 && len(imgs) > s.maxImages {
			imgs = imgs[:s.maxImages]
		}
		st.Images = imgs
		size := fileSize(path)
		for _, p := range imgs {
			size += fileSize(p)
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
func (s *mimic) studyImages(st *mimicStudy) ([]string, error) {
	relDir, err := filepath.Rel(s.reports, filepath.Join(filepath.Dir(st.Report), st.Study))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, base := range []string{s.b.opts.Root, s.reports} {
		ents, err := os.ReadDir(filepath.Join(base, relDir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".dcm", ".jpg", ".jpeg", ".png":
				out = append(out, filepath.Join(base, relDir, e.Name()))
			}
		}
		if len(out) > 0 {
			break
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *mimic) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	st := u.Data.(*mimicStudy)
	text, err := readBounded(st.Report, 1<<20)
	if err != nil {
		return nil, err
	}
	sec := ParseReport(string(text))
	if sec.Findings == "" && sec.Impression == "" {
		return nil, &RowError{File: st.Report, Row: 1, Reason: "report has neither a FINDINGS nor an IMPRESSION section"}
	}
	paths := st.Images
	if len(paths) == 0 {
		return nil, &RowError{File: st.Report, Row: 1, Reason: "study " + st.Study + " has no images (.dcm, .jpg, .png) beside the report"}
	}
	var ims []shards.Image
	var ids []string
	for _, p := range paths {
		im, err := loadImages(ctx, p, relPath(s.b.opts.Root, p), "DX")
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
	switch {
	case sec.Findings != "" && sec.Impression != "":
		d.Set, d.Response = "report_full", "Findings: "+sec.Findings+"\nImpression: "+sec.Impression
	case sec.Findings != "":
		d.Set, d.Response = "report_findings", sec.Findings
	default:
		d.Set, d.Response = "report_impression", sec.Impression
	}
	if sec.Indication != "" {
		d.Context = "Indication: " + sec.Indication
		d.Meta["indication"] = "1"
	}
	return s.b.buildAll([]draft{d})
}

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
