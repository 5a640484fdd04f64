package pmc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Sample sources.
const (
	SourceOA         = "pmc-oa"
	SourceInline     = "pmc-inline"
	SourceCaseReport = "pmc-casereport"
)

// SampleOptions choose which samples an article yields and how.
type SampleOptions struct {
	OA, Inline, CaseReport bool
	// CaptionPrompt is the instruction of pmc-oa samples ("" = none).
	CaptionPrompt string
	// SplitPanels emits one pmc-oa sample per panel of a compound figure.
	SplitPanels     bool
	MaxImagesInline int
	MaxImagesCase   int
	// Image bounds figures must meet (normalize.DecodeImage's checks).
	Image normalize.Image2DOptions
}

// figureImages decodes figure images on demand, once each.
type figureImages struct {
	art    *jats.Article
	pkg    *Package
	opt    normalize.Image2DOptions
	done   map[int]bool
	images map[int]shards.Image
	errs   []error
	// dropped are figures normalize refused (too small, banner-shaped, too
	// large): a decision, not bad input.
	dropped []string
}

// get returns figure i's image. Each call returns its own Meta map and
// Transforms slice (samples may be changed by stages concurrently); the
// voxel bytes are shared and must be treated as read-only.
func (fi *figureImages) get(i int) (shards.Image, bool) {
	if fi.done[i] {
		im, ok := fi.images[i]
		if ok {
			im.Meta = maps.Clone(im.Meta)
			im.Transforms = slices.Clone(im.Transforms)
		}
		return im, ok
	}
	fi.done[i] = true
	f := &fi.art.Figures[i]
	data, ok := fi.pkg.Files[f.Graphic]
	if !ok {
		fi.errs = append(fi.errs, fmt.Errorf("figure %s: graphic %q not in package", f.ID, f.Href))
		return shards.Image{}, false
	}
	im, err := normalize.DecodeImage(data, fi.opt)
	if err != nil {
		var drop *normalize.DropError
		if errors.As(err, &drop) {
			fi.dropped = append(fi.dropped, f.ID+": "+drop.Reason)
			return shards.Image{}, false
		}
		fi.errs = append(fi.errs, fmt.Errorf("figure %s (%s): %w", f.ID, f.Graphic, err))
		return shards.Image{}, false
	}
	if im.Meta == nil {
		im.Meta = map[string]string{}
	}
	sum := sha256.Sum256(data)
	im.SourcePath = path.Join(fi.pkg.Name, f.Graphic)
	if fi.pkg.Name == "" {
		im.SourcePath = f.Graphic
	}
	im.SourceSHA256 = hex.EncodeToString(sum[:])
	im.Meta["figure_id"] = f.ID
	if f.Label != "" {
		im.Meta["label"] = f.Label
	}
	// The figure's own caption travels with its image, so a consumer of a
	// multi-figure sample (RadMD's per-figure radiology filter) reads what
	// the figure shows rather than the article text around it.
	if f.Caption != "" {
		im.Meta["caption"] = f.Caption
	}
	fi.images[i] = im
	im.Meta = maps.Clone(im.Meta)
	return im, true
}

// placed is a figure (index into Article.Figures) and the response offset,
// in code points, where its image goes.
type placed struct{ fig, offset int }

// place puts the images of cand, in order, into s's response at their
// offsets, at most max of them, skipping figures whose image is missing or
// was dropped; it returns the ids of the figures placed.
func (fi *figureImages) place(s *shards.Sample, cand []placed, max int) []string {
	var ids []string
	for _, c := range cand {
		if len(s.Images) >= max {
			break
		}
		im, ok := fi.get(c.fig)
		if !ok {
			continue
		}
		s.Placements = append(s.Placements, shards.Placement{Image: len(s.Images), Field: shards.FieldResponse, Offset: c.offset})
		s.Images = append(s.Images, im)
		ids = append(ids, fi.art.Figures[c.fig].ID)
	}
	return ids
}

