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
// ships two releases side by side in one repository:
//
//   - version 1: train.csv and test.csv (and test_clean.csv) with the
//     columns Figure_path, Question, Answer, Choice A, Choice B, Choice C,
//     Choice D, Answer_label (each choice written "A:option"), figures in
//     images.zip, which unpacks to images/;
//   - version 2 (non-compound figures): train_2.csv and test_2.csv with the
//     columns index, Figure_path, Caption, Question, Choice A..D, Answer
//     (the letter) and split, figures in images_2.zip, which unpacks to
//     figures/.
//
// With the default (empty) files the release is detected from the files
// present, version 2 first. Figure names start with the PMCID of their
// article ("PMC8253867_Fig1_41.jpg").

const pmcVQAName = "pmc-vqa"

func init() {
	fields := append(commonFields("datasets/PMC-VQA", "CC-BY-SA-4.0", false),
		ingest.Field{Name: "files", Type: ingest.TypeStrings, Default: []string{},
			Description: "question CSVs, relative to root; the split is taken from a split column or else from each name. Empty: version 2's train_2.csv and test_2.csv when present, else version 1's train.csv and test.csv", Example: "[train.csv, test.csv]"},
		ingest.Field{Name: "images", Type: ingest.TypeString, Default: "",
			Description: "figure folder, relative to root; empty: figures/ for version 2 files (images_2.zip), images/ for version 1 (images.zip)", Example: "images"},
		ingest.Field{Name: "captions", Type: ingest.TypeBool, Default: true,
			Description: "also emit one caption sample per figure from version 2's Caption column", Example: "false"},
		ingest.Field{Name: "format", Type: ingest.TypeString, Default: "choice", Enum: []string{"choice", "open"},
			Description: "choice: the question lists the four options and the answer is \"B: option\"; open: the bare question and answer text",
			Example:     "open"},
	)
	register(ingest.Spec{
		Name:    pmcVQAName,
		Summary: "PMC-VQA multiple-choice figure VQA (version 2: train_2.csv/test_2.csv + figures/, version 1: train.csv/test.csv + images/) as vqa samples, plus caption samples from version 2's captions",
		Fields:  fields,
	}, newPMCVQA)
}

type pmcVQA struct {
	b        *builder
	files    []string // as configured; empty detects the release
	images   string   // as configured; empty follows the release
	open     bool
	captions bool
}

type pmcVQARow struct {
	File    string
	Line    int
	Image   string
	Sample  draft
	Caption *draft // the figure's caption sample, on its first good row
}

// pmcVQAReleases are the releases' question files and figure folders,
// newest first.
var pmcVQAReleases = []struct {
	files  []string
	images string
}{
	{[]string{"train_2.csv", "test_2.csv"}, "figures"},
	{[]string{"train.csv", "test.csv"}, "images"},
}

// pmcVQAFile is one question CSV and the folder its figures are in.
type pmcVQAFile struct{ path, images string }

func newPMCVQA(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(pmcVQAName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &pmcVQA{b: b, images: p.String("images"), files: p.Strings("files"), open: p.String("format") == "open", captions: true}
	if _, set := p["captions"]; set {
		s.captions = p.Bool("captions")
	}
	return rowSource{s, b}, nil
}

// layout returns the question files to read with their figure folders:
// the configured files, or the newest release with a file present.
func (s *pmcVQA) layout(ctx context.Context) ([]pmcVQAFile, error) {
	root := s.b.opts.Root
	folder := func(def string) string {
		if s.images != "" {
			return joinPath(root, s.images)
		}
		return joinPath(root, def)
	}
	var out []pmcVQAFile
	if len(s.files) > 0 {
		for _, f := range s.files {
			def := "images"
			if strings.HasSuffix(strings.TrimSuffix(f, ".csv"), "_2") {
				def = "figures"
			}
			out = append(out, pmcVQAFile{joinPath(root, f), folder(def)})
		}
		return out, nil
	}
	var looked []string
	for _, rel := range pmcVQAReleases {
		for _, f := range rel.files {
			looked = append(looked, f)
			if p := joinPath(root, f); s.b.fs.exists(ctx, p) {
				out = append(out, pmcVQAFile{p, folder(rel.images)})
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, layoutError(pmcVQAName, root, looked...)
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
	files, err := s.layout(ctx)
	if err != nil {
		return nil, err
	}
	var units []ingest.Unit
	captioned := map[string]bool{}
	for _, f := range files {
		file := f.path
		t, err := s.b.fs.readCSV(ctx, file, ',')
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
			row, err := s.row(t, r, file, f.images, split, id)
			if err != nil {
				units = append(units, errUnit(id, []string{file}, err))
				continue
			}
			// One caption sample per figure, not one per question on it.
			if c := t.get(r, "Caption"); s.captions && c != "" && !captioned[row.Image] {
				captioned[row.Image] = true
				cd := draft{Task: shards.TaskCaption, Set: "caption", Response: c, Group: row.Sample.Group,
					Split: row.Sample.Split, Key: []string{"caption", relPath(s.b.opts.Root, row.Image)},
					Meta: map[string]string{"row": id, "pmcid": row.Sample.Meta["pmcid"]}}
				row.Caption = &cd
			}
			units = append(units, ingest.Unit{ID: id, Paths: []string{file, row.Image}, Bytes: s.b.fs.size(row.Image), Data: row})
		}
	}
	return units, nil
}

func (s *pmcVQA) row(t *csvTable, r csvRow, file, images, split, id string) (*pmcVQARow, error) {
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
		if m := choicePrefix.FindStringSubmatch(ans + ":"); m != nil {
			label = m[1]
		} else {
			label = ans // reported as not a letter below
		}
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
	img, err := safeJoin(images, fig)
	if err != nil {
		return nil, rowErrorf(file, r.Line, "%v", err)
	}
	if sp := splitFromName(t.get(r, "split")); sp != "" {
		split = sp
	}
	d := draft{Task: shards.TaskVQA, Split: split,
		Key:  []string{fig, q, label},
		Meta: map[string]string{"answer_label": label, "row": id},
	}
	if ix := t.get(r, "index"); ix != "" {
		d.Meta["index"] = ix
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
	ims, err := s.b.fs.loadImages(ctx, row.Image, relPath(s.b.opts.Root, row.Image), "")
	if err != nil {
		return nil, imageError(row.File, row.Line, err)
	}
	d := row.Sample
	d.Images = ims
	ds := []draft{d}
	if row.Caption != nil {
		c := *row.Caption
		c.Images = ims
		ds = append(ds, c)
	}
	return s.b.buildAll(ds)
}
