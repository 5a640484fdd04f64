package datasets

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// PMC-VQA (Zhang et al. 2023, https://huggingface.co/datasets/xmcmic/PMC-VQA)
// ships train.csv and test.csv with the columns Figure_path, Question,
// Answer, Choice A, Choice B, Choice C, Choice D, Answer_label (each choice
// written "A:option"), and the figures in images/ (figures.zip). Version 2
// (train_2.csv, test_2.csv) drops Answer_label and puts the letter in
// Answer; both are read. Figure names start with the PMCID of their
// article ("PMC8253867_Fig1_41.jpg").

const pmcVQAName = "pmc-vqa"

func init() {
	fields := append(commonFields("datasets/PMC-VQA", "CC-BY-SA-4.0", false),
		ingest.Field{Name: "files", Type: ingest.TypeStrings, Default: []string{"train.csv", "test.csv"},
			Description: "question CSVs, relative to root; the split is taken from each name", Example: "[train_2.csv, test_2.csv]"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "images",
			Description: "figure folder, relative to root", Example: "images"},
		ingest.Field{Name: "format", Type: ingest.TypeString, Default: "choice", Enum: []string{"choice", "open"},
			Description: "choice: the question lists the four options and the answer is \"B: option\"; open: the bare question and answer text",
			Example:     "open"},
	)
	register(ingest.Spec{
		Name:    pmcVQAName,
		Summary: "PMC-VQA multiple-choice figure VQA (train.csv/test.csv + images/) as vqa samples",
		Fields:  fields,
	}, newPMCVQA)
}

type pmcVQA struct {
	b      *builder
	files  []string
	images string
	open   bool
}

type pmcVQARow struct {
	File   string
	Line   int
	Image  string
	Sample draft
}

func newPMCVQA(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(pmcVQAName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &pmcVQA{b: b, images: filepath.Join(b.opts.Root, p.String("images")), open: p.String("format") == "open"}
	files := p.Strings("files")
	if len(files) == 0 {
		files = []string{"train.csv", "test.csv"}
	}
	for _, f := range files {
		s.files = append(s.files, filepath.Join(b.opts.Root, f))
	}
	return rowSource{s, b}, nil
}

var (
	pmcidRe      = regexp.MustCompile(`^(PMC\d+)`)
	choicePrefix = regexp.MustCompile(`^\s*([A-D])\s*[:.)]\s*`)
)

// choiceText strips the "A:" prefix PMC-VQA writes before each option.
func choiceText(s string) string {
	return strings.TrimSpace(choicePrefix.ReplaceAllString(s, ""))
}

func (s *pmcVQA) plan(ctx context.Context) ([]ingest.Unit, error) {
	var units []ingest.Unit
	for _, file := range s.files {
		t, err := readCSV(file, ',')
		if err != nil {
			return nil, err
		}
		if err := t.require("Figure_path", "Question", "Answer", "Choice A", "Choice B", "Choice C", "Choice D"); err != nil {
			return nil, err
		}
		rel := relPath(s.b.opts.Root, file)
		split := splitFromName(file)
		for _, r := range t.Rows {
			id := rel + ":" + strconv.Itoa(r.Line)
			if !s.b.opts.keep(id) {
				continue
			}
			if r.Err != nil {
				units = append(units, errUnit(id, []string{file}, r.Err))
				continue
			}
			row, err := s.row(t, r, file, split, id)
			if err != nil {
				units = append(units, errUnit(id, []string{file}, err))
				continue
			}
			units = append(units, ingest.Unit{ID: id, Paths: []string{file, row.Image}, Bytes: fileSize(row.Image), Data: row})
		}
	}
	return units, nil
}

func (s *pmcVQA) row(t *csvTable, r csvRow, file, split, id string) (*pmcVQARow, error) {
	fig := t.get(r, "Figure_path")
	q := t.get(r, "Question")
	ans := t.get(r, "Answer")
	var choices [4]string
	for i, l := range []string{"A", "B", "C", "D"} {
		choices[i] = choiceText(t.get(r, "Choice "+l))
	}
	// v1: Answer is the option text, Answer_label its letter. v2: Answer is
	// the letter.
	label := strings.TrimSpace(t.get(r, "Answer_label"))
	if !t.has("Answer_label") {
		label = strings.TrimSpace(choicePrefix.FindString(ans + ":"))
		label = strings.Trim(label, " :.)")
		ans = ""
	}
	if fig == "" {
		return nil, rowErrorf(file, r.Line, "no Figure_path")
	}
	if q == "" {
		return nil, rowErrorf(file, r.Line, "no Question")
	}
	li := strings.Index("ABCD", label)
	if len(label) != 1 || li < 0 {
		return nil, rowErrorf(file, r.Line, "answer label %q is not A, B, C or D", label)
	}
	if choices[li] == "" {
		return nil, rowErrorf(file, r.Line, "answer %s names an empty choice", label)
	}
	if ans == "" {
		ans = choices[li]
	}
	img, err := safeJoin(s.images, fig)
	if err != nil {
		return nil, rowErrorf(file, r.Line, "%v", err)
	}
	d := draft{Task: shards.TaskVQA, Split: split,
		Key:  []string{fig, q, label},
		Meta: map[string]string{"answer_label": label, "row": id},
	}
	if m := pmcidRe.FindStringSubmatch(filepath.Base(fig)); m != nil {
		// An article id, not a patient's: kept readable so that PMC figures
		// of the same article from other sources fall in the same group.
		d.Group = m[1]
		d.Meta["pmcid"] = m[1]
	}
	if s.open {
		d.Set, d.Vars, d.Response = "vqa", map[string]string{"question": q}, ans
		d.Key = append(d.Key, "open")
	} else {
		var opts []string
		for i, c := range choices {
			opts = append(opts, fmt.Sprintf("%c: %s", 'A'+i, c))
		}
		d.Set = "vqa_choice"
		d.Vars = map[string]string{"question": q, "choices": strings.Join(opts, "\n")}
		d.Response = fmt.Sprintf("%s: %s", label, ans)
	}
	return &pmcVQARow{File: file, Line: r.Line, Image: img, Sample: d}, nil
}

func (s *pmcVQA) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	row := u.Data.(*pmcVQARow)
	ims, err := loadImages(ctx, row.Image, relPath(s.b.opts.Root, row.Image), "")
	if err != nil {
		return nil, rowErrorf(row.File, row.Line, "image: %v", err)
	}
	d := row.Sample
	d.Images = ims
	return s.b.buildAll([]draft{d})
}
