package radfilter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Drop reason codes written to the exclusion report. They are stable: a
// curator's queries and the summary table key on them.
const (
	ReasonNotRadiology  = "not-radiology"
	ReasonShortResponse = "short-response"
	ReasonNotEnglish    = "not-english"
	ReasonBoilerplate   = "boilerplate"
	ReasonDuplicate     = "duplicate"
	ReasonNearDuplicate = "near-duplicate"
	ReasonLeakGroup     = "leak-group"
	ReasonLeakImage     = "leak-image"
	ReasonLeakNearImage = "leak-near-image"
)

// Rules is the parsed rules file (radmd-rules.yaml at the repository root
// is the default). Every section can be switched off with enabled: false.
type Rules struct {
	Radiology RadiologyRules `yaml:"radiology"`
	Text      TextRules      `yaml:"text"`
	Dedup     DedupRules     `yaml:"dedup"`
	Leakage   LeakageRules   `yaml:"leakage"`
}

// RadiologyRules keep radiology only.
type RadiologyRules struct {
	Enabled bool `yaml:"enabled"`
	// KeepModalities are the DICOM modality codes kept for sources whose
	// images carry a modality (DICOM, NIfTI sidecars, labelled datasets).
	KeepModalities []string `yaml:"keep_modalities"`
	// CaptionSources are sources whose images carry no trustworthy
	// modality (PMC figures): their caption is classified instead.
	CaptionSources []string `yaml:"caption_sources"`
	// UnknownModality says what to do with an image of a non-caption
	// source whose modality is "": "keep" or "drop".
	UnknownModality string `yaml:"unknown_modality"`
}

// TextRules are the text-quality rules.
type TextRules struct {
	Enabled bool `yaml:"enabled"`
	// MinResponseWords applies to samples whose task is in
	// MinResponseTasks (short answers are right for VQA and labels).
	MinResponseWords int      `yaml:"min_response_words"`
	MinResponseTasks []string `yaml:"min_response_tasks"`
	// English heuristic (EnglishCheck): among letters at least
	// EnglishMinLatin must be Latin script, and a text of at least
	// EnglishMinWords words must not have more foreign than English
	// function words. 0 disables each test.
	EnglishMinLatin float64 `yaml:"english_min_latin"`
	EnglishMinWords int     `yaml:"english_min_words"`
	// Boilerplate are case-insensitive regular expressions; a response of a
	// task in BoilerplateTasks that matches one entirely (after trimming) is
	// dropped. ("None" is a fine VQA answer but no figure caption.)
	Boilerplate      []string `yaml:"boilerplate"`
	BoilerplateTasks []string `yaml:"boilerplate_tasks"`
}

// DedupRules drop exact and near-duplicate images.
type DedupRules struct {
	Enabled bool `yaml:"enabled"`
	// Near enables the perceptual-hash comparison; HammingThreshold is the
	// largest dHash distance (of 256 bits) still called a near duplicate.
	Near             bool `yaml:"near"`
	HammingThreshold int  `yaml:"hamming_threshold"`
	// TextKeyedTasks are tasks where one image legitimately carries many
	// samples (several questions about one image in VQA; the open and the
	// yes/no questions the dataset adapters ask per label or modality of
	// one image in diagnosis and modality): there the normalised
	// instruction is part of the duplicate key.
	TextKeyedTasks []string `yaml:"text_keyed_tasks"`
}

// LeakageRules drop samples that share a group, an image or a near-
// duplicate image with a RadBench test manifest.
type LeakageRules struct {
	Enabled bool `yaml:"enabled"`
	// TestManifests are read by the driver (paths relative to the rules
	// file); the pure filter gets the resulting LeakIndex.
	TestManifests    []string `yaml:"test_manifests"`
	HammingThreshold int      `yaml:"hamming_threshold"`
}

// DefaultRules returns the rules used when no file is given; they equal the
// shipped radmd-rules.yaml (a test checks it).
func DefaultRules() Rules {
	return Rules{
		Radiology: RadiologyRules{
			Enabled:         true,
			KeepModalities:  []string{"CT", "MR", "CR", "DX", "MG", "US", "PT", "NM", "XA", "RF"},
			CaptionSources:  []string{"pmc-oa", "pmc-inline", "pmc-casereport"},
			UnknownModality: "keep",
		},
		Text: TextRules{
			Enabled:          true,
			MinResponseWords: 3,
			MinResponseTasks: []string{"caption", "inline", "report", "rationale"},
			EnglishMinLatin:  0.9,
			EnglishMinWords:  6,
			Boilerplate: []string{
				`(figure|fig\.?)\s*\d+[a-z]?\.?`,
				`(image|picture|photo)(\s+\d+)?\.?`,
				`(see|refer to)\s+(the\s+)?(text|main text|legend|figure).*`,
				`(supplementary|additional|supporting)\s+(file|figure|material|information|data)\b.*`,
				`(click|tap)\s+here.*`,
				`(graphical|visual)\s+abstract\.?`,
				`(n/?a|not applicable|none|untitled|no caption)\.?`,
			},
			BoilerplateTasks: []string{"caption", "inline"},
		},
		Dedup: DedupRules{
			Enabled:          true,
			Near:             true,
			HammingThreshold: 10,
			TextKeyedTasks:   []string{"vqa", "diagnosis", "modality"},
		},
		Leakage: LeakageRules{Enabled: true, TestManifests: []string{}, HammingThreshold: 10},
	}
}

// ParseRules reads a rules file. Fields it does not set keep their
// DefaultRules values; unknown fields are errors naming the line, so a typo
// ("treshold") is not silently ignored. name is used in messages only.
func ParseRules(name string, data []byte) (Rules, error) {
	r := DefaultRules()
	// A list given in the file replaces the default list, not appends to it.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return Rules{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// Validate checks values that YAML types cannot.
func (r *Rules) Validate() error {
	switch r.Radiology.UnknownModality {
	case "keep", "drop":
	default:
		return fmt.Errorf("radiology.unknown_modality: %q is neither keep nor drop", r.Radiology.UnknownModality)
	}
	for i, p := range r.Text.Boilerplate {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("text.boilerplate[%d]: %w", i, err)
		}
	}
	for _, t := range []struct {
		name string
		v    int
	}{{"dedup.hamming_threshold", r.Dedup.HammingThreshold}, {"leakage.hamming_threshold", r.Leakage.HammingThreshold}} {
		if t.v < 0 || t.v > 64 {
			return fmt.Errorf("%s: %d is outside 0..64", t.name, t.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"text.english_min_latin", r.Text.EnglishMinLatin}} {
		if f.v < 0 || f.v > 1 {
			return fmt.Errorf("%s: %g is outside 0..1", f.name, f.v)
		}
	}
	return nil
}
