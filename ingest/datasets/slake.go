package datasets

import (
	"context"
	"encoding/json"
	"log/slog"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// SLAKE (Liu et al. 2021, https://www.med-vqa.com/slake/) ships
// Slake1.0/{train,validate,test}.json; its Hugging Face upload
// (BoKelvin/SLAKE) renamed validate.json to validation.json and ships the
// images as imgs.zip, which unpacks to the same imgs/ folder. Each file is
// a JSON list of records with
// img_id, img_name ("xmlab1/source.jpg", relative to imgs/), question,
// answer, q_lang ("en" or "zh"), location, modality ("MRI", "CT",
// "X-Ray"), answer_type (OPEN/CLOSED), base_type, content_type and qid —
// and the images under Slake1.0/imgs/xmlabN/. Parquet mirrors on Hugging
// Face (data/*.parquet with the images embedded) are read by hfparquet.go
// when root holds no question list.

const slakeName = "slake"

func init() {
	fields := append(commonFields("datasets/SLAKE", "CC-BY-4.0", false),
		ingest.Field{Name: "files", Type: ingest.TypeStrings, Default: slakeDefaultFiles,
			Description: "question lists, relative to root; the split is taken from each name. validation.json and validate.json stand in for each other; a missing file is a warning, not a failure, as long as one list is found", Example: "[train.json]"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "imgs",
			Description: "image folder, relative to root", Example: "imgs"},
		ingest.Field{Name: "languages", Type: ingest.TypeStrings, Default: []string{"en"},
			Description: "q_lang values to keep (SLAKE is bilingual: en, zh)", Example: "[en, zh]"},
	)
	register(ingest.Spec{
		Name:    slakeName,
		Summary: "SLAKE bilingual radiology VQA (train/validation/test JSON + imgs/, or a Hugging Face Parquet mirror) as vqa samples, English only by default",
		Fields:  fields,
	}, newSLAKE)
}

// slakeDefaultFiles are the Hugging Face upload's names; the original
// zip's validate.json is found in place of validation.json.
var slakeDefaultFiles = []string{"train.json", "validation.json", "test.json"}

// slakeAliases maps a split file name to the other release's name for it.
var slakeAliases = map[string]string{"validation.json": "validate.json", "validate.json": "validation.json"}

type slake struct {
	b      *builder
	hf     *hfParquet // a Hugging Face Parquet mirror, when root holds one
	files  []string
	images string
	langs  []string
}

type slakeRow struct {
	File     string
	Entry    int
	Image    string
	Modality string
	Sample   draft
}

func newSLAKE(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(slakeName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &slake{b: b, images: joinPath(b.opts.Root, p.String("images")), langs: p.Strings("languages")}
	files := p.Strings("files")
	if len(files) == 0 {
		files = slakeDefaultFiles
	}
	for _, f := range files {
		s.files = append(s.files, joinPath(b.opts.Root, f))
	}
	if len(s.langs) == 0 {
		s.langs = []string{"en"}
	}
	s.hf = &hfParquet{b: b, dataset: slakeName, langs: s.langs}
	return rowSource{s, b}, nil
}

// present returns the question lists found under root: each configured
// file, or its other release's name. A missing list is logged and skipped
// (a partial download still yields its splits); none found at all is an
// error naming every name looked for (the caller first tries a Parquet
// mirror).
func (s *slake) present(ctx context.Context) ([]string, error) {
	var found, looked []string
	for _, file := range s.files {
		cands := []string{file}
		if alt, ok := slakeAliases[filepath.Base(file)]; ok {
			cands = append(cands, joinPath(dirPath(file), alt))
		}
		hit := ""
		for _, c := range cands {
			looked = append(looked, relPath(s.b.opts.Root, c))
			if hit == "" && s.b.fs.exists(ctx, c) {
				hit = c
			}
		}
		if hit == "" && len(found) == 0 && !s.anyList(ctx) {
			continue // no list at all: not this layout, no warning per file
		}
		if hit == "" {
			slog.Warn("slake: question list missing, its split is skipped", "root", s.b.opts.Root, "file", relPath(s.b.opts.Root, file))
			continue
		}
		found = append(found, hit)
	}
	if len(found) == 0 {
		return nil, layoutError(slakeName, s.b.opts.Root, append(looked, hfLayout)...)
	}
	return found, nil
}

// anyList reports whether any configured question list (or its other
// name) exists.
func (s *slake) anyList(ctx context.Context) bool {
	for _, file := range s.files {
		if s.b.fs.exists(ctx, file) {
			return true
		}
		if alt, ok := slakeAliases[filepath.Base(file)]; ok && s.b.fs.exists(ctx, joinPath(dirPath(file), alt)) {
			return true
		}
	}
	return false
}

func (s *slake) plan(ctx context.Context) ([]ingest.Unit, error) {
	if !s.anyList(ctx) {
		if files := s.b.fs.findHFParquet(ctx, s.b.opts.Root); len(files) > 0 {
			return s.hf.plan(ctx, files)
		}
	}
	files, err := s.present(ctx)
	if err != nil {
		return nil, err
	}
	var units []ingest.Unit
	for _, file := range files {
		list, err := s.b.fs.readJSONList(ctx, file)
		if err != nil {
			return nil, err
		}
		rel := relPath(s.b.opts.Root, file)
		split := splitFromName(file)
		for i, raw := range list {
			entry := i + 1
			id := rel + ":" + strconv.Itoa(entry)
			var rec struct {
				ImgID       json.RawMessage `json:"img_id"`
				ImgName     string          `json:"img_name"`
				Question    string          `json:"question"`
				Answer      json.RawMessage `json:"answer"`
				QLang       string          `json:"q_lang"`
				Location    string          `json:"location"`
				Modality    string          `json:"modality"`
				AnswerType  string          `json:"answer_type"`
				ContentType string          `json:"content_type"`
				QID         json.RawMessage `json:"qid"`
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				units = append(units, errUnit(id, []string{file}, rowErrorf(file, entry, "bad record: %v", err)))
				continue
			}
			if !slices.Contains(s.langs, rec.QLang) || !s.b.opts.keep(id) {
				continue
			}
			answer, ok := jsonText(rec.Answer)
			switch {
			case strings.TrimSpace(rec.ImgName) == "":
				err = rowErrorf(file, entry, "no img_name")
			case strings.TrimSpace(rec.Question) == "":
				err = rowErrorf(file, entry, "no question")
			case !ok || strings.TrimSpace(answer) == "":
				err = rowErrorf(file, entry, "no answer")
			}
			img, jerr := safeJoin(s.images, rec.ImgName)
			if err == nil && jerr != nil {
				err = rowErrorf(file, entry, "%v", jerr)
			}
			if err != nil {
				units = append(units, errUnit(id, []string{file}, err))
				continue
			}
			// Each xmlabN folder is one source image (with its masks); its
			// questions must stay in one split.
			caseKey := path.Dir(filepath.ToSlash(rec.ImgName))
			if caseKey == "." {
				caseKey = rec.ImgName
			}
			qid, _ := jsonText(rec.QID)
			row := &slakeRow{File: file, Entry: entry, Image: img, Modality: modalityCode(rec.Modality), Sample: draft{
				Task: shards.TaskVQA, Set: "vqa",
				Vars:     map[string]string{"question": strings.TrimSpace(rec.Question)},
				Response: strings.TrimSpace(answer),
				Group:    group(slakeName, caseKey),
				Split:    split,
				Key:      []string{rec.ImgName, rec.Question, answer, qid},
				Meta: map[string]string{"qid": qid, "answer_type": rec.AnswerType, "content_type": rec.ContentType,
					"location": rec.Location, "modality": rec.Modality, "lang": rec.QLang, "row": id},
			}}
			units = append(units, ingest.Unit{ID: id, Paths: []string{file, img}, Bytes: s.b.fs.size(img), Data: row})
		}
	}
	return units, nil
}

func (s *slake) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	if r, ok := u.Data.(*hfRow); ok {
		return s.hf.read(ctx, r)
	}
	row := u.Data.(*slakeRow)
	ims, err := s.b.fs.loadImages(ctx, row.Image, relPath(s.b.opts.Root, row.Image), row.Modality)
	if err != nil {
		return nil, imageError(row.File, row.Entry, err)
	}
	d := row.Sample
	d.Images = ims
	return s.b.buildAll([]draft{d})
}
