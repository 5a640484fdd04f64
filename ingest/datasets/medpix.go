package datasets

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// MedPix 2.0's JSON release is read by medpix2.go; this file reads MedPix
// cases in RadFM's released CSV shapes (RadFM
// src/Dataset/dataset/MedPix_dataset.py), with the images in one folder:
//
//   - single-image rows "type, context, name": type is modality, plane or
//     caption; context is the answer; name the image file;
//   - case rows "type, context, history, name": type is one of findings,
//     exam, ddx, diagnosis, dxHow, txFollowup, discussion; history the
//     patient history put before the question; name a comma-separated list
//     of the case's images;
//   - question rows "question, answer, explanation, name".
//
// Each CSV's shape is recognised from its header. Modality and plane rows
// also get yes/no questions, balanced per value, with negatives drawn from
// the other values of the same file.

const medPixName = "medpix"

func init() {
	fields := append(commonFields("datasets/MedPix", "LicenseRef-MedPix-terms-of-use", true),
		ingest.Field{Name: "files", Type: ingest.TypeStrings,
			Default:     medPixDefaultFiles,
			Description: "RadFM CSVs, relative to root, in any of the three shapes; the split is taken from each name; a missing CSV is a warning. Not used when root holds MedPix 2.0 (Case_topic.json, Descriptions.json)",
			Example:     "[MedPix_single_test.csv]"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "images",
			Description: "image folder of the RadFM CSVs, relative to root (MedPix 2.0 uses its own images/)", Example: "images"},
	)
	register(ingest.Spec{
		Name:    medPixName,
		Summary: "MedPix 2.0 (Case_topic.json, Descriptions.json, images/, official split) or RadFM's MedPix CSVs (single image, case, question) as modality, caption, report, diagnosis, rationale and vqa samples",
		Fields:  fields,
	}, newMedPix)
}

// medPixDefaultFiles are RadFM's MedPix CSV names (its README lists
// MedPix_single_train/test.csv and MedPix_multi_train/test.csv).
var medPixDefaultFiles = []string{"MedPix_single_train.csv", "MedPix_multi_train.csv", "MedPix_questions_train.csv"}

type medPix struct {
	b      *builder
	files  []string
	images string
}

// medPixType maps a row type to its task and prompt set.
var medPixType = map[string]struct{ task, set string }{
	"modality":   {shards.TaskModality, "modality_open"},
	"plane":      {shards.TaskVQA, "plane_open"},
	"caption":    {shards.TaskCaption, "caption"},
	"findings":   {shards.TaskReport, "report_findings"},
	"exam":       {shards.TaskReport, "exam"},
	"ddx":        {shards.TaskDiagnosis, "differential"},
	"diagnosis":  {shards.TaskDiagnosis, "diagnosis_case"},
	"dxHow":      {shards.TaskModality, "imaging_used"},
	"txFollowup": {shards.TaskVQA, "treatment"},
	"discussion": {shards.TaskRationale, "discussion"},
}

type medPixRow struct {
	File   string
	Line   int
	Kind   string // a medPixType key, or "qa"
	Images []string
	Text   string // context (answer) or question answer
	Q      string
	Hist   string
	Neg    []string
	Group  string
	Split  string
	Mods   []string // modality code of each image, when the dataset says
}

