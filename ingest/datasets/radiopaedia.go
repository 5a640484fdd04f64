package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// Radiopaedia cases in RadFM's released shape (RadFM
// src/Dataset/dataset/radiopaedia.py; the file names are those of RadFM's
// README and src/Dataset/multi_dataset.py): radiology_article_npy_train.json
// and radiology_article_npy_test.json are JSON lists of cases, each with pre
// (presentation), pat (patient: age, sex), npy_path (the case's images as one
// NumPy array of shape (S, C, H, W, D), see npy.go), finding, impression,
// articles (list of article paragraphs about the diagnosis), title (the
// diagnosis) and radiographic_features (list of sentences). Beside them RadFM
// uses modality CSVs radio_modality_{train,test}.csv (image_path, answer:
// image_path a .nii.gz written by jpg2nii_data_convert.py) and VQA CSVs
// radiology_vqa_{train,test}.csv (image_path, question, answer); both are
// optional here.
//
// The released files record image paths as they were on the authors'
// machines: absolute (/mnt/petrelfs/…/processed_file/npys/…) or relative to
// their script folder (../processed_file/processed_images/…). Each recorded
// path is resolved under root: through path_rewrite (recorded prefix → local
// folder) first, then as a plain relative path, then from its
// processed_file/ segment on (root/processed_file/…, RadFM's own folder
// name). A path none of these finds is quarantined with its file and row and
// a hint to set path_rewrite.
//
// Per case: a report sample (findings + impression), a rationale sample
// (diagnosis + radiographic features + article text), an open diagnosis
// sample, and yes/no diagnosis samples balanced per diagnosis with
// negatives drawn from other cases' diagnoses.

const radiopaediaName = "radiopaedia"

// RadFM's released file names, per split.
var (
	radiopaediaCases    = []string{"radiology_article_npy_train.json", "radiology_article_npy_test.json"}
	radiopaediaModality = []string{"radio_modality_train.csv", "radio_modality_test.csv"}
	radiopaediaVQA      = []string{"radiology_vqa_train.csv", "radiology_vqa_test.csv"}
)

// radFMFolder is the folder RadFM's scripts write images under; a recorded
// path is looked up under root from this segment on.
const radFMFolder = "processed_file"

func init() {
	fields := append(commonFields("datasets/radiopaedia", "CC-BY-NC-SA-3.0", true),
		ingest.Field{Name: "cases", Type: ingest.TypeStrings, Default: radiopaediaCases,
			Description: "case lists (RadFM JSON shape), relative to root; the split is taken from each name unless split is set; a missing list is a warning as long as one file of the dataset is found",
			Example:     "[radiology_article_npy_train.json]"},
		ingest.Field{Name: "modality_csv", Type: ingest.TypeStrings, Default: radiopaediaModality,
			Description: "modality CSVs (image_path, answer), relative to root; optional: a missing one is a warning", Example: "[radio_modality_train.csv]"},
		ingest.Field{Name: "vqa_csv", Type: ingest.TypeStrings, Default: radiopaediaVQA,
			Description: "VQA CSVs (image_path, question, answer), relative to root; optional: a missing one is a warning", Example: "[radiology_vqa_train.csv]"},
		ingest.Field{Name: "path_rewrite", Type: ingest.TypeMap, Default: map[string]string{},
			Description: "recorded image-path prefix → local folder (relative to root), for the absolute or ../processed_file/ paths RadFM's files record; the longest matching prefix wins",
			Example:     "{/mnt/petrelfs/share_data/zhangxiaoman/DATA/Radio_VQA/processed_file: images}"},
		ingest.Field{Name: "split", Type: ingest.TypeString, Default: "",
			Description: "split recorded on every sample; empty takes it from each file name (train, test)", Example: "train"},
	)
	register(ingest.Spec{
		Name:    radiopaediaName,
		Summary: "Radiopaedia cases in RadFM's released JSON and CSVs (npy and NIfTI images) as report, rationale, diagnosis, modality and vqa samples",
		Fields:  fields,
	}, newRadiopaedia)
}

type radiopaedia struct {
	b               *builder
	cases, mod, vqa []string
	split           string
	rewrite         []prefixRewrite
}

