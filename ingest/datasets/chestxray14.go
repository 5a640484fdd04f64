package datasets

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// NIH ChestX-ray14 (Wang et al. 2017, https://nihcc.app.box.com/v/ChestXray-NIHCC)
// ships Data_Entry_2017_v2020.csv (the 2017 release's Data_Entry_2017.csv
// before it) — Image Index, Finding Labels ("|"-separated, or "No
// Finding"), Follow-up #, Patient ID, Patient Age, Patient Sex (Patient
// Gender in 2017; v2020 also corrected ages), View Position,
// OriginalImage[Width,Height], OriginalImagePixelSpacing[x,y] (the
// bracketed pairs are two columns each, and every line ends in a comma) —
// the official split lists train_val_list.txt and test_list.txt,
// and the 1024×1024 PNGs in images_001/images/ … images_012/images/ (or
// one images/ folder once extracted together).

const chestXray14Name = "chestxray14"

// chestXray14Labels are the 14 findings of the dataset.
var chestXray14Labels = []string{"Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion",
	"Emphysema", "Fibrosis", "Hernia", "Infiltration", "Mass", "Nodule", "Pleural_Thickening",
	"Pneumonia", "Pneumothorax"}

func init() {
	fields := append(commonFields("datasets/ChestX-ray14", "CC0-1.0", true), labelFields()...)
	fields = append(fields,
		ingest.Field{Name: "file", Type: ingest.TypeString, Default: "",
			Description: "label CSV, relative to root; empty finds " + strings.Join(chestXray14Files, " or ") + " (the first present)", Example: "Data_Entry_2017.csv"})
	register(ingest.Spec{
		Name:    chestXray14Name,
		Summary: "NIH ChestX-ray14 (Data_Entry_2017_v2020.csv or Data_Entry_2017.csv + images_NNN/images/*.png) as diagnosis samples: open finding list and balanced yes/no per finding",
		Fields:  fields,

		// Groups and image paths carry the patient id, pseudonymised.
		PatientIDs: true,
	}, newChestXray14)
}

// chestXray14Files are the label file's names, newest release first: the
// v2020 file corrects ages, so it wins when both are present.
var chestXray14Files = []string{"Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"}

type chestXray14 struct {
	ls   *labelSet
	file string
}

func newChestXray14(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(chestXray14Name, p, baseDir)
	if err != nil {
		return nil, err
	}
	return rowSource{&chestXray14{
		ls:   &labelSet{b: b, vocab: chestXray14Labels, noFinding: "No finding", maxQuestions: p.Int("max_questions")},
		file: p.String("file"),
	}, b}, nil
}

// imageIndex maps image file names to their paths under root/images and
// root/images_*/images, the two ways the archives are extracted.
func imageIndex(ctx context.Context, t *tree, root string) (map[string]string, error) {
	idx := map[string]string{}
	dirs, err := t.glob(ctx, joinPath(root, "images_*", "images"))
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	dirs = append([]string{joinPath(root, "images")}, dirs...)
	for _, d := range dirs {
		ents, err := t.readDir(ctx, d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, e := range ents {
			if _, dup := idx[e.name]; !dup && !e.dir {
				idx[e.name] = joinPath(d, e.name)
			}
		}
	}
	return idx, nil
}

// readList reads an official split list (one image name per line).
func (t *tree) readList(ctx context.Context, path string) (map[string]bool, error) {
	f, err := t.openFile(ctx, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			m[l] = true
		}
	}
	return m, sc.Err()
}

// labelFile returns the configured label CSV, or the newest release's
// file found under root.
func (s *chestXray14) labelFile(ctx context.Context) (string, error) {
	root := s.ls.b.opts.Root
	if s.file != "" {
		return joinPath(root, s.file), nil
	}
	for _, f := range chestXray14Files {
		if p := joinPath(root, f); s.ls.b.fs.exists(ctx, p) {
			return p, nil
		}
	}
	return "", layoutError(chestXray14Name, root, chestXray14Files...)
}

