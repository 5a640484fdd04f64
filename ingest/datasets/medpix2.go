package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
)

// MedPix 2.0 (Siragusa et al. 2025, https://github.com/CHILab1/MedPix-2.0,
// folder MedPix-2-0/) ships two JSON lists and a PNG folder:
//
//   - Case_topic.json: one record per clinical case with U_id (the MPX case
//     number), TAC and MRI (the case's CT and MR image names, without
//     extension), Case {Title, History, Exam, Findings, Differential
//     Diagnosis, Case Diagnosis, Diagnosis By, Treatment & Follow Up,
//     Discussion} and Topic {Title, Disease Discussion, ACR Code, Category,
//     …};
//   - Descriptions.json: one record per image with Type (CT or MR), U_id,
//     image (the name, without extension), Description {ACR Codes, Age, Sex,
//     Caption, Figure Part, Modality, Plane}, Location and Location Category;
//   - images/<image>.png;
//   - splitted_dataset/: the official case-level split (train, dev, test) as
//     uid_list.json and as data_*.jsonl / descriptions_*.jsonl copies of the
//     two lists.
//
// Any field may be null or "N/A"; such a field gives no sample. Each image
// gives modality, plane and caption rows, each case findings, exam,
// differential, diagnosis, imaging-used, treatment and discussion rows (the
// RadFM CSV row types), all with the case's split and group.

// medPix2Files are the files that identify a MedPix 2.0 folder.
var medPix2Files = []string{"Case_topic.json", "Descriptions.json"}

// medPix2Folder is the release's folder name inside the repository.
const medPix2Folder = "MedPix-2-0"

// findMedPix2 returns the MedPix 2.0 folder under root (root itself or its
// MedPix-2-0 folder, as a clone of the repository has it), or "".
func (t *tree) findMedPix2(ctx context.Context, root string) string {
	for _, dir := range []string{root, joinPath(root, medPix2Folder)} {
		if t.exists(ctx, joinPath(dir, medPix2Files[0])) && t.exists(ctx, joinPath(dir, medPix2Files[1])) {
			return dir
		}
	}
	return ""
}

// optText is a JSON string that may be null, a number or "N/A" (MedPix 2.0
// writes all three for absent values); it decodes to "" for absent.
type optText string

func (t *optText) UnmarshalJSON(b []byte) error {
	v, ok := jsonText(b)
	if !ok {
		*t = ""
		return nil
	}
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "N/A") || strings.EqualFold(v, "nan") {
		v = ""
	}
	*t = optText(v)
	return nil
}

type medPix2Case struct {
	UID   string             `json:"U_id"`
	TAC   []string           `json:"TAC"`
	MRI   []string           `json:"MRI"`
	Case  map[string]optText `json:"Case"`
	Topic map[string]optText `json:"Topic"`
}

type medPix2Image struct {
	Type        string             `json:"Type"`
	UID         string             `json:"U_id"`
	Image       string             `json:"image"`
	Description map[string]optText `json:"Description"`
}

// medPix2CaseFields maps Case keys to RadFM's row types, in sample order.
var medPix2CaseFields = []struct{ key, kind string }{
	{"Findings", "findings"},
	{"Exam", "exam"},
	{"Differential Diagnosis", "ddx"},
	{"Case Diagnosis", "diagnosis"},
	{"Diagnosis By", "dxHow"},
	{"Treatment & Follow Up", "txFollowup"},
	{"Discussion", "discussion"},
}