// prefixRewrite maps a recorded path prefix to a local folder.
type prefixRewrite struct{ from, to string }

type rpCase struct {
	File       string
	Entry      int
	Images     []string
	Pre, Pat   string
	Finding    string
	Impression string
	Articles   string
	Title      string
	Features   string
	Group      string
	Split      string
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
	Split string
}

func newRadiopaedia(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(radiopaediaName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &radiopaedia{b: b, split: p.String("split")}
	join := func(name string, def []string) []string {
		list := p.Strings(name)
		if _, set := p[name]; !set {
			list = def
		}
		var out []string
		for _, v := range list {
			if v != "" {
				out = append(out, joinPath(b.opts.Root, v))
			}
		}
		return out
	}
	s.cases, s.mod, s.vqa = join("cases", radiopaediaCases), join("modality_csv", radiopaediaModality), join("vqa_csv", radiopaediaVQA)
	for from, to := range p.Map("path_rewrite") {
		if from == "" {
			return nil, fmt.Errorf("path_rewrite: empty prefix")
		}
		s.rewrite = append(s.rewrite, prefixRewrite{from: strings.TrimRight(from, "/"), to: to})
	}
	// Longest prefix first, so a specific mapping beats a general one.
	sort.Slice(s.rewrite, func(i, j int) bool {
		if len(s.rewrite[i].from) != len(s.rewrite[j].from) {
			return len(s.rewrite[i].from) > len(s.rewrite[j].from)
		}
		return s.rewrite[i].from < s.rewrite[j].from
	})
	return rowSource{s, b}, nil
}

// resolve finds the local file of an image path recorded in file:row. It
// returns the first candidate that exists (see the package comment above
// for the order); an error lists what was tried.
func (s *radiopaedia) resolve(ctx context.Context, file string, row int, recorded string) (string, error) {
	rec := strings.TrimSpace(recorded)
	if rec == "" {
		return "", rowErrorf(file, row, "empty image path")
	}
	slash := filepath.ToSlash(rec)
	var cands []string
	for _, r := range s.rewrite {
		if slash == r.from || strings.HasPrefix(slash, r.from+"/") {
			if p, err := safeJoin(joinPath(s.b.opts.Root, r.to), strings.TrimPrefix(strings.TrimPrefix(slash, r.from), "/")); err == nil {
				cands = append(cands, p)
			}
			break
		}
	}
	if p, err := safeJoin(s.b.opts.Root, slash); err == nil {
		cands = append(cands, p)
	}
	if i := strings.LastIndex("/"+slash, "/"+radFMFolder+"/"); i >= 0 {
		if p, err := safeJoin(s.b.opts.Root, slash[i:]); err == nil {
			cands = append(cands, p)
		}
	}
	for _, c := range cands {
		if s.b.fs.exists(ctx, c) {
			return c, nil
		}
	}
	var tried []string
	for _, c := range cands {
		tried = append(tried, relPath(s.b.opts.Root, c))
	}
	return "", rowErrorf(file, row, "image %q not found under root (tried %s); set path_rewrite: {%q: <folder under root>}",
		rec, strings.Join(tried, ", "), recordedPrefix(slash))
}

// recordedPrefix suggests the prefix to rewrite: the recorded path up to its
// processed_file folder, or its folder.
func recordedPrefix(slash string) string {
	if i := strings.LastIndex("/"+slash, "/"+radFMFolder+"/"); i >= 0 {
		return strings.TrimSuffix(slash[:i+len(radFMFolder)], "/")
	}
	return path.Dir(slash)
}

// present returns the files of list that exist and those missing.
func (t *tree) present(ctx context.Context, list []string) (found, missing []string) {
	for _, f := range list {
		if t.exists(ctx, f) {
			found = append(found, f)
		} else {
			missing = append(missing, f)
		}
	}
	return found, missing
}

// splitOf is the split recorded on samples from file.
func (s *radiopaedia) splitOf(file string) string {
	if s.split != "" {
		return s.split
	}
	return splitFromName(file)
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

// radiopaediaCaseID is the Radiopaedia case id in a recorded image path:
// nii2npy_for_radiopaedio.py names a case's array <case>_<sample>.npy, and
// jpg2nii_data_convert.py writes <case>/<image>/<series>.nii.gz.
func radiopaediaCaseID(recorded string) string {
	slash := filepath.ToSlash(strings.TrimSpace(recorded))
	base := path.Base(slash)
	if b, ok := strings.CutSuffix(base, ".gz"); ok {
		base = b
	}
	if strings.HasSuffix(base, ".nii") {
		if dir := path.Base(path.Dir(path.Dir(slash))); dir != "." && dir != "/" && dir != "" {
			return dir
		}
	}
	base = strings.TrimSuffix(base, path.Ext(base))
	if m := caseIDRe.FindStringSubmatch(base); m != nil {
		return m[1]
	}
	return base
}

func (s *radiopaedia) plan(ctx context.Context) ([]ingest.Unit, error) {
	caseFiles, m1 := s.b.fs.present(ctx, s.cases)
	modFiles, m2 := s.b.fs.present(ctx, s.mod)
	vqaFiles, m3 := s.b.fs.present(ctx, s.vqa)
	missing := slices.Concat(m1, m2, m3)
	if len(caseFiles)+len(modFiles)+len(vqaFiles) == 0 {
		var looked []string
		for _, f := range missing {
			looked = append(looked, relPath(s.b.opts.Root, f))
		}
		return nil, layoutError(radiopaediaName, s.b.opts.Root, looked...)
	}
	// A download may hold one split or skip the optional CSVs.
	for _, f := range missing {
		slog.Warn("radiopaedia: file missing, skipped", "root", s.b.opts.Root, "file", relPath(s.b.opts.Root, f))
	}
	var units []ingest.Unit
	var cases []*rpCase
	var rows []labelRow
	for _, file := range caseFiles {
		list, err := s.b.fs.readJSONList(ctx, file)
		if err != nil {
			return nil, err
		}
		rel := relPath(s.b.opts.Root, file)
		for i, raw := range list {
			entry := i + 1
			id := rel + ":" + strconv.Itoa(entry)
			if !s.b.opts.keep(id) {
				continue
			}
			c, err := s.parseCase(ctx, file, raw, entry)
			if err != nil {
				units = append(units, errUnit(id, []string{file}, err))
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
	for _, c := range cases {
		var size int64
		for _, p := range c.Images {
			size += s.b.fs.size(p)
		}
		units = append(units, ingest.Unit{ID: relPath(s.b.opts.Root, c.File) + ":" + strconv.Itoa(c.Entry),
			Paths: append([]string{c.File}, c.Images...), Bytes: size, Data: c})
	}
	for _, f := range modFiles {
		u, err := s.planCSV(ctx, f, "modality")
		if err != nil {
			return nil, err
		}
		units = append(units, u...)
	}
	for _, f := range vqaFiles {
		u, err := s.planCSV(ctx, f, "vqa")
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

func (s *radiopaedia) parseCase(ctx context.Context, file string, raw json.RawMessage, entry int) (*rpCase, error) {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, rowErrorf(file, entry, "bad case: %v", err)
	}
	c := &rpCase{File: file, Entry: entry, Split: s.splitOf(file)}
	fields := []struct {
		name string
		dst  *string
	}{{"pre", &c.Pre}, {"pat", &c.Pat}, {"finding", &c.Finding}, {"impression", &c.Impression},
		{"articles", &c.Articles}, {"title", &c.Title}, {"radiographic_features", &c.Features}}
	for _, f := range fields {
		v, ok := textOrList(rec[f.name])
		if !ok {
			return nil, rowErrorf(file, entry, "field %q is neither text nor a list of text", f.name)
		}
		*f.dst = v
	}
	var paths []string
	var p string
	if json.Unmarshal(rec["npy_path"], &p) == nil && p != "" {
		paths = []string{p}
	} else if json.Unmarshal(rec["npy_path"], &paths) != nil || len(paths) == 0 {
		return nil, rowErrorf(file, entry, "no npy_path")
	}
	if c.Title == "" {
		return nil, rowErrorf(file, entry, "no title (diagnosis)")
	}
	if c.Finding == "" && c.Impression == "" && c.Features == "" && c.Articles == "" {
		return nil, rowErrorf(file, entry, "no finding, impression, radiographic_features or articles")
	}
	for _, p := range paths {
		full, err := s.resolve(ctx, file, entry, p)
		if err != nil {
			return nil, err
		}
		c.Images = append(c.Images, full)
	}
	caseID := radiopaediaCaseID(paths[0])
	if v, ok := textOrList(rec["case_id"]); ok && v != "" {
		caseID = v
	}
	c.Group = group(radiopaediaName, caseID)
	return c, nil
}

func (s *radiopaedia) planCSV(ctx context.Context, file, kind string) ([]ingest.Unit, error) {
	t, err := s.b.fs.readCSV(ctx, file, ',')
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
		var img string
		if err == nil {
			img, err = s.resolve(ctx, file, r.Line, ip)
		}
		if err != nil {
			units = append(units, errUnit(id, []string{file}, err))
			continue
		}
		row := &rpImageRow{File: file, Line: r.Line, Image: img, Kind: kind, Q: q, A: a,
			Group: group(radiopaediaName, radiopaediaCaseID(ip)), Split: s.splitOf(file)}
		if kind == "modality" {
			row.Label = a
			lrows = append(lrows, labelRow{ID: id, Pos: []string{a}})
		}
		rows = append(rows, row)
		units = append(units, ingest.Unit{ID: id, Paths: []string{file, img}, Bytes: s.b.fs.size(img), Data: row})
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
		im, err := s.b.fs.loadImages(ctx, p, relPath(s.b.opts.Root, p), "")
		if err != nil {
			return nil, imageError(c.File, c.Entry, err)
		}
		ims = append(ims, im...)
	}
	ctxText := strings.TrimSpace(c.Pat + " " + c.Pre)
	key := strconv.Itoa(c.Entry)
	base := func(task, set, resp string, k ...string) draft {
		return draft{Task: task, Set: set, Response: resp, Images: ims, Context: ctxText,
			Group: c.Group, Split: c.Split, Key: append([]string{c.Title, key}, k...),
			Meta: map[string]string{"diagnosis": c.Title}}
	}
	var ds []draft
	if c.Finding != "" || c.Impression != "" {
		set, resp := reportSet(c.Finding, c.Impression)
		ds = append(ds, base(shards.TaskReport, set, resp, "report"))
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
	ims, err := s.b.fs.loadImages(ctx, r.Image, relPath(s.b.opts.Root, r.Image), modalityCode(r.Label))
	if err != nil {
		return nil, imageError(r.File, r.Line, err)
	}
	rel := relPath(s.b.opts.Root, r.Image)
	if r.Kind == "vqa" {
		return s.b.buildAll([]draft{{Task: shards.TaskVQA, Set: "vqa", Vars: map[string]string{"question": r.Q},
			Response: r.A, Images: ims, Group: r.Group, Split: r.Split, Key: []string{"vqa", rel, r.Q, r.A}}})
	}
	ds := []draft{{Task: shards.TaskModality, Set: "modality_open", Response: r.A + ".", Images: ims,
		Group: r.Group, Split: r.Split, Key: []string{"modality", rel, "open"},
		Meta: map[string]string{"modality": r.A, "question": "open"}}}
	if s.b.opts.YesNo {
		ds = append(ds, draft{Task: shards.TaskModality, Set: "modality_yesno", Vars: map[string]string{"modality": r.A},
			Response: yesNo(true), Images: ims, Group: r.Group, Split: r.Split, Key: []string{"modality", rel, "yes", r.A},
			Meta: map[string]string{"modality": r.A, "label": r.A, "answer": "yes", "question": "yesno"}})
		for _, n := range r.Neg {
			ds = append(ds, draft{Task: shards.TaskModality, Set: "modality_yesno", Vars: map[string]string{"modality": n},
				Response: yesNo(false), Images: ims, Group: r.Group, Split: r.Split, Key: []string{"modality", rel, "no", n},
				Meta: map[string]string{"modality": r.A, "label": n, "answer": "no", "question": "yesno"}})
		}
	}
	return s.b.buildAll(ds)
}