// buildSamples turns one parsed article into its samples. Figures whose
// image is missing or undecodable are skipped with a warning; the article
// fails only when it yields nothing and images were the reason.
func buildSamples(a *jats.Article, pkg *Package, row OARow, license string, opt SampleOptions) ([]shards.Sample, error) {
	fi := &figureImages{art: a, pkg: pkg, opt: opt.Image, done: map[int]bool{}, images: map[int]shards.Image{}}
	meta := articleMeta(a, row)
	if len(pkg.Refused) > 0 {
		b, _ := json.Marshal(pkg.Refused)
		meta["refused_members"] = string(b)
	}
	base := func(source, task string, keys ...string) shards.Sample {
		m := make(map[string]string, len(meta)+4)
		for k, v := range meta {
			m[k] = v
		}
		return shards.Sample{
			ID:      shards.MakeID(source, append([]string{a.PMCID}, keys...)...),
			Source:  source,
			Task:    task,
			Group:   a.PMCID,
			License: shards.SPDXLicense(versioned(license, a.License)),
			Meta:    m,
		}
	}
	var out []shards.Sample
	if opt.OA {
		for i := range a.Figures {
			f := &a.Figures[i]
			if f.Caption == "" {
				continue
			}
			im, ok := fi.get(i)
			if !ok {
				continue
			}
			figKey := f.ID
			if figKey == "" {
				figKey = "#" + strconv.Itoa(i)
			}
			mk := func(response, panel string) shards.Sample {
				s := base(SourceOA, shards.TaskCaption, figKey, panel)
				s.Instruction = opt.CaptionPrompt
				s.Response = response
				s.Images = []shards.Image{im}
				s.Placements = []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 0}}
				s.Meta["figure_id"] = f.ID
				s.Meta["label"] = f.Label
				// The caption's title ("Abdominal CT.") often names what
				// every panel shows while a panel's sub-caption does not.
				if f.Title != "" {
					s.Meta["figure_title"] = f.Title
				}
				s.Meta["compound"] = strconv.FormatBool(f.Compound)
				if f.Compound {
					b, _ := json.Marshal(f.Panels)
					s.Meta["panels"] = string(b)
				}
				if panel != "" {
					s.Meta["panel"] = panel
				}
				return s
			}
			if opt.SplitPanels && f.Compound {
				for _, p := range f.Panels {
					out = append(out, mk(p.Caption, p.Label))
				}
				continue
			}
			out = append(out, mk(f.Caption, ""))
		}
	}
	if opt.Inline && a.BodyText != "" {
		var cand []placed
		for i, f := range a.Figures {
			if len(f.Mentions) > 0 {
				cand = append(cand, placed{i, f.Mentions[0].Offset})
			}
		}
		sort.SliceStable(cand, func(x, y int) bool { return cand[x].offset < cand[y].offset })
		s := base(SourceInline, shards.TaskInline)
		s.Response = a.BodyText
		ids := fi.place(&s, cand, opt.MaxImagesInline)
		if len(s.Images) > 0 {
			s.Meta["figure_ids"] = strings.Join(ids, ",")
			out = append(out, s)
		}
	}
	if opt.CaseReport && a.CaseReport && a.CaseText != "" {
		s := base(SourceCaseReport, shards.TaskReport)
		s.Response = a.CaseText
		caseLen := len([]rune(a.CaseText))
		var cand []placed
		for i, f := range a.Figures {
			off := -1
			for _, m := range f.Mentions {
				if o, ok := caseOffset(a.CaseSpans, m.Offset); ok {
					off = o
					break
				}
			}
			if off < 0 {
				off = caseLen // not referenced in the case text: after it
			}
			cand = append(cand, placed{i, off})
		}
		sort.SliceStable(cand, func(x, y int) bool { return cand[x].offset < cand[y].offset })
		ids := fi.place(&s, cand, opt.MaxImagesCase)
		s.Meta["figure_ids"] = strings.Join(ids, ",")
		out = append(out, s)
		// Questions the case report asks about its images: one vqa sample
		// each, the figures (in the same order) before the question.
		for k, qa := range a.QA {
			v := base(SourceCaseReport, shards.TaskVQA, "qa", strconv.Itoa(k))
			v.Instruction, v.Response = qa.Question, qa.Answer
			for _, c := range cand {
				if len(v.Images) >= opt.MaxImagesCase {
					break
				}
				if im, ok := fi.get(c.fig); ok {
					v.Placements = append(v.Placements, shards.Placement{Image: len(v.Images), Field: shards.FieldInstruction, Offset: 0})
					v.Images = append(v.Images, im)
				}
			}
			if len(v.Images) > 0 {
				v.Meta["figure_ids"] = s.Meta["figure_ids"]
				out = append(out, v)
			}
		}
	}
	for _, err := range fi.errs {
		slog.Warn("pmc: figure skipped", "pmcid", a.PMCID, "err", err)
	}
	if len(fi.dropped) > 0 {
		slog.Debug("pmc: figures dropped by image checks", "pmcid", a.PMCID, "figures", fi.dropped)
		for i := range out {
			out[i].Meta["dropped_figures"] = strings.Join(fi.dropped, "; ")
		}
	}
	if len(out) == 0 && len(fi.errs) > 0 {
		return nil, fmt.Errorf("%s: no samples: %w", a.PMCID, errors.Join(fi.errs...))
	}
	return out, nil
}

// caseOffset maps a BodyText offset into CaseText (spans joined by a blank
// line).
func caseOffset(spans []jats.Span, off int) (int, bool) {
	base := 0
	for i, sp := range spans {
		if i > 0 {
			base += 2
		}
		if off >= sp.Start && off < sp.End {
			return base + off - sp.Start, true
		}
		base += sp.End - sp.Start
	}
	return 0, false
}

// articleMeta is the provenance every sample of the article carries.
func articleMeta(a *jats.Article, row OARow) map[string]string {
	m := map[string]string{"pmcid": a.PMCID, "title": a.Title, "article_type": a.ArticleType}
	set := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set("pmid", a.PMID)
	if a.PMID == "" {
		set("pmid", row.PMID)
	}
	set("doi", a.DOI)
	set("journal", a.Journal)
	if a.Year > 0 {
		m["year"] = strconv.Itoa(a.Year)
	}
	set("license_url", a.LicenseURL)
	cit := row.Citation
	if cit == "" {
		cit = citation(a)
	}
	set("citation", cit)
	set("package", row.File)
	return m
}

// citation builds "Title. Journal. Year. doi:…" when the OA list gives none.
func citation(a *jats.Article) string {
	var parts []string
	for _, p := range []string{a.Title, a.Journal} {
		if p != "" {
			parts = append(parts, strings.TrimRight(p, "."))
		}
	}
	if a.Year > 0 {
		parts = append(parts, strconv.Itoa(a.Year))
	}
	if a.DOI != "" {
		parts = append(parts, "doi:"+a.DOI)
	}
	if a.PMCID != "" {
		parts = append(parts, a.PMCID)
	}
	return strings.Join(parts, ". ")
}
