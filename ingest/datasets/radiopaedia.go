package datasets

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// Radiopaedia-style cases in RadFM's released shape (RadFM
// src/Dataset/dataset/radiopaedia.py): a JSON list of cases, each with
// pre (presentation), pat (patient: age, sex), npy_path (the case's images
// as one NumPy array of shape (S, C, H, W, D), see npy.go), finding,
// impression, articles (list of article paragraphs about the diagnosis),
// title (the diagnosis) and radiographic_features (list of sentences).
// Beside it RadFM uses a modality CSV (image_path, answer) and a VQA CSV
// (image_path, question, answer); both are optional here.
//
// Per case: a report sample (findings + impression), a rationale sample
// (diagnosis + radiographic features + article text), an open diagnosis
// sample, and yes/no diagnosis samples balanced per diagnosis with
// negatives drawn from other cases' diagnoses.

const radiopaediaName = "radiopaedia"

func init() {
	fields := append(commonFields("datasets/radiopaedia", "CC-BY-NC-SA-3.0", true),
		ingest.Field{Name: "cases", Type: ingest.TypeString, Default: "cases.json",
			Description: "case list (RadFM JSON shape), relative to root; npy_path is relative to root", Example: "radiopaedia_train.json"},
		ingest.Field{Name: "modality_csv", Type: ingest.TypeString, Default: "",
			Description: "optional modality CSV (image_path, answer), relative to root", Example: "radiology_modality_train.csv"},
		ingest.Field{Name: "vqa_csv", Type: ingest.TypeString, Default: "",
			Description: "optional VQA CSV (image_path, question, answer), relative to root", Example: "radiology_vqa_train.csv"},
		ingest.Field{Name: "split", Type: ingest.TypeString, Default: "",
			Description: "split recorded on every sample (the files are per split)", Example: "train"},
	)
	register(ingest.Spec{
		Name:    radiopaediaName,
		Summary: "Radiopaedia-style cases in RadFM's JSON shape (npy volumes) as report, rationale, diagnosis, modality and vqa samples",
		Fields:  fields,
	}, newRadiopaedia)
}

type radiopaedia struct {
	b               *builder
	cases, mod, vqa string
	split           string
}

type rpCase struct {
	Entry      int
	Images     []string
	Pre, Pat   string
	Finding    string
	Impression string
	Articles   string
	Title      string
	Features   string
	Group      string
	Neg        []string
}

type rpImageRow struct {
	File  string
	Line  int
	Image string
	Kind  string // "modality" or "vqa"
	Label string // modality
	Neg   []string
	Q, A  string
	Group string
}

func newRadiopaedia(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(radiopaediaName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &radiopaedia{b: b, split: p.String("split")}
	join := func(name string) string {
		if v := p.String(name); v != "" {
			return filepath.Join(b.opts.Root, v)
		}
		return ""
	}
	s.cases, s.mod, s.vqa = join("cases"), join("modality_csv"), join("vqa_csv")
	return rowSource{s, b}, nil
}

// textOrList reads a field RadFM stores either as a string or a list of
// strings, joined with spaces.
func textOrList(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s), true
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		var parts []string
		for _, x := range l {
			if x = strings.TrimSpace(x); x != "" {
				parts = append(parts, x)
			}
		}
		return strings.Join(parts, " "), true
	}
	return "", false
}

var caseIDRe = regexp.MustCompile(`^(.+)_\d+$`)

func (s *radiopaedia) plan(ctx context.Context) ([]ingest.Unit, error) {
	var units []ingest.Unit
	var cases []*rpCase
	var rows []labelRow
	if s.cases != "" {
		list, err := readJSONList(s.cases)
		if err != nil {
			return nil, err
		}
		rel := relPath(s.b.opts.Root, s.cases)
		for i, raw := range list {
			entry := i + 1
			id := rel + ":" + strconv.Itoa(entry)
			if !s.b.opts.keep(id) {
				continue
			}
			c, err := s.parseCase(raw, entry)
			if err != nil {
				units = append(units, errUnit(id, []string{s.cases}, err))
				continue
			}
			cases = append(cases, c)
			rows = append(rows, labelRow{ID: id, Pos: []string{c.Title}})
		}
	}
	if s.b.opts.YesNo {
		vocab := uniqueLabels(rows)
		neg := negatives(rows, vocab, s.b.opts.Seed)
		for i := range cases {
			cases[i].Neg = neg[i]
		}
	}
	rel := relPath(s.b.opts.Root, s.cases)
	for _, c := range cases {
		var size int64
		for _, p := range c.Images {
			size += fileSize(p)
		}
		units = append(units, ingest.Unit{ID: rel + ":" + strconv.Itoa(c.Entry), Paths: append([]string{s.cases}, c.Images...), Bytes: size, Data: c})
	}
	for _, kind := range []string{"modality", "vqa"} {
		file := s.mod
		if kind == "vqa" {
			file = s.vqa
		}
		if file == "" {
			continue
		}
		u, err := s.planCSV(file, kind)
		if err != nil {
			return nil, err
		}
		units = append(units, u...)
	}
	return units, nil
}

