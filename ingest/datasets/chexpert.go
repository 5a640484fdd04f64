package datasets

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// CheXpert (Irvin et al. 2019, https://aimi.stanford.edu/chexpert-chest-x-rays)
// ships CheXpert-v1.0(-small)/train.csv and valid.csv with the columns
// Path, Sex, Age, Frontal/Lateral, AP/PA and 14 observations, each 1.0
// (positive), 0.0 (negative), -1.0 (uncertain) or blank (not mentioned).
// Path is relative to the folder ABOVE the dataset folder
// ("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg").
//
// Two layouts are read:
//   - CheXpert-v1.0-small (the downsampled copy, mirrored on Kaggle) or a
//     merged CheXpert-v1.0 tree: the CSVs at root beside train/ and valid/;
//   - the full-resolution Stanford AIMI download
//     (chexpertchestxrays-u20210408/) as its four zips unpack:
//     "CheXpert-v1.0 batch 1 (validate & csv)" holds train.csv, valid.csv and
//     valid/, and batches 2-4 ("… batch 2 (train 1)" to "… batch 4 (train
//     3)") hold patientNNNNN/ folders without the train/ level that Path
//     names. Patient folders are indexed across the batch folders, so the
//     archives need not be merged by hand.
//
// Uncertain labels follow the policy of the "uncertain" parameter, named
// after the paper's U-Ignore, U-Ones and U-Zeros: ignore (default) asks no
// yes/no question about them and lists them as uncertain in the open
// answer; ones counts them positive; zeros negative. Blank (not mentioned)
// counts as negative unless blank: ignore.

const cheXpertName = "chexpert"

var cheXpertLabels = []string{"Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity",
	"Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
	"Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"}

func init() {
	fields := append(commonFields("datasets/CheXpert-v1.0-small", "LicenseRef-Stanford-University-Dataset-Research-Use-Agreement", true), labelFields()...)
	fields = append(fields,
		ingest.Field{Name: "files", Type: ingest.TypeStrings, Default: []string{"train.csv", "valid.csv"},
			Description: "label CSVs, found at root or in the \"CheXpert-v1.0 batch 1 (validate & csv)\" folder; the split is taken from each name", Example: "[train.csv]"},
		ingest.Field{Name: "uncertain", Type: ingest.TypeString, Default: "ignore", Enum: []string{"ignore", "ones", "zeros"},
			Description: "policy for -1 (uncertain): ignore = no yes/no question, listed as uncertain; ones = positive; zeros = negative",
			Example:     "ones"},
		ingest.Field{Name: "blank", Type: ingest.TypeString, Default: "negative", Enum: []string{"negative", "ignore"},
			Description: "policy for a blank (not mentioned) label", Example: "ignore"},
	)
	register(ingest.Spec{
		Name:    cheXpertName,
		Summary: "CheXpert (CheXpert-v1.0-small, or the full-resolution AIMI batch folders: train.csv/valid.csv + patient folders of JPEGs) as diagnosis samples with a stated uncertain-label policy",
		Fields:  fields,

		// Groups and image paths carry the patient id, pseudonymised.
		PatientIDs: true,
	}, newCheXpert)
}

type cheXpert struct {
	ls               *labelSet
	files            []string // relative to the CSV folder
	uncertain, blank string
	// patients maps "train/patient00001" (or valid/…) to the folder holding
	// that patient in the batch layout; nil in the merged layout.
	patients map[string]string
}

// cheXpertBatchGlob matches the folders the AIMI zips unpack to.
const cheXpertBatchGlob = "CheXpert-v1.0 batch *"

// cheXpertCSVDirs are where the CSVs sit, relative to root: root itself
// (small or merged layout), the first batch folder, or a CheXpert-v1.0
// folder inside it.
var cheXpertCSVDirs = []string{".", "CheXpert-v1.0 batch 1 (validate & csv)", "CheXpert-v1.0 batch 1 (validate & csv)/CheXpert-v1.0"}