func newMedPix(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(medPixName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &medPix{b: b, images: joinPath(b.opts.Root, p.String("images"))}
	for _, f := range p.Strings("files") {
		s.files = append(s.files, joinPath(b.opts.Root, f))
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("files: none given")
	}
	return rowSource{s, b}, nil
}

var mpxRe = regexp.MustCompile(`MPX\d+`)

// medPixGroup is the case key of a row: the MPX case number in its first
// image name when present, else that image's name.
func medPixGroup(names []string) string {
	if m := mpxRe.FindString(names[0]); m != "" {
		return group(medPixName, m)
	}
	return group(medPixName, strings.TrimSuffix(filepath.Base(names[0]), filepath.Ext(names[0])))
}

func (s *medPix) plan(ctx context.Context) ([]ingest.Unit, error) {
	if dir := s.b.fs.findMedPix2(ctx, s.b.opts.Root); dir != "" {
		return s.planV2(ctx, dir)
	}
	files, missing := s.b.fs.present(ctx, s.files)
	if len(files) == 0 {
		looked := []string{strings.Join(medPix2Files, " + ") + " (MedPix 2.0, in root or " + medPix2Folder + "/)"}
		for _, f := range missing {
			looked = append(looked, relPath(s.b.opts.Root, f))
		}
		return nil, layoutError(medPixName, s.b.opts.Root, looked...)
	}
	for _, f := range missing {
		slog.Warn("medpix: CSV missing, skipped", "root", s.b.opts.Root, "file", relPath(s.b.opts.Root, f))
	}
	var units []ingest.Unit
	for _, file := range files {
		t, err := s.b.fs.readCSV(ctx, file, ',')
		if err != nil {
			return nil, err
		}
		qa := t.has("question")
		if qa {
			err = t.require("question", "answer", "name")
		} else {
			err = t.require("type", "context", "name")
		}
		if err != nil {
			return nil, err
		}
		rel := relPath(s.b.opts.Root, file)
		split := splitFromName(file)
		var yn []*medPixRow
		var lrows = map[string][]labelRow{}
		for _, r := range t.Rows {
			id := rel + ":" + strconv.Itoa(r.Line)
			if !s.b.opts.keep(id) {
				continue
			}
			if r.Err != nil {
				units = append(units, errUnit(id, []string{file}, r.Err))
				continue
			}
			row, err := s.row(t, r, file, qa)
			if err != nil {
				units = append(units, errUnit(id, []string{file}, err))
				continue
			}
			row.Split = split
			if row.Kind == "modality" || row.Kind == "plane" {
				yn = append(yn, row)
				lrows[row.Kind] = append(lrows[row.Kind], labelRow{ID: id, Pos: []string{row.Text}})
			}
			var size int64
			for _, p := range row.Images {
				size += s.b.fs.size(p)
			}
			units = append(units, ingest.Unit{ID: id, Paths: append([]string{file}, row.Images...), Bytes: size, Data: row})
		}
		if s.b.opts.YesNo {
			setNegatives(yn, lrows, s.b.opts.Seed)
		}
	}
	return units, nil
}

func (s *medPix) row(t *csvTable, r csvRow, file string, qa bool) (*medPixRow, error) {
	row := &medPixRow{File: file, Line: r.Line}
	name := t.get(r, "name")
	if name == "" {
		return nil, rowErrorf(file, r.Line, "no image name")
	}
	for _, n := range strings.Split(name, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		p, err := safeJoin(s.images, n)
		if err != nil {
			return nil, rowErrorf(file, r.Line, "%v", err)
		}
		row.Images = append(row.Images, p)
	}
	if len(row.Images) == 0 {
		return nil, rowErrorf(file, r.Line, "no image name")
	}
	row.Group = medPixGroup(strings.Split(name, ","))
	if qa {
		row.Kind = "qa"
		row.Q, row.Text = t.get(r, "question"), t.get(r, "answer")
		if row.Q == "" || row.Text == "" {
			return nil, rowErrorf(file, r.Line, "question or answer empty")
		}
		if e := t.get(r, "explanation"); e != "" {
			row.Text = strings.TrimRight(row.Text, ". ") + ". " + e
		}
		return row, nil
	}
	row.Kind = t.get(r, "type")
	if _, ok := medPixType[row.Kind]; !ok {
		return nil, rowErrorf(file, r.Line, "unknown type %q", row.Kind)
	}
	// RadFM strips the "• " bullets MedPix uses in its lists.
	row.Text = strings.TrimSpace(strings.ReplaceAll(t.get(r, "context"), "• ", ""))
	if row.Text == "" {
		return nil, rowErrorf(file, r.Line, "empty context")
	}
	if h := t.get(r, "history"); h != "" && h != "nan" {
		row.Hist = h
	}
	return row, nil
}

func (s *medPix) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	row := u.Data.(*medPixRow)
	var ims []shards.Image
	var rels []string
	for i, p := range row.Images {
		mod := ""
		if i < len(row.Mods) {
			mod = row.Mods[i]
		}
		if row.Kind == "modality" && mod == "" {
			mod = modalityCode(row.Text)
		}
		rel := relPath(s.b.opts.Root, p)
		im, err := s.b.fs.loadImages(ctx, p, rel, mod)
		if err != nil {
			return nil, imageError(row.File, row.Line, err)
		}
		ims = append(ims, im...)
		rels = append(rels, rel)
	}
	key := []string{row.Kind, strings.Join(rels, ","), row.Q, row.Text}
	if row.Kind == "qa" {
		return s.b.buildAll([]draft{{Task: shards.TaskVQA, Set: "vqa", Vars: map[string]string{"question": row.Q},
			Response: row.Text, Images: ims, Group: row.Group, Split: row.Split, Key: key}})
	}
	ty := medPixType[row.Kind]
	resp := row.Text
	if row.Kind == "modality" || row.Kind == "plane" {
		resp += "."
	}
	ds := []draft{{Task: ty.task, Set: ty.set, Response: resp, Context: row.Hist, Images: ims,
		Group: row.Group, Split: row.Split, Key: append(key, "open"),
		Meta: map[string]string{"type": row.Kind}}}
	if (row.Kind == "modality" || row.Kind == "plane") && s.b.opts.YesNo {
		set, v := "modality_yesno", "modality"
		if row.Kind == "plane" {
			set, v = "plane_yesno", "plane"
		}
		ds = append(ds, draft{Task: ty.task, Set: set, Vars: map[string]string{v: row.Text}, Response: yesNo(true),
			Images: ims, Group: row.Group, Split: row.Split, Key: append(key, "yes"),
			Meta: map[string]string{"type": row.Kind, "label": row.Text, "answer": "yes"}})
		for _, n := range row.Neg {
			ds = append(ds, draft{Task: ty.task, Set: set, Vars: map[string]string{v: n}, Response: yesNo(false),
				Images: ims, Group: row.Group, Split: row.Split, Key: append(append([]string(nil), key...), "no", n),
				Meta: map[string]string{"type": row.Kind, "label": n, "answer": "no"}})
		}
	}
	return s.b.buildAll(ds)
}