// uniqueLabels lists the distinct labels of rows in first-seen order.
func uniqueLabels(rows []labelRow) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		for _, l := range r.Pos {
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

func (s *radiopaedia) parseCase(raw json.RawMessage, entry int) (*rpCase, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, rowErrorf(s.cases, entry, "bad case: %v", err)
	}
	c := &rpCase{Entry: entry}
	fields := []struct {
		name string
		dst  *string
	}{{"pre", &c.Pre}, {"pat", &c.Pat}, {"finding", &c.Finding}, {"impression", &c.Impression},
		{"articles", &c.Articles}, {"title", &c.Title}, {"radiographic_features", &c.Features}}
	for _, f := range fields {
		v, ok := textOrList(rec[f.name])
		if !ok {
			return nil, rowErrorf(s.cases, entry, "field %q is neither text nor a list of text", f.name)
		}
		*f.dst = v
	}
	var paths []string
	var p string
	if json.Unmarshal(rec["npy_path"], &p) == nil && p != "" {
		paths = []string{p}
	} else if json.Unmarshal(rec["npy_path"], &paths) != nil || len(paths) == 0 {
		return nil, rowErrorf(s.cases, entry, "no npy_path")
	}
	for _, p := range paths {
		full, err := safeJoin(s.b.opts.Root, p)
		if err != nil {
			return nil, rowErrorf(s.cases, entry, "%v", err)
		}
		c.Images = append(c.Images, full)
	}
	if c.Title == "" {
		return nil, rowErrorf(s.cases, entry, "no title (diagnosis)")
	}
	if c.Finding == "" && c.Impression == "" && c.Features == "" && c.Articles == "" {
		return nil, rowErrorf(s.cases, entry, "no finding, impression, radiographic_features or articles")
	}
	base := strings.TrimSuffix(filepath.Base(paths[0]), filepath.Ext(paths[0]))
	caseID := base
	if m := caseIDRe.FindStringSubmatch(base); m != nil {
		caseID = m[1]
	}
	if v, ok := textOrList(rec["case_id"]); ok && v != "" {
		caseID = v
	}
	c.Group = group(radiopaediaName, caseID)
	return c, nil
}

func (s *radiopaedia) planCSV(file, kind string) ([]ingest.Unit, error) {
	t, err := readCSV(file, ',')
	if err != nil {
		return nil, err
	}
	cols := []string{"image_path", "answer"}
	if kind == "vqa" {
		cols = append(cols, "question")
	}
	if err := t.require(cols...); err != nil {
		return nil, err
	}
	rel := relPath(s.b.opts.Root, file)
	var units []ingest.Unit
	var rows []*rpImageRow
	var lrows []labelRow
	for _, r := range t.Rows {
		id := rel + ":" + strconv.Itoa(r.Line)
		if !s.b.opts.keep(id) {
			continue
		}
		if r.Err != nil {
			units = append(units, errUnit(id, []string{file}, r.Err))
			continue
		}
		ip, a, q := t.get(r, "image_path"), t.get(r, "answer"), t.get(r, "question")
		var err error
		switch {
		case ip == "":
			err = rowErrorf(file, r.Line, "no image_path")
		case a == "":
			err = rowErrorf(file, r.Line, "no answer")
		case kind == "vqa" && q == "":
			err = rowErrorf(file, r.Line, "no question")
		}
		img, jerr := safeJoin(s.b.opts.Root, ip)
		if err == nil && jerr != nil {
			err = rowErrorf(file, r.Line, "%v", jerr)
		}
		if err != nil {
			units = append(units, errUnit(id, []string{file}, err))
			continue
		}
		base := strings.TrimSuffix(filepath.Base(ip), filepath.Ext(ip))
		caseID := base
		if m := caseIDRe.FindStringSubmatch(base); m != nil {
			caseID = m[1]
		}
		row := &rpImageRow{File: file, Line: r.Line, Image: img, Kind: kind, Q: q, A: a, Group: group(radiopaediaName, caseID)}
		if kind == "modality" {
			row.Label = a
			lrows = append(lrows, labelRow{ID: id, Pos: []string{a}})
		}
		rows = append(rows, row)
		units = append(units, ingest.Unit{ID: id, Paths: []string{file, img}, Bytes: fileSize(img), Data: row})
	}
	if kind == "modality" && s.b.opts.YesNo {
		neg := negatives(lrows, uniqueLabels(lrows), s.b.opts.Seed)
		for i, r := range rows {
			r.Neg = neg[i]
		}
	}
	return units, nil
}

