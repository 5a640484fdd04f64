package radfilter

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Meta keys the filter writes on samples it keeps, for auditing.
const (
	MetaCue      = "radmd.cue"      // the cue that made the sample radiology
	MetaModality = "radmd.modality" // modality from the caption classifier
	MetaRemoved  = "radmd.removed"  // non-radiology figures taken out of a multi-figure sample
)

// Filter applies Rules to samples one at a time, in the corpus's stable
// order: radiology, text quality, benchmark leakage, then duplicates (so a
// duplicate always points at a sample that was kept). It keeps state for
// duplicates and is not safe for concurrent use.
type Filter struct {
	rules          Rules
	keepModality   map[string]bool
	captionSources map[string]bool
	minRespTasks   map[string]bool
	boilerTasks    map[string]bool
	boilerplate    []*regexp.Regexp
	dedup          *Deduper
	leak           *LeakIndex
}

// NewFilter compiles r. leak may be nil (no test manifest given); it is
// consulted only when r.Leakage.Enabled.
func NewFilter(r Rules, leak *LeakIndex) (*Filter, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	f := &Filter{rules: r, keepModality: set(r.Radiology.KeepModalities), captionSources: set(r.Radiology.CaptionSources),
		minRespTasks: set(r.Text.MinResponseTasks), boilerTasks: set(r.Text.BoilerplateTasks),
		dedup: NewDeduper(r.Dedup), leak: leak}
	var err error
	if f.boilerplate, err = compileBoilerplate(r.Text.Boilerplate); err != nil {
		return nil, err
	}
	return f, nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Apply decides on s: nil keeps it (possibly adding MetaCue/MetaModality to
// s.Meta), a *normalize.DropError drops it with its reason.
func (f *Filter) Apply(s *shards.Sample) error {
	if f.rules.Radiology.Enabled {
		if d := f.radiology(s); d != nil {
			return d
		}
	}
	if f.rules.Text.Enabled {
		if d := f.text(s); d != nil {
			return d
		}
	}
	var fp Fingerprint
	needFP := (f.rules.Leakage.Enabled && f.leak != nil) || f.rules.Dedup.Enabled
	if needFP {
		fp = FingerprintOf(s)
	}
	if f.rules.Leakage.Enabled && f.leak != nil {
		if d := f.leak.Check(s, fp); d != nil {
			return d
		}
	}
	if f.rules.Dedup.Enabled {
		if d := f.dedup.Check(s, fp); d != nil {
			return d
		}
	}
	return nil
}

// CaptionText is what the classifier reads for a single-figure
// caption-source sample (pmc-oa): the figure label/title/caption when the
// source recorded them in Meta ("label", "figure_title", "caption"), plus
// the response (the caption itself for caption samples).
func CaptionText(s *shards.Sample) string {
	var parts []string
	for _, k := range []string{"label", "figure_label", "figure_title", "caption"} {
		if v := s.Meta[k]; v != "" {
			parts = append(parts, v)
		}
	}
	if s.Meta["caption"] == "" {
		parts = append(parts, s.Response)
	}
	return strings.Join(parts, " ")
}

// ImageCaptionText is what the classifier reads for image k of a
// multi-figure sample (pmc-inline, pmc-casereport, whose text is a whole
// article or case): the image's own caption when the source stored it in
// the image Meta ("caption"); else the sentence of the text that mentions
// the figure by its label ("Figure 2", "Fig. 2B"), the mention nearest the
// image's placement; else the sentence at the placement.
func ImageCaptionText(s *shards.Sample, k int) string {
	im := &s.Images[k]
	if c := im.Meta["caption"]; c != "" {
		return strings.TrimSpace(im.Meta["label"] + " " + c)
	}
	for _, p := range s.Placements {
		if p.Image != k {
			continue
		}
		text := s.Response
		if p.Field == shards.FieldInstruction {
			text = s.Instruction
		}
		r := []rune(text)
		if at, ok := nearestMention(r, im.Meta["label"], p.Offset); ok {
			return sentenceAt(r, at)
		}
		return sentenceAt(r, p.Offset)
	}
	return ""
}

var (
	labelNumber = regexp.MustCompile(`(\d+)\s*$`)
	mentionRe   = regexp.MustCompile(`(?i)\b(fig\.?|figs\.?|figure|figures)\s*(\d+)`)
)

// nearestMention finds, in code points, the mention of the figure whose
// label ends in a number ("Figure 2") closest to off.
func nearestMention(r []rune, label string, off int) (int, bool) {
	m := labelNumber.FindStringSubmatch(label)
	if m == nil {
		return 0, false
	}
	text := string(r)
	best, found := 0, false
	for _, loc := range mentionRe.FindAllStringSubmatchIndex(text, -1) {
		if text[loc[4]:loc[5]] != m[1] {
			continue
		}
		at := utf8.RuneCountInString(text[:loc[0]])
		if !found || abs(at-off) < abs(best-off) {
			best, found = at, true
		}
	}
	return best, found
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// sentenceAt returns the sentence holding code point off: bounded by a
// line break or by ". ", "! ", "? " followed by a capital letter (so
// "Fig. 2" does not end a sentence), at most 300 code points either way.
func sentenceAt(r []rune, off int) string {
	off = min(max(off, 0), len(r))
	isEnd := func(i int) bool {
		if i < 0 || i >= len(r) {
			return false
		}
		if r[i] == '\n' {
			return true
		}
		return (r[i] == '.' || r[i] == '!' || r[i] == '?') && i+2 < len(r) && r[i+1] == ' ' && unicode.IsUpper(r[i+2])
	}
	lo := off
	for lo > 0 && off-lo < 300 && !isEnd(lo-1) {
		lo--
	}
	hi := off
	for hi < len(r) && hi-off < 300 && !isEnd(hi) {
		hi++
	}
	if hi < len(r) {
		hi++
	}
	return strings.TrimSpace(string(r[lo:hi]))
}

func (f *Filter) radiology(s *shards.Sample) *normalize.DropError {
	if f.captionSources[s.Source] {
		// A caption sample (pmc-oa: one figure, the caption is the
		// response) is judged by its caption. Every other sample of a
		// caption source (pmc-inline, pmc-casereport) is judged figure by
		// figure, even with one figure: its response is a whole article
		// or case, and a CT mentioned anywhere in it says nothing about a
		// histology figure.
		if len(s.Images) == 0 || (len(s.Images) == 1 && s.Task == shards.TaskCaption) {
			v := ClassifyCaption(CaptionText(s))
			if !v.Radiology {
				return &normalize.DropError{Reason: ReasonNotRadiology, Detail: v.Category + ": " + v.Cue}
			}
			setMeta(s, MetaCue, v.Cue)
			if v.Modality != "" {
				setMeta(s, MetaModality, v.Modality)
			}
			return nil
		}
		return f.keepRadiologyImages(s)
	}
	for i := range s.Images {
		m := s.Images[i].Modality
		switch {
		case m == "" && f.rules.Radiology.UnknownModality == "keep":
		case m == "":
			return &normalize.DropError{Reason: ReasonNotRadiology, Detail: fmt.Sprintf("image %d has no modality", i)}
		case !f.keepModality[m]:
			return &normalize.DropError{Reason: ReasonNotRadiology, Detail: fmt.Sprintf("image %d modality %s", i, m)}
		}
	}
	if len(s.Images) > 0 {
		setMeta(s, MetaCue, "modality:"+s.Images[0].Modality)
	}
	return nil
}

// keepRadiologyImages classifies every image of a multi-figure sample and
// removes the non-radiology ones with their placements (a radiology
// article's chart or histology figure must not enter RadMD); the removed
// figures and why are listed in Meta[MetaRemoved]. With no radiology image
// left the sample is dropped.
func (f *Filter) keepRadiologyImages(s *shards.Sample) *normalize.DropError {
	keep := make([]bool, len(s.Images))
	var cues, removed []string
	for k := range s.Images {
		v := ClassifyCaption(ImageCaptionText(s, k))
		name := s.Images[k].Meta["figure_id"]
		if name == "" {
			name = fmt.Sprintf("image %d", k)
		}
		if v.Radiology {
			keep[k] = true
			cues = append(cues, name+" "+v.Cue)
		} else {
			removed = append(removed, name+" "+v.Category+": "+v.Cue)
		}
	}
	if len(cues) == 0 {
		return &normalize.DropError{Reason: ReasonNotRadiology, Detail: "no radiology figure: " + strings.Join(removed, "; ")}
	}
	if len(removed) > 0 {
		newIndex := make([]int, len(s.Images))
		var ims []shards.Image
		for k, ok := range keep {
			newIndex[k] = len(ims)
			if ok {
				ims = append(ims, s.Images[k])
			}
		}
		var pls []shards.Placement
		for _, p := range s.Placements {
			if p.Image >= 0 && p.Image < len(keep) && keep[p.Image] {
				p.Image = newIndex[p.Image]
				pls = append(pls, p)
			}
		}
		s.Images, s.Placements = ims, pls
		setMeta(s, MetaRemoved, strings.Join(removed, "; "))
	}
	setMeta(s, MetaCue, strings.Join(cues, "; "))
	return nil
}

func (f *Filter) text(s *shards.Sample) *normalize.DropError {
	t := f.rules.Text
	resp := strings.TrimSpace(s.Response)
	for _, re := range f.boilerplate {
		if f.boilerTasks[s.Task] && re.MatchString(resp) {
			return &normalize.DropError{Reason: ReasonBoilerplate, Detail: fmt.Sprintf("response %q matches %s", clip(resp, 60), re)}
		}
	}
	if f.minRespTasks[s.Task] && t.MinResponseWords > 0 {
		if n := wordCount(resp); n < t.MinResponseWords {
			return &normalize.DropError{Reason: ReasonShortResponse, Detail: fmt.Sprintf("%d words (< %d)", n, t.MinResponseWords)}
		}
	}
	if why := EnglishCheck(s.Instruction+" "+s.Response, t.EnglishMinLatin, t.EnglishMinWords); why != "" {
		return &normalize.DropError{Reason: ReasonNotEnglish, Detail: why}
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func setMeta(s *shards.Sample, k, v string) {
	if s.Meta == nil {
		s.Meta = map[string]string{}
	}
	s.Meta[k] = v
}