// medPix2Splits reads the official case split: uid_list.json's train, dev
// and test lists (train_1 and train_2 are halves of train), or the U_ids of
// data_{train,dev,test}.jsonl when the list is absent. No split files is a
// warning: samples then carry no split.
func (t *tree) medPix2Splits(ctx context.Context, dir string) (map[string]string, error) {
	splits := map[string]string{}
	sd := joinPath(dir, "splitted_dataset")
	names := map[string]string{"train": "train", "dev": "val", "test": "test"}
	if f := joinPath(sd, "uid_list.json"); t.exists(ctx, f) {
		data, err := t.readJSONFile(ctx, f)
		if err != nil {
			return nil, err
		}
		var lists map[string][]string
		if err := json.Unmarshal(data, &lists); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for key, split := range names {
			for _, uid := range lists[key] {
				splits[uid] = split
			}
		}
		return splits, nil
	}
	found := false
	for key, split := range names {
		f := joinPath(sd, "data_"+key+".jsonl")
		if !t.exists(ctx, f) {
			continue
		}
		found = true
		data, err := t.readJSONFile(ctx, f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var rec struct {
				UID string `json:"U_id"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				return nil, rowErrorf(f, i+1, "bad record: %v", err)
			}
			splits[rec.UID] = split
		}
	}
	if !found {
		slog.Warn("medpix: no official split (splitted_dataset/uid_list.json or data_*.jsonl); samples carry no split", "root", dir)
	}
	return splits, nil
}

// planV2 plans a MedPix 2.0 folder: one unit per image and row type, one
// per case and row type.
func (s *medPix) planV2(ctx context.Context, dir string) ([]ingest.Unit, error) {
	splits, err := s.b.fs.medPix2Splits(ctx, dir)
	if err != nil {
		return nil, err
	}
	images := joinPath(dir, "images")
	var units []ingest.Unit
	var rows []*medPixRow
	add := func(file string, entry int, kind string, row *medPixRow, err error) {
		id := relPath(s.b.opts.Root, file) + ":" + strconv.Itoa(entry) + ":" + kind
		if !s.b.opts.keep(id) {
			return
		}
		if err != nil {
			units = append(units, errUnit(id, []string{file}, err))
			return
		}
		var size int64
		for _, p := range row.Images {
			size += s.b.fs.size(p)
		}
		rows = append(rows, row)
		units = append(units, ingest.Unit{ID: id, Paths: append([]string{file}, row.Images...), Bytes: size, Data: row})
	}
	imagePath := func(file string, entry int, name string) (string, error) {
		name = strings.TrimSpace(name)
		if name == "" {
			return "", rowErrorf(file, entry, "empty image name")
		}
		if filepath.Ext(name) == "" {
			name += ".png"
		}
		p, err := safeJoin(images, name)
		if err != nil {
			return "", rowErrorf(file, entry, "%v", err)
		}
		return p, nil
	}

	descFile := joinPath(dir, "Descriptions.json")
	list, err := s.b.fs.readJSONList(ctx, descFile)
	if err != nil {
		return nil, err
	}
	// Each image's modality: the finer Description.Modality when it names
	// one, else Type (CT, MR); case rows take it from here too.
	typeMod := map[string]string{}
	for _, raw := range list {
		var rec medPix2Image
		if json.Unmarshal(raw, &rec) == nil && rec.Image != "" {
			typeMod[rec.Image] = modalityCode(rec.Type)
			if m := modalityCode(string(rec.Description["Modality"])); m != "" {
				typeMod[rec.Image] = m
			}
		}
	}
	var yn []*medPixRow
	lrows := map[string][]labelRow{}
	for i, raw := range list {
		entry := i + 1
		var rec medPix2Image
		if err := json.Unmarshal(raw, &rec); err != nil {
			add(descFile, entry, "image", nil, rowErrorf(descFile, entry, "bad record: %v", err))
			continue
		}
		img, err := imagePath(descFile, entry, rec.Image)
		if err == nil && rec.UID == "" {
			err = rowErrorf(descFile, entry, "no U_id")
		}
		if err != nil {
			add(descFile, entry, "image", nil, err)
			continue
		}
		d := rec.Description
		kinds := []struct{ kind, text string }{
			{"modality", string(d["Modality"])}, {"plane", string(d["Plane"])}, {"caption", string(d["Caption"])}}
		n := 0
		for _, k := range kinds {
			if k.text == "" {
				continue
			}
			n++
			mod := typeMod[rec.Image]
			if m := modalityCode(string(d["Modality"])); m != "" {
				mod = m
			}
			row := &medPixRow{File: descFile, Line: entry, Kind: k.kind, Images: []string{img}, Text: k.text,
				Group: group(medPixName, rec.UID), Split: splits[rec.UID], Mods: []string{mod}}
			before := len(rows)
			add(descFile, entry, k.kind, row, nil)
			if len(rows) > before && (k.kind == "modality" || k.kind == "plane") {
				yn = append(yn, row)
				lrows[k.kind] = append(lrows[k.kind], labelRow{ID: descFile + ":" + strconv.Itoa(entry), Pos: []string{k.text}})
			}
		}
		if n == 0 {
			add(descFile, entry, "image", nil, rowErrorf(descFile, entry, "no Modality, Plane or Caption"))
		}
	}
	if s.b.opts.YesNo {
		setNegatives(yn, lrows, s.b.opts.Seed)
	}

	caseFile := joinPath(dir, "Case_topic.json")
	list, err = s.b.fs.readJSONList(ctx, caseFile)
	if err != nil {
		return nil, err
	}
	for i, raw := range list {
		entry := i + 1
		var rec medPix2Case
		if err := json.Unmarshal(raw, &rec); err != nil {
			add(caseFile, entry, "case", nil, rowErrorf(caseFile, entry, "bad record: %v", err))
			continue
		}
		var imgs, mods []string
		var ierr error
		for _, name := range append(append([]string(nil), rec.TAC...), rec.MRI...) {
			p, err := imagePath(caseFile, entry, name)
			if err != nil {
				ierr = err
				break
			}
			imgs = append(imgs, p)
			mods = append(mods, typeMod[strings.TrimSpace(name)])
		}
		switch {
		case ierr != nil:
		case rec.UID == "":
			ierr = rowErrorf(caseFile, entry, "no U_id")
		case len(imgs) == 0:
			ierr = rowErrorf(caseFile, entry, "case %s lists no TAC or MRI image", rec.UID)
		}
		if ierr != nil {
			add(caseFile, entry, "case", nil, ierr)
			continue
		}
		hist := string(rec.Case["History"])
		for _, f := range medPix2CaseFields {
			text := string(rec.Case[f.key])
			if f.kind == "discussion" && text == "" {
				// Most cases keep their discussion in the topic.
				text = string(rec.Topic["Disease Discussion"])
			}
			if text == "" {
				continue
			}
			add(caseFile, entry, f.kind, &medPixRow{File: caseFile, Line: entry, Kind: f.kind, Images: imgs, Mods: mods,
				Text: strings.TrimSpace(strings.ReplaceAll(text, "• ", "")), Hist: hist,
				Group: group(medPixName, rec.UID), Split: splits[rec.UID]}, nil)
		}
	}
	return units, nil
}

// setNegatives draws the yes/no negatives of modality and plane rows, per
// kind, from the other values of the same kind.
func setNegatives(yn []*medPixRow, lrows map[string][]labelRow, seed string) {
	for kind, rows := range lrows {
		neg := negatives(rows, uniqueLabels(rows), seed)
		k := 0
		for _, r := range yn {
			if r.Kind == kind {
				r.Neg = neg[k]
				k++
			}
		}
	}
}