func (s *radiopaedia) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	switch d := u.Data.(type) {
	case *rpCase:
		return s.readCase(ctx, d)
	case *rpImageRow:
		return s.readRow(ctx, d)
	}
	return nil, nil
}

func (s *radiopaedia) readCase(ctx context.Context, c *rpCase) ([]shards.Sample, error) {
	var ims []shards.Image
	for _, p := range c.Images {
		im, err := loadImages(ctx, p, relPath(s.b.opts.Root, p), "")
		if err != nil {
			return nil, rowErrorf(s.cases, c.Entry, "image: %v", err)
		}
		ims = append(ims, im...)
	}
	ctxText := strings.TrimSpace(c.Pat + " " + c.Pre)
	key := strconv.Itoa(c.Entry)
	base := func(task, set, resp string, k ...string) draft {
		return draft{Task: task, Set: set, Response: resp, Images: ims, Context: ctxText,
			Group: c.Group, Split: s.split, Key: append([]string{c.Title, key}, k...),
			Meta: map[string]string{"diagnosis": c.Title}}
	}
	var ds []draft
	switch {
	case c.Finding != "" && c.Impression != "":
		ds = append(ds, base(shards.TaskReport, "report_full", "Findings: "+c.Finding+"\nImpression: "+c.Impression, "report"))
	case c.Finding != "":
		ds = append(ds, base(shards.TaskReport, "report_findings", c.Finding, "report"))
	case c.Impression != "":
		ds = append(ds, base(shards.TaskReport, "report_impression", c.Impression, "report"))
	}
	if c.Features != "" || c.Articles != "" {
		resp := "Diagnosis: " + c.Title + "."
		if c.Articles != "" {
			resp += "\n" + c.Articles
		}
		if c.Features != "" {
			resp += "\nRadiographic features: " + c.Features
		}
		ds = append(ds, base(shards.TaskRationale, "rationale", resp, "rationale"))
	}
	ds = append(ds, base(shards.TaskDiagnosis, "diagnosis_case", c.Title+".", "diagnosis"))
	if s.b.opts.YesNo {
		d := base(shards.TaskDiagnosis, "diagnosis_yesno", yesNo(true), "yes", c.Title)
		d.Vars = map[string]string{"label": c.Title}
		d.Meta = map[string]string{"diagnosis": c.Title, "label": c.Title, "answer": "yes"}
		ds = append(ds, d)
		for _, n := range c.Neg {
			d := base(shards.TaskDiagnosis, "diagnosis_yesno", yesNo(false), "no", n)
			d.Vars = map[string]string{"label": n}
			d.Meta = map[string]string{"diagnosis": c.Title, "label": n, "answer": "no"}
			ds = append(ds, d)
		}
	}
	return s.b.buildAll(ds)
}

func (s *radiopaedia) readRow(ctx context.Context, r *rpImageRow) ([]shards.Sample, error) {
	ims, err := loadImages(ctx, r.Image, relPath(s.b.opts.Root, r.Image), modalityCode(r.Label))
	if err != nil {
		return nil, rowErrorf(r.File, r.Line, "image: %v", err)
	}
	rel := relPath(s.b.opts.Root, r.Image)
	if r.Kind == "vqa" {
		return s.b.buildAll([]draft{{Task: shards.TaskVQA, Set: "vqa", Vars: map[string]string{"question": r.Q},
			Response: r.A, Images: ims, Group: r.Group, Split: s.split, Key: []string{"vqa", rel, r.Q, r.A}}})
	}
	ds := []draft{{Task: shards.TaskModality, Set: "modality_open", Response: r.A + ".", Images: ims,
		Group: r.Group, Split: s.split, Key: []string{"modality", rel, "open"},
		Meta: map[string]string{"modality": r.A, "question": "open"}}}
	if s.b.opts.YesNo {
		ds = append(ds, draft{Task: shards.TaskModality, Set: "modality_yesno", Vars: map[string]string{"modality": r.A},
			Response: yesNo(true), Images: ims, Group: r.Group, Split: s.split, Key: []string{"modality", rel, "yes", r.A},
			Meta: map[string]string{"modality": r.A, "label": r.A, "answer": "yes", "question": "yesno"}})
		for _, n := range r.Neg {
			ds = append(ds, draft{Task: shards.TaskModality, Set: "modality_yesno", Vars: map[string]string{"modality": n},
				Response: yesNo(false), Images: ims, Group: r.Group, Split: s.split, Key: []string{"modality", rel, "no", n},
				Meta: map[string]string{"modality": r.A, "label": n, "answer": "no", "question": "yesno"}})
		}
	}
	return s.b.buildAll(ds)
}
