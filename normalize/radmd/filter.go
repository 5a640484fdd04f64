package radmd

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Meta keys the filter writes on samples it keeps, for auditing.
const (
	MetaCue      = "radmd.cue"      // the cue that made the sample radiology
	MetaModality = "radmd.modality" // modality from the caption classifier
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

// CaptionText is what the classifier reads for a caption-source sample:
// the figure title and caption when the PMC source recorded them in Meta
// ("figure_title", "caption"), else the response and instruction.
func CaptionText(s *shards.Sample) string {
	var parts []string
	for _, k := range []string{"figure_label", "figure_title", "caption"} {
		if v := s.Meta[k]; v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, s.Response, s.Instruction)
	}
	return strings.Join(parts, " ")
}

func (f *Filter) radiology(s *shards.Sample) *normalize.DropError {
	if f.captionSources[s.Source] {
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
