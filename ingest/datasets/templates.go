package datasets

import (
	_ "embed"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/medmd/medmd/shards"
)

//go:embed templates.yaml
var defaultTemplatesYAML []byte

// Templates holds the prompt sets of templates.yaml: set name → prompts.
// A Templates is immutable after loading and safe for concurrent use.
type Templates struct {
	sets map[string][]string
}

// requiredSets lists every set the sources use, with the placeholders each
// of its prompts must contain (a yes/no prompt without its {label} would
// ask a question whose answer the sample does not know).
var requiredSets = map[string][]string{
	"modality_open":     nil,
	"modality_yesno":    {"{modality}"},
	"plane_open":        nil,
	"plane_yesno":       {"{plane}"},
	"diagnosis_open":    nil,
	"diagnosis_yesno":   {"{label}"},
	"diagnosis_case":    nil,
	"differential":      nil,
	"vqa":               {"{question}"},
	"vqa_choice":        {"{question}", "{choices}"},
	"treatment":         nil,
	"imaging_used":      nil,
	"report_full":       nil,
	"report_findings":   nil,
	"report_impression": nil,
	"exam":              nil,
	"caption":           nil,
	"rationale":         nil,
	"discussion":        nil,
}

// ParseTemplates parses and checks a templates YAML document: every set the
// sources use must be present, non-empty, and carry its placeholders.
func ParseTemplates(name string, data []byte) (*Templates, error) {
	var raw map[string][]string
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &Templates{sets: raw}
	for _, set := range slices.Sorted(maps.Keys(requiredSets)) {
		prompts, ok := raw[set]
		if !ok || len(prompts) == 0 {
			return nil, fmt.Errorf("%s: prompt set %q missing or empty", name, set)
		}
		for i, p := range prompts {
			if strings.TrimSpace(p) == "" {
				return nil, fmt.Errorf("%s: %s/%d is empty", name, set, i+1)
			}
			for _, ph := range requiredSets[set] {
				if !strings.Contains(p, ph) {
					return nil, fmt.Errorf("%s: %s/%d lacks placeholder %s", name, set, i+1, ph)
				}
			}
		}
	}
	return t, nil
}

var (
	defaultOnce sync.Once
	defaultTmpl *Templates
	defaultErr  error
)

// DefaultTemplates returns the embedded templates.yaml.
func DefaultTemplates() (*Templates, error) {
	defaultOnce.Do(func() {
		defaultTmpl, defaultErr = ParseTemplates("templates.yaml", defaultTemplatesYAML)
	})
	return defaultTmpl, defaultErr
}

// loadTemplates returns the embedded templates, or the file at path
// (relative to baseDir) when path is set.
func loadTemplates(path, baseDir string) (*Templates, error) {
	if path == "" {
		return DefaultTemplates()
	}
	if !filepath.IsAbs(path) {
		path = joinPath(baseDir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTemplates(path, data)
}

// Pick chooses a prompt of set for the sample with id sampleID: the same id
// and seed always choose the same prompt. It returns the template id
// ("set/n", n from 1) and the prompt with vars filled in.
func (t *Templates) Pick(set, sampleID, seed string, vars map[string]string) (id, text string, err error) {
	prompts := t.sets[set]
	if len(prompts) == 0 {
		return "", "", fmt.Errorf("no prompt set %q", set)
	}
	i := int(hash64(seed, "template", set, sampleID) % uint64(len(prompts)))
	return set + "/" + strconv.Itoa(i+1), fill(prompts[i], vars), nil
}

// Len returns the number of prompts of set.
func (t *Templates) Len(set string) int { return len(t.sets[set]) }

// fill replaces {name} placeholders by vars[name]. Unknown placeholders are
// left as they are; values are inserted verbatim (never re-expanded).
func fill(s string, vars map[string]string) string {
	if len(vars) == 0 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		name := s[i+1 : i+j]
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// builder assembles the samples of one source: ids, template choice,
// image placement and the provenance every sample carries.
type builder struct {
	source string
	opts   options
	tmpl   *Templates
	fs     *tree // reads the files under opts.Root
}

// draft is what a source knows about one sample before templating.
type draft struct {
	Task string
	Set  string            // prompt set
	Vars map[string]string // placeholder values
	// Context is text put before the prompt (patient history, presentation).
	Context  string
	Response string
	Images   []shards.Image
	Group    string
	Split    string
	// Key identifies the sample within the source (row key + question kind);
	// the id is MakeID(source, Key...).
	Key  []string
	Meta map[string]string
}

// reportSet returns the prompt set and response of a report sample: both
// sections when the report has both, else the one it has (the impression
// when findings are empty).
func reportSet(findings, impression string) (set, response string) {
	switch {
	case findings != "" && impression != "":
		return "report_full", "Findings: " + findings + "\nImpression: " + impression
	case findings != "":
		return "report_findings", findings
	}
	return "report_impression", impression
}

// build templates a draft into a sample. Each sample gets its own copy of
// the images' voxels and metadata: stages may rewrite a sample in place and
// must not see the change in a sibling sample of the same row.
func (b *builder) build(d draft) (shards.Sample, error) {
	id := shards.MakeID(b.source, d.Key...)
	tid, prompt, err := b.tmpl.Pick(d.Set, id, b.opts.Seed, d.Vars)
	if err != nil {
		return shards.Sample{}, err
	}
	instr := prompt
	if c := strings.TrimSpace(d.Context); c != "" {
		instr = c + "\n" + prompt
	}
	s := shards.Sample{
		ID:          id,
		Source:      b.source,
		Task:        d.Task,
		Group:       d.Group,
		Split:       d.Split,
		License:     b.opts.License,
		Instruction: instr,
		Response:    d.Response,
		Meta:        map[string]string{"template": tid},
	}
	for k, v := range d.Meta {
		s.Meta[k] = v
	}
	atEnd := false
	switch b.opts.Position {
	case "end":
		atEnd = true
	case "mixed":
		atEnd = hash64(b.opts.Seed, "position", id)&1 == 1
	}
	off := 0
	if atEnd {
		off = len([]rune(instr))
	}
	for i, im := range d.Images {
		s.Images = append(s.Images, cloneImage(im))
		s.Placements = append(s.Placements, shards.Placement{Image: i, Field: shards.FieldInstruction, Offset: off})
	}
	return s, nil
}

// cloneImage deep-copies the parts of an image a stage may mutate.
func cloneImage(im shards.Image) shards.Image {
	im.Voxels = append([]byte(nil), im.Voxels...)
	im.Transforms = append([]shards.Transform(nil), im.Transforms...)
	if im.Meta != nil {
		m := make(map[string]string, len(im.Meta))
		for k, v := range im.Meta {
			m[k] = v
		}
		im.Meta = m
	}
	return im
}

// buildAll templates drafts in order, stopping at the first error.
func (b *builder) buildAll(ds []draft) ([]shards.Sample, error) {
	out := make([]shards.Sample, 0, len(ds))
	for _, d := range ds {
		s, err := b.build(d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// yesNo returns the answer text for a yes/no question.
func yesNo(b bool) string {
	if b {
		return "Yes."
	}
	return "No."
}
