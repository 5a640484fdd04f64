package datasets

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// CheXpert Plus (Chambon et al. 2024, Stanford AIMI,
// https://github.com/Stanford-AIMI/chexpert-plus) adds reports to CheXpert:
// df_chexpert_plus_240401.csv has one row per image with 27 columns —
// path_to_image, path_to_dcm, frontal_lateral, ap_pa, deid_patient_id,
// patient_report_date_order, report, section_narrative,
// section_clinical_history, section_history, section_comparison,
// section_technique, section_procedure_comments, section_findings,
// section_impression, section_end_of_impression, section_summary,
// section_accession_number, age, sex, race, ethnicity, interpreter_needed,
// insurance_type, recent_bmi, deceased, split. path_to_image names the
// CheXpert JPEG ("train/patient42142/study5/view1_frontal.jpg"); the release
// ships the images as PNG under PNG/ with the same tree and a .png name.
// CheXbert labels come separately as JSON Lines (chexbert_labels/
// findings_fixed.json, impression_fixed.json): path_to_image and the 14
// observations, each 1.0, 0.0, -1.0 or null.
//
// Per study (the report repeats on each of its images' rows): a report
// sample (findings and impression, clinical history as context) with the
// study's images, frontal first. Where a label file is present, each
// labelled image also gets CheXpert's diagnosis samples under the same
// uncertain-label policy.

const cheXpertPlusName = "chexpert-plus"

// cheXpertPlusColumns are the columns the adapter reads; the CSV's other
// columns (demographics, accession) are not used.
var cheXpertPlusColumns = []string{"path_to_image", "frontal_lateral", "deid_patient_id",
	"section_findings", "section_impression", "section_clinical_history", "split"}

func init() {
	fields := append(commonFields("datasets/chexpert-plus", "LicenseRef-Stanford-University-Dataset-Research-Use-Agreement", true), labelFields()...)
	fields = append(fields,
		ingest.Field{Name: "csv", Type: ingest.TypeString, Default: "df_chexpert_plus_240401.csv",
			Description: "the report CSV, relative to root", Example: "df_chexpert_plus_240401.csv"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "PNG",
			Description: "folder holding the PNG tree (path_to_image with .png); an image not there is looked for as recorded (the CheXpert JPEG tree) under root",
			Example:     "PNG"},
		ingest.Field{Name: "labels", Type: ingest.TypeStrings,
			Default:     []string{"chexbert_labels/impression_fixed.json", "chexbert_labels/findings_fixed.json"},
			Description: "CheXbert label files (JSON Lines), relative to root: the first present gives diagnosis samples; none present gives report samples only",
			Example:     "[chexbert_labels/findings_fixed.json]"},
		ingest.Field{Name: "uncertain", Type: ingest.TypeString, Default: "ignore", Enum: []string{"ignore", "ones", "zeros"},
			Description: "policy for -1 (uncertain) labels, as for chexpert", Example: "ones"},
	)
	register(ingest.Spec{
		Name:    cheXpertPlusName,
		Summary: "CheXpert Plus (df_chexpert_plus_240401.csv + PNG/, CheXbert label JSON) as report samples per study and, with labels, diagnosis samples",
		Fields:  fields,

		// Groups and image paths carry the patient id, pseudonymised.
		PatientIDs: true,
	}, newCheXpertPlus)
}

type cheXpertPlus struct {
	ls        *labelSet
	csv       string
	images    string
	labels    []string
	uncertain string
}

// cxpStudy is one study's report unit.
type cxpStudy struct {
	File       string
	Line       int // first row of the study
	Study      string
	Images     []string
	Findings   string
	Impression string
	History    string
	Group      string
	Split      string
}

func newCheXpertPlus(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(cheXpertPlusName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &cheXpertPlus{ls: &labelSet{b: b, vocab: cheXpertLabels, noFinding: "No finding", maxQuestions: p.Int("max_questions")},
		csv: joinPath(b.opts.Root, p.String("csv")), images: joinPath(b.opts.Root, p.String("images")),
		uncertain: p.String("uncertain")}
	if s.uncertain == "" {
		s.uncertain = "ignore"
	}
	for _, l := range p.Strings("labels") {
		s.labels = append(s.labels, joinPath(b.opts.Root, l))
	}
	return rowSource{s, b}, nil
}

// image finds the file of a path_to_image: the PNG under images, else the
// recorded path under root.
func (s *cheXpertPlus) image(ctx context.Context, rec string) (string, error) {
	png := strings.TrimSuffix(rec, path.Ext(rec)) + ".png"
	p, err := safeJoin(s.images, png)
	if err != nil {
		return "", err
	}
	if s.ls.b.fs.exists(ctx, p) {
		return p, nil
	}
	if q, err := safeJoin(s.ls.b.opts.Root, rec); err == nil && s.ls.b.fs.exists(ctx, q) {
		return q, nil
	}
	return p, nil // reported missing when read
}

// readLabels reads the first label file present: path_to_image → values.
func (s *cheXpertPlus) readLabels(ctx context.Context) (string, map[string]map[string]*float64, error) {
	for _, f := range s.labels {
		if !s.ls.b.fs.exists(ctx, f) {
			continue
		}
		data, err := s.ls.b.fs.readJSONFile(ctx, f)
		if err != nil {
			return "", nil, err
		}
		out := map[string]map[string]*float64{}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				return "", nil, rowErrorf(f, line, "bad record: %v", err)
			}
			var p string
			if json.Unmarshal(rec["path_to_image"], &p) != nil || p == "" {
				return "", nil, rowErrorf(f, line, "no path_to_image")
			}
			vals := map[string]*float64{}
			for _, l := range append([]string{"No Finding"}, cheXpertLabels...) {
				var v *float64
				if raw, ok := rec[l]; ok && json.Unmarshal(raw, &v) != nil {
					return "", nil, rowErrorf(f, line, "column %q: %s is not a number or null", l, raw)
				}
				vals[l] = v
			}
			out[p] = vals
		}
		if err := sc.Err(); err != nil {
			return "", nil, fmt.Errorf("%s: %w", f, err)
		}
		return f, out, nil
	}
	return "", nil, nil
}