func (s *chestXray14) plan(ctx context.Context) ([]ingest.Unit, error) {
	b := s.ls.b
	file, err := s.labelFile(ctx)
	if err != nil {
		return nil, err
	}
	t, err := b.fs.readCSV(ctx, file, ',')
	if err != nil {
		return nil, err
	}
	if err := t.require("Image Index", "Finding Labels", "Patient ID"); err != nil {
		return nil, err
	}
	idx, err := imageIndex(ctx, b.fs, b.opts.Root)
	if err != nil {
		return nil, err
	}
	trainVal, err := b.fs.readList(ctx, joinPath(b.opts.Root, "train_val_list.txt"))
	if err != nil {
		return nil, err
	}
	test, err := b.fs.readList(ctx, joinPath(b.opts.Root, "test_list.txt"))
	if err != nil {
		return nil, err
	}
	var imgs []*labelledImage
	var bad []ingest.Unit
	rows := imageRows{file: file, rel: relPath(b.opts.Root, file), col: "Image Index", keep: b.opts.keep, seen: map[string]int{}, bad: &bad}
	for _, r := range t.Rows {
		name, id, ok := rows.admit(t, r)
		if !ok {
			continue
		}
		fail := func(err error) { bad = append(bad, errUnit(id, []string{file}, err)) }
		path, ok := idx[name]
		if !ok {
			fail(rowErrorf(file, r.Line, "image %s not found under images/ or images_*/images/", name))
			continue
		}
		labels := t.get(r, "Finding Labels")
		var pos []string
		var unknown string
		for _, l := range strings.Split(labels, "|") {
			l = strings.TrimSpace(l)
			switch {
			case l == "No Finding" || l == "":
			case contains(chestXray14Labels, l):
				if !contains(pos, l) {
					pos = append(pos, l)
				}
			default:
				unknown = l
			}
		}
		if unknown != "" || labels == "" {
			fail(rowErrorf(file, r.Line, "unknown finding label %q in %q", unknown, labels))
			continue
		}
		sort.Slice(pos, func(i, j int) bool { return indexOf(chestXray14Labels, pos[i]) < indexOf(chestXray14Labels, pos[j]) })
		split := ""
		switch {
		case test[name]:
			split = "test"
		case trainVal[name]:
			split = "train"
		}
		pid := t.get(r, "Patient ID")
		if pid == "" {
			fail(rowErrorf(file, r.Line, "no Patient ID"))
			continue
		}
		im := &labelledImage{File: file, Line: r.Line, Image: path, Modality: "DX", Pos: pos,
			Group: patientGroup(chestXray14Name, pid), Split: split, Key: name,
			Meta: map[string]string{"row": id, "view": t.get(r, "View Position"),
				"follow_up": t.get(r, "Follow-up #"), "sex": chestXray14Sex(t, r)}}
		// The pixel spacing is that of the original image; the PNGs were
		// resized to 1024 wide, so scale it by the width ratio.
		ow, _ := strconv.ParseFloat(t.get(r, "OriginalImage[Width"), 64)
		oh, _ := strconv.ParseFloat(t.get(r, "Height]"), 64)
		sx, _ := strconv.ParseFloat(t.get(r, "OriginalImagePixelSpacing[x"), 64)
		sy, _ := strconv.ParseFloat(t.get(r, "y]"), 64)
		if ow > 0 && oh > 0 && sx > 0 && sy > 0 {
			im.Spacing = func(w, h int) [3]float64 {
				return [3]float64{sx * ow / float64(w), sy * oh / float64(h), 0}
			}
		}
		imgs = append(imgs, im)
	}
	return s.ls.units(imgs, bad), nil
}

func (s *chestXray14) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	return s.ls.read(ctx, u)
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// chestXray14Sex reads Patient Sex (v2020) or Patient Gender (2017).
func chestXray14Sex(t *csvTable, r csvRow) string {
	if t.has("Patient Sex") {
		return t.get(r, "Patient Sex")
	}
	return t.get(r, "Patient Gender")
}
