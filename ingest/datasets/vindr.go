package datasets

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// VinDr-CXR (Nguyen et al. 2022, https://physionet.org/content/vindr-cxr/1.0.0/)
// ships annotations/image_labels_train.csv and image_labels_test.csv with
// the columns image_id, rad_id (train only: three of seventeen readers
// label each training image, so each image has three rows) and one 0/1
// column per finding or diagnosis ending with "No finding"; the images are
// DICOM files train/<image_id>.dicom and test/<image_id>.dicom. The
// readers are combined by the "readers" policy: any, majority (default)
// or all of an image's readers must mark a label for it to count.

const vinDrName = "vindr-cxr"

func init() {
	fields := append(commonFields("datasets/vindr-cxr/1.0.0", "LicenseRef-PhysioNet-Credentialed-Health-Data-License-1.5.0", true), labelFields()...)
	fields = append(fields,
		ingest.Field{Name: "files", Type: ingest.TypeStrings, Default: []string{"annotations/image_labels_train.csv"},
			Description: "label CSVs, relative to root; the split (and image folder) is taken from each name",
			Example:     "[annotations/image_labels_train.csv, annotations/image_labels_test.csv]"},
		ingest.Field{Name: "readers", Type: ingest.TypeString, Default: "majority", Enum: []string{"any", "majority", "all"},
			Description: "how the readers of one image combine into its labels", Example: "any"},
		ingest.Field{Name: "image_ext", Type: ingest.TypeString, Default: ".dicom",
			Description: "image file extension: .dicom as published, or .png/.jpg for a converted copy",
			Example:     ".png"},
	)
	register(ingest.Spec{
		Name:    vinDrName,
		Summary: "VinDr-CXR (image_labels_*.csv, several readers per image, DICOM images) as diagnosis samples",
		Fields:  fields,
	}, newVinDr)
}

type vinDr struct {
	ls       *labelSet
	files    []string
	readers  string
	imageExt string
}

func newVinDr(p ingest.Params, baseDir string) (ingest.Source, error) {
	b, err := newBuilder(vinDrName, p, baseDir)
	if err != nil {
		return nil, err
	}
	s := &vinDr{ls: &labelSet{b: b, noFinding: "No finding", maxQuestions: p.Int("max_questions")},
		readers: p.String("readers"), imageExt: p.String("image_ext")}
	if s.readers == "" {
		s.readers = "majority"
	}
	if s.imageExt == "" {
		s.imageExt = ".dicom"
	}
	files := p.Strings("files")
	if len(files) == 0 {
		files = []string{"annotations/image_labels_train.csv"}
	}
	for _, f := range files {
		s.files = append(s.files, joinPath(b.opts.Root, f))
	}
	return rowSource{s, b}, nil
}

// vinDrImage gathers the rows of one image.
type vinDrImage struct {
	im      *labelledImage
	votes   map[string]int
	readers []string
	err     error
}

func (s *vinDr) plan(ctx context.Context) ([]ingest.Unit, error) {
	b := s.ls.b
	var order []string
	byID := map[string]*vinDrImage{}
	var bad []ingest.Unit
	files, missing := s.ls.b.fs.present(ctx, s.files)
	if len(files) == 0 {
		var looked []string
		for _, f := range missing {
			looked = append(looked, relPath(b.opts.Root, f)+" (with its split's <image_id>"+s.imageExt+" folder)")
		}
		return nil, layoutError(vinDrName, b.opts.Root, looked...)
	}
	for _, f := range missing {
		slog.Warn("vindr-cxr: label file missing, skipped", "root", b.opts.Root, "file", relPath(b.opts.Root, f))
	}
	for _, file := range files {
		t, err := s.ls.b.fs.readCSV(ctx, file, ',')
		if err != nil {
			return nil, err
		}
		if err := t.require("image_id"); err != nil {
			return nil, err
		}
		var labels []string
		for _, h := range t.Header {
			if h != "image_id" && h != "rad_id" && h != "" {
				labels = append(labels, h)
			}
		}
		if len(labels) == 0 {
			return nil, fmt.Errorf("%s: no label columns", file)
		}
		split := splitFromName(file)
		imgDir := joinPath(b.opts.Root, split)
		rel := relPath(b.opts.Root, file)
		for _, r := range t.Rows {
			id := rel + ":" + strconv.Itoa(r.Line)
			if r.Err != nil {
				bad = append(bad, errUnit(id, []string{file}, r.Err))
				continue
			}
			iid := t.get(r, "image_id")
			if iid == "" {
				bad = append(bad, errUnit(id, []string{file}, rowErrorf(file, r.Line, "no image_id")))
				continue
			}
			if !b.opts.keep(iid) {
				continue
			}
			g := byID[iid]
			if g == nil {
				img, err := safeJoin(imgDir, iid+s.imageExt)
				g = &vinDrImage{votes: map[string]int{}, err: err,
					im: &labelledImage{File: file, Line: r.Line, Image: img, Modality: "DX", Split: split, Key: iid,
						Group: group(vinDrName, iid), Meta: map[string]string{"row": id, "readers_policy": s.readers}}}
				if err != nil {
					g.err = rowErrorf(file, r.Line, "%v", err)
				}
				byID[iid] = g
				order = append(order, iid)
			}
			g.readers = append(g.readers, t.get(r, "rad_id"))
			for _, l := range labels {
				v := t.get(r, l)
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || (f != 0 && f != 1) {
					if g.err == nil {
						g.err = rowErrorf(file, r.Line, "column %q: value %q is not 0 or 1", l, v)
					}
					continue
				}
				if f == 1 {
					g.votes[l]++
				}
			}
		}
		if s.ls.vocab == nil {
			for _, l := range labels {
				if !strings.EqualFold(l, "No finding") {
					s.ls.vocab = append(s.ls.vocab, l)
				}
			}
		}
	}
	var imgs []*labelledImage
	for _, iid := range order {
		g := byID[iid]
		if g.err != nil {
			bad = append(bad, errUnit(iid, []string{g.im.File}, g.err))
			continue
		}
		n := len(g.readers)
		for _, l := range s.ls.vocab {
			v := g.votes[l]
			ok := false
			switch s.readers {
			case "any":
				ok = v > 0
			case "all":
				ok = v == n
			default:
				ok = 2*v > n
			}
			if ok {
				g.im.Pos = append(g.im.Pos, l)
			}
		}
		g.im.Meta["readers"] = strings.Join(g.readers, ",")
		imgs = append(imgs, g.im)
	}
	return s.ls.units(imgs, bad), nil
}

func (s *vinDr) read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	return s.ls.read(ctx, u)
}
