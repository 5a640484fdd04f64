package datasets

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// VQA-RAD (Lau et al. 2018, https://osf.io/89kps/) ships one JSON list,
// "VQA_RAD Dataset Public.json", of question records, and the images in
// "VQA_RAD Image Folder". A record holds qid, image_name, image_case_url
// (the MedPix case the image comes from), image_organ, question, answer (a
// string, or a number for counting questions), answer_type (OPEN/CLOSED),
// question_type and phrase_type (freeform, para, test_freeform, test_para:
// the test_ prefix marks the published test set). Its Hugging Face copy
// (flaviagiammarino/vqa-rad: data/*.parquet with image, question, answer)
// is read by hfparquet.go when root holds it instead.

const vqaRADName = "vqa-rad"

func init() {
	fields := append(commonFields("datasets/VQA_RAD", "CC0-1.0", false),
		ingest.Field{Name: "file", Type: ingest.TypeString, Default: "VQA_RAD Dataset Public.json",
			Description: "the question list, relative to root", Example: "VQA_RAD Dataset Public.json"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "VQA_RAD Image Folder",
			Description: "image folder, relative to root", Example: "VQA_RAD Image Folder"},
	)
	register(ingest.Spec{
		Name:    vqaRADName,
		Summary: "VQA-RAD radiology VQA (OSF JSON question list + image folder, or the Hugging Face Parquet upload) as vqa samples",
		Fields:  fields,
	}, newVQARAD)
}

type vqaRAD struct {
	b            *builder
	file, images string
	hf           *hfParquet // the Hugging Face Parquet upload, when root holds it
}

type vqaRADRow struct {
	Entry  int
	Image  string
	Sample draft
}

func newVQARAD(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(vqaRADName, p, baseDir)
	if err != nil {
		return nil, err
	}
	return rowSource{&vqaRAD{b: b,
		file:   joinPath(b.opts.Root, p.String("file")),
		images: joinPath(b.opts.Root, p.String("images")),
		hf:     &hfParquet{b: b, dataset: vqaRADName}}, b}, nil
}

func (s *vqaRAD) plan(ctx context.Context) ([]ingest.Unit, error) {
	if !s.b.fs.exists(ctx, s.file) {
		if files := s.b.fs.findHFParquet(ctx, s.b.opts.Root); len(files) > 0 {
			return s.hf.plan(ctx, files)
		}
		return nil, layoutError(vqaRADName, s.b.opts.Root,
			relPath(s.b.opts.Root, s.file)+" + "+relPath(s.b.opts.Root, s.images)+"/ (OSF release)", hfLayout)
	}
	list, err := s.b.fs.readJSONList(ctx, s.file)
	if err != nil {
		return nil, err
	}
	rel := relPath(s.b.opts.Root, s.file)
	var units []ingest.Unit
	for i, raw := range list {
		entry := i + 1
		id := rel + ":" + strconv.Itoa(entry)
		if !s.b.opts.keep(id) {
			continue
		}
		var rec struct {
			QID          json.RawMessage `json:"qid"`
			ImageName    string          `json:"image_name"`
			CaseURL      string          `json:"image_case_url"`
			Organ        string          `json:"image_organ"`
			Question     string          `json:"question"`
			Answer       json.RawMessage `json:"answer"`
			AnswerType   string          `json:"answer_type"`
			QuestionType string          `json:"question_type"`
			PhraseType   string          `json:"phrase_type"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			units = append(units, errUnit(id, []string{s.file}, rowErrorf(s.file, entry, "bad record: %v", err)))
			continue
		}
		answer, ok := jsonText(rec.Answer)
		switch {
		case strings.TrimSpace(rec.ImageName) == "":
			err = rowErrorf(s.file, entry, "no image_name")
		case strings.TrimSpace(rec.Question) == "":
			err = rowErrorf(s.file, entry, "no question")
		case !ok || strings.TrimSpace(answer) == "":
			err = rowErrorf(s.file, entry, "no answer")
		}
		img, jerr := safeJoin(s.images, rec.ImageName)
		if err == nil && jerr != nil {
			err = rowErrorf(s.file, entry, "%v", jerr)
		}
		if err != nil {
			units = append(units, errUnit(id, []string{s.file}, err))
			continue
		}
		split := "train"
		if strings.HasPrefix(rec.PhraseType, "test") {
			split = "test"
		}
		caseKey := rec.CaseURL
		if caseKey == "" {
			caseKey = rec.ImageName
		}
		qid, _ := jsonText(rec.QID)
		row := &vqaRADRow{Entry: entry, Image: img, Sample: draft{
			Task: shards.TaskVQA, Set: "vqa",
			Vars:     map[string]string{"question": strings.TrimSpace(rec.Question)},
			Response: strings.TrimSpace(answer),
			Group:    group(vqaRADName, caseKey),
			Split:    split,
			Key:      []string{rec.ImageName, rec.Question, answer, qid},
			Meta: map[string]string{"qid": qid, "answer_type": rec.AnswerType, "question_type": rec.QuestionType,
				"phrase_type": rec.PhraseType, "organ": rec.Organ, "row": id},
		}}
		units = append(units, ingest.Unit{ID: id, Paths: []string{s.file, img}, Bytes: s.b.fs.size(img), Data: row})
	}
	return units, nil
}

func (s *vqaRAD) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	if r, ok := u.Data.(*hfRow); ok {
		return s.hf.read(ctx, r)
	}
	row := u.Data.(*vqaRADRow)
	ims, err := s.b.fs.loadImages(ctx, row.Image, relPath(s.b.opts.Root, row.Image), "")
	if err != nil {
		return nil, imageError(s.file, row.Entry, err)
	}
	d := row.Sample
	d.Images = ims
	return s.b.buildAll([]draft{d})
}
