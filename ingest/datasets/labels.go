package datasets

import (
	"context"
	"sort"
	"strings"
	"unicode"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// labelledImage is one image of a chest X-ray label set with its labels,
// planned from one row (or, for VinDr-CXR, the rows of all its readers).
type labelledImage struct {
	File     string // index file of its (first) row
	Line     int
	Image    string // path of the image file
	Modality string
	Pos      []string // labels present, vocabulary order
	Skip     []string // labels left out either way (uncertain, unmentioned)
	// Uncertain lists the labels the open answer calls uncertain.
	Uncertain []string
	Neg       []string // labels to ask about with answer no (set by balancing)
	Group     string
	Split     string
	Key       string // stable image key for sample ids
	Meta      map[string]string
	// Spacing, when set, computes the pixel spacing from the decoded width
	// (ChestX-ray14 gives the spacing of the original, larger image).
	Spacing func(width, height int) [3]float64
}

// labelFields are the parameters of the label-set sources.
func labelFields() []ingest.Field {
	return []ingest.Field{
		{Name: "max_questions", Type: ingest.TypeInt, Default: 0,
			Description: "keep at most this many samples per image (the open diagnosis question plus yes/no questions chosen by hash); 0 keeps all. Bounds corpus size at the cost of exact yes/no balance",
			Example:     "3"},
	}
}

// labelSet finishes planning a label-set source: it applies class capping
// and picks the balanced "no" questions, then makes one unit per image.
type labelSet struct {
	b            *builder
	vocab        []string // labels asked about, in order
	noFinding    string   // the dataset's "no finding" text for the open answer
	maxQuestions int
}

func (ls *labelSet) units(imgs []*labelledImage, bad []ingest.Unit) []ingest.Unit {
	rows := make([]labelRow, len(imgs))
	for i, im := range imgs {
		rows[i] = labelRow{ID: im.Key, Pos: im.Pos, Skip: im.Skip}
	}
	keep := capPerLabel(rows, ls.b.opts.MaxPerLabel, ls.b.opts.Seed)
	var kept []*labelledImage
	var krows []labelRow
	for i, im := range imgs {
		if keep[i] {
			kept = append(kept, im)
			krows = append(krows, rows[i])
		}
	}
	if ls.b.opts.YesNo {
		neg := negatives(krows, ls.vocab, ls.b.opts.Seed)
		for i, im := range kept {
			im.Neg = neg[i]
		}
	}
	units := append([]ingest.Unit(nil), bad...)
	for _, im := range kept {
		units = append(units, ingest.Unit{ID: im.Key, Paths: []string{im.File, im.Image}, Bytes: ls.b.fs.size(im.Image), Data: im})
	}
	sort.SliceStable(units, func(a, b int) bool { return units[a].ID < units[b].ID })
	return units
}

// labelText is a label as it reads inside a question: words lower-cased
// except acronyms ("Enlarged PA" → "enlarged PA"), underscores as spaces.
func labelText(l string) string {
	words := strings.Fields(strings.ReplaceAll(l, "_", " "))
	for i, w := range words {
		upper := len(w) > 1
		for _, r := range w {
			if unicode.IsLetter(r) && !unicode.IsUpper(r) {
				upper = false
				break
			}
		}
		if !upper {
			words[i] = strings.ToLower(w)
		}
	}
	return strings.Join(words, " ")
}

// displayLabel is a label as it reads in an answer list.
func displayLabel(l string) string { return strings.ReplaceAll(l, "_", " ") }

// read builds the samples of one image: the open diagnosis question, then a
// yes question per present label and a no question per chosen negative.
func (ls *labelSet) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	im := u.Data.(*labelledImage)
	ims, err := ls.b.fs.loadImages(ctx, im.Image, relPath(ls.b.opts.Root, im.Image), im.Modality)
	if err != nil {
		return nil, imageError(im.File, im.Line, err)
	}
	if im.Spacing != nil && len(ims) == 1 {
		ims[0].Spacing = im.Spacing(ims[0].Width, ims[0].Height)
	}
	meta := func(extra ...string) map[string]string {
		m := map[string]string{}
		for k, v := range im.Meta {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	var names []string
	for _, l := range im.Pos {
		names = append(names, displayLabel(l))
	}
	resp := ls.noFinding + "."
	if len(names) > 0 {
		resp = strings.Join(names, ", ") + "."
	}
	if len(im.Uncertain) > 0 {
		var un []string
		for _, l := range im.Uncertain {
			un = append(un, displayLabel(l))
		}
		resp += " Uncertain: " + strings.Join(un, ", ") + "."
	}
	ds := []draft{{Task: shards.TaskDiagnosis, Set: "diagnosis_open", Response: resp,
		Images: ims, Group: im.Group, Split: im.Split, Key: []string{im.Key, "open"},
		Meta: meta("question", "open", "labels", strings.Join(im.Pos, "|"))}}
	var yn []draft
	for _, l := range im.Pos {
		if !ls.b.opts.YesNo || !contains(ls.vocab, l) {
			continue
		}
		yn = append(yn, draft{Task: shards.TaskDiagnosis, Set: "diagnosis_yesno",
			Vars: map[string]string{"label": labelText(l)}, Response: yesNo(true),
			Images: ims, Group: im.Group, Split: im.Split, Key: []string{im.Key, "yes", l},
			Meta: meta("question", "yesno", "label", l, "answer", "yes")})
	}
	for _, l := range im.Neg {
		yn = append(yn, draft{Task: shards.TaskDiagnosis, Set: "diagnosis_yesno",
			Vars: map[string]string{"label": labelText(l)}, Response: yesNo(false),
			Images: ims, Group: im.Group, Split: im.Split, Key: []string{im.Key, "no", l},
			Meta: meta("question", "yesno", "label", l, "answer", "no")})
	}
	if ls.maxQuestions > 0 && 1+len(yn) > ls.maxQuestions {
		sort.SliceStable(yn, func(a, b int) bool {
			return hash64(ls.b.opts.Seed, "q", strings.Join(yn[a].Key, "\x00")) < hash64(ls.b.opts.Seed, "q", strings.Join(yn[b].Key, "\x00"))
		})
		yn = yn[:ls.maxQuestions-1]
	}
	return ls.b.buildAll(append(ds, yn...))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