func newCheXpert(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(cheXpertName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &cheXpert{ls: &labelSet{b: b, vocab: cheXpertLabels, noFinding: "No finding", maxQuestions: p.Int("max_questions")},
		uncertain: p.String("uncertain"), blank: p.String("blank")}
	if s.uncertain == "" {
		s.uncertain = "ignore"
	}
	if s.blank == "" {
		s.blank = "negative"
	}
	s.files = p.Strings("files")
	if len(s.files) == 0 {
		s.files = []string{"train.csv", "valid.csv"}
	}
	return rowSource{s, b}, nil
}

// csvFiles finds the label CSVs: in the first of cheXpertCSVDirs holding
// any of them. A missing file there is a warning (a download without
// valid.csv still yields its training rows).
func (s *cheXpert) csvFiles(ctx context.Context) ([]string, error) {
	root := s.ls.b.opts.Root
	var looked []string
	for _, d := range cheXpertCSVDirs {
		var found []string
		for _, f := range s.files {
			p := joinPath(root, d, f)
			looked = append(looked, relPath(root, p))
			if s.ls.b.fs.exists(ctx, p) {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			continue
		}
		if len(found) < len(s.files) {
			slog.Warn("chexpert: label CSV missing, its rows are skipped", "root", root, "folder", d, "files", s.files)
		}
		return found, nil
	}
	return nil, layoutError(cheXpertName, root, looked...)
}

// indexPatients lists the patient folders of the batch layout: patientN/
// directly in a batch folder (training batches), or under its train/,
// valid/ or CheXpert-v1.0/{train,valid}/.
func (s *cheXpert) indexPatients(ctx context.Context) error {
	batches, err := s.ls.b.fs.glob(ctx, joinPath(s.ls.b.opts.Root, cheXpertBatchGlob))
	if err != nil || len(batches) == 0 {
		return err
	}
	sort.Strings(batches)
	s.patients = map[string]string{}
	for _, b := range batches {
		for _, sub := range []struct{ dir, split string }{
			{"", "train"}, {"train", "train"}, {"valid", "valid"},
			{"CheXpert-v1.0/train", "train"}, {"CheXpert-v1.0/valid", "valid"},
		} {
			ents, err := s.ls.b.fs.readDir(ctx, joinPath(b, sub.dir))
			if err != nil {
				continue // this batch has no such level
			}
			for _, e := range ents {
				if !e.dir || !patientDirRE.MatchString(e.name) {
					continue
				}
				key := sub.split + "/" + e.name
				if _, dup := s.patients[key]; !dup {
					s.patients[key] = joinPath(b, sub.dir, e.name)
				}
			}
		}
	}
	return nil
}

// batchPathRe splits a CSV Path into split, patient folder and the rest.
var batchPathRe = regexp.MustCompile(`(?:^|/)(train|valid)/(patient\d+)/(.+)$`)

var patientRe = regexp.MustCompile(`(?:^|/)(patient\d+)/`)

// resolve finds the image a Path names: relative to the folder above root
// (as published), or to root itself.
func (s *cheXpert) resolve(ctx context.Context, p string) (string, error) {
	root := s.ls.b.opts.Root
	var first string
	for _, dir := range []string{dirPath(root), root} {
		full, err := safeJoin(dir, p)
		if err != nil {
			return "", err
		}
		if first == "" {
			first = full
		}
		if s.ls.b.fs.exists(ctx, full) {
			return full, nil
		}
	}
	// Path without its leading dataset folder, under root.
	if i := strings.IndexByte(p, '/'); i > 0 {
		full, err := safeJoin(root, p[i+1:])
		if err == nil && s.ls.b.fs.exists(ctx, full) {
			return full, nil
		}
	}
	// The batch layout: the patient folder, wherever its batch put it.
	if m := batchPathRe.FindStringSubmatch(p); m != nil && s.patients != nil {
		dir, ok := s.patients[m[1]+"/"+m[2]]
		if !ok {
			return "", fmt.Errorf("patient folder %s/%s is in no %q folder under %s", m[1], m[2], cheXpertBatchGlob, root)
		}
		full, err := safeJoin(dir, m[3])
		if err != nil {
			return "", err
		}
		return full, nil
	}
	return first, nil
}

func (s *cheXpert) plan(ctx context.Context) ([]ingest.Unit, error) {
	b := s.ls.b
	var imgs []*labelledImage
	var bad []ingest.Unit
	seenAt := map[string]int{}
	files, err := s.csvFiles(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.indexPatients(ctx); err != nil {
		return nil, err
	}
	for _, file := range files {
		t, err := b.fs.readCSV(ctx, file, ',')
		if err != nil {
			return nil, err
		}
		if err := t.require(append([]string{"Path", "No Finding"}, cheXpertLabels...)...); err != nil {
			return nil, err
		}
		split := splitFromName(file)
		rows := imageRows{file: file, rel: relPath(b.opts.Root, file), col: "Path", keep: b.opts.keep, seen: seenAt, bad: &bad}
		for _, r := range t.Rows {
			p, id, ok := rows.admit(t, r)
			if !ok {
				continue
			}
			fail := func(err error) { bad = append(bad, errUnit(id, []string{file}, err)) }
			img, err := s.resolve(ctx, p)
			if err != nil {
				fail(rowErrorf(file, r.Line, "%v", err))
				continue
			}
			im := &labelledImage{File: file, Line: r.Line, Image: img, Modality: "DX", Split: split, Key: p,
				Meta: map[string]string{"row": id, "view": t.get(r, "Frontal/Lateral"), "projection": t.get(r, "AP/PA"),
					"uncertain_policy": s.uncertain}}
			var perr error
			for _, l := range cheXpertLabels {
				v, err := parseCheXpertValue(t.get(r, l))
				if err != nil {
					perr = rowErrorf(file, r.Line, "column %q: %v", l, err)
					break
				}
				switch {
				case v == 1 || v == -1 && s.uncertain == "ones":
					im.Pos = append(im.Pos, l)
				case v == -1 && s.uncertain == "ignore":
					im.Skip = append(im.Skip, l)
					im.Uncertain = append(im.Uncertain, l)
				case v == blankValue && s.blank == "ignore":
					im.Skip = append(im.Skip, l)
				}
			}
			if perr != nil {
				fail(perr)
				continue
			}
			if m := patientRe.FindStringSubmatch(p); m != nil {
				im.Group = patientGroup(cheXpertName, m[1])
			} else {
				fail(rowErrorf(file, r.Line, "no patient folder in Path %q", p))
				continue
			}
			imgs = append(imgs, im)
		}
	}
	return s.ls.units(imgs, bad), nil
}

const blankValue = 2

// parseCheXpertValue reads one observation cell: 1, 0, -1 (with or without
// ".0") or blank (returned as blankValue).
func parseCheXpertValue(s string) (int, error) {
	if s == "" {
		return blankValue, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || (f != 1 && f != 0 && f != -1) {
		return 0, fmt.Errorf("value %q is not 1, 0, -1 or blank", s)
	}
	return int(f), nil
}

func (s *cheXpert) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	return s.ls.read(ctx, u)
}