func (s *cheXpertPlus) plan(ctx context.Context) ([]ingest.Unit, error) {
	b := s.ls.b
	if !s.ls.b.fs.exists(ctx, s.csv) {
		return nil, layoutError(cheXpertPlusName, b.opts.Root, relPath(b.opts.Root, s.csv)+" (with "+relPath(b.opts.Root, s.images)+"/)")
	}
	t, err := s.ls.b.fs.readCSV(ctx, s.csv, ',')
	if err != nil {
		return nil, err
	}
	if err := t.require(cheXpertPlusColumns...); err != nil {
		return nil, err
	}
	labelFile, labels, err := s.readLabels(ctx)
	if err != nil {
		return nil, err
	}
	if labelFile == "" {
		slog.Warn("chexpert-plus: no CheXbert label file, report samples only", "root", b.opts.Root)
	}
	rel := relPath(b.opts.Root, s.csv)
	studies := map[string]*cxpStudy{}
	var order []string
	var imgs []*labelledImage
	var bad []ingest.Unit
	frontal := map[string]bool{}
	for _, r := range t.Rows {
		id := rel + ":" + strconv.Itoa(r.Line)
		fail := func(err error) { bad = append(bad, errUnit(id, []string{s.csv}, err)) }
		if r.Err != nil {
			fail(r.Err)
			continue
		}
		p := t.get(r, "path_to_image")
		if p == "" {
			fail(rowErrorf(s.csv, r.Line, "no path_to_image"))
			continue
		}
		img, err := s.image(ctx, p)
		if err != nil {
			fail(rowErrorf(s.csv, r.Line, "%v", err))
			continue
		}
		study := path.Dir(filepath.ToSlash(p))
		if !b.opts.keep(study) {
			continue
		}
		split := t.get(r, "split")
		if split == "valid" || split == "validate" {
			split = "val"
		}
		pid := t.get(r, "deid_patient_id")
		if pid == "" {
			if m := patientRe.FindStringSubmatch(p); m != nil {
				pid = m[1]
			}
		}
		grp := patientGroup(cheXpertPlusName, pid)
		st := studies[study]
		if st == nil {
			st = &cxpStudy{File: s.csv, Line: r.Line, Study: study, Group: grp, Split: split,
				Findings: t.get(r, "section_findings"), Impression: t.get(r, "section_impression"),
				History: t.get(r, "section_clinical_history")}
			studies[study] = st
			order = append(order, study)
		}
		st.Images = append(st.Images, img)
		frontal[img] = strings.EqualFold(t.get(r, "frontal_lateral"), "Frontal")
		if labels == nil {
			continue
		}
		vals, ok := labels[p]
		if !ok {
			continue
		}
		im := &labelledImage{File: s.csv, Line: r.Line, Image: img, Modality: "DX", Split: split, Key: p, Group: grp,
			Meta: map[string]string{"row": id, "view": t.get(r, "frontal_lateral"), "projection": t.get(r, "ap_pa"),
				"uncertain_policy": s.uncertain, "label_source": strings.TrimSuffix(filepath.Base(labelFile), ".json")}}
		for _, l := range cheXpertLabels {
			v := vals[l]
			switch {
			case v == nil:
				// Not mentioned: negative, as CheXpert's blank default.
			case *v == 1 || *v == -1 && s.uncertain == "ones":
				im.Pos = append(im.Pos, l)
			case *v == -1 && s.uncertain == "ignore":
				im.Skip = append(im.Skip, l)
				im.Uncertain = append(im.Uncertain, l)
			}
		}
		imgs = append(imgs, im)
	}
	units := s.ls.units(imgs, bad)
	for _, k := range order {
		st := studies[k]
		// Frontal views first, then file order.
		sort.SliceStable(st.Images, func(i, j int) bool { return frontal[st.Images[i]] && !frontal[st.Images[j]] })
		var size int64
		for _, p := range st.Images {
			size += s.ls.b.fs.size(p)
		}
		units = append(units, ingest.Unit{ID: rel + ":study:" + k, Paths: append([]string{s.csv}, st.Images...), Bytes: size, Data: st})
	}
	return units, nil
}

func (s *cheXpertPlus) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	st, ok := u.Data.(*cxpStudy)
	if !ok {
		return s.ls.read(ctx, u)
	}
	b := s.ls.b
	if st.Findings == "" && st.Impression == "" {
		return nil, &normalize.DropError{Reason: DropNoReportSections,
			Detail: rowErrorf(st.File, st.Line, "study %s: report has neither section_findings nor section_impression", pseudonymisePath(st.Study)).Error()}
	}
	var ims []shards.Image
	for _, p := range st.Images {
		im, err := s.ls.b.fs.loadImages(ctx, p, relPath(b.opts.Root, p), "DX")
		if err != nil {
			return nil, imageError(st.File, st.Line, err)
		}
		ims = append(ims, im...)
	}
	d := draft{Task: shards.TaskReport, Images: ims, Split: st.Split, Group: st.Group,
		Key: []string{st.Study}, Meta: map[string]string{"study": pseudonymisePath(st.Study)}}
	d.Set, d.Response = reportSet(st.Findings, st.Impression)
	if st.History != "" {
		d.Context = "Clinical history: " + st.History
	}
	return b.buildAll([]draft{d})
}
