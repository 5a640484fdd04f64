// Package radfilter holds the RadMD filter rules: which samples of MedMD are
// radiology, which texts are good enough, which images are duplicates of
// one already kept, and which samples would leak a RadBench test item.
//
// Every rule is pure (no I/O) and transparent: a drop carries a stable
// reason code and the cue or value that caused it, so a curator can audit
// the exclusion report line by line. The driver that reads and writes
// corpora lives in ingest/radmd.
package radfilter

import (
	"regexp"
	"strings"
)

// Caption categories a Verdict can carry. CategoryRadiology is the only one
// that is kept.
const (
	CategoryRadiology  = "radiology"
	CategoryPathology  = "pathology"  // histology, cytology, stained sections, gross specimens
	CategoryMicroscopy = "microscopy" // light/electron/fluorescence microscopy
	CategoryEndoscopy  = "endoscopy"  // endoscopy, laparoscopy, bronchoscopy…
	CategoryPhoto      = "photograph" // clinical or intra-operative photographs, fundus, dermoscopy
	CategoryChart      = "chart"      // plots, curves, statistics
	CategoryDiagram    = "diagram"    // schematics, illustrations, maps, chemical structures
	CategoryLab        = "lab"        // gels, blots, spectra, culture plates
	CategoryNoCue      = "no-cue"     // nothing radiological was found
)

// cue is one named pattern. Modality is a DICOM code for radiology cues.
type cue struct {
	name     string
	category string
	modality string
	re       *regexp.Regexp
}

// c compiles a cue. Patterns are written in lower case and matched against
// the lower-cased caption: Go's (?i) makes every literal a character class
// and costs several times more.
func c(name, category, modality, pattern string) cue {
	return cue{name, category, modality, regexp.MustCompile(pattern)}
}

// modalityCues name an imaging modality; any of them makes a caption a
// radiology candidate. Order matters only for which modality is reported
// when several fire: the first match in the text wins.
var modalityCues = []cue{
	c("ct", CategoryRadiology, "CT", `\b(ct|cta|ctpa|hrct|mdct|cbct|nect|cect)\b|computed tomogra|\bcat scan|hounsfield`),
	c("mr", CategoryRadiology, "MR", `\b(mri|mr|mra|mrcp|fmri|dwi|flair|swi|stir)\b|magnetic resonance|\bt[12][- ]?weighted|proton[- ]density|\bt[12]w\b|diffusion[- ]weighted|\badc map|gadolinium`),
	c("mammography", CategoryRadiology, "MG", `mammogra|tomosynthesis|\bbi-?rads\b`),
	c("xray", CategoryRadiology, "DX", `radiograph|x-?ray|\bcxr\b|\bkub\b|roentgenogra|(chest|plain|abdominal) film|\b(pa|ap) (chest )?(view|projection)`),
	c("ultrasound", CategoryRadiology, "US", `ultraso|sonogra|echocardiogra|\bdoppler|\b(tte|tee)\b|transvaginal scan|\bechogenic|\b(hypo|hyper|an)echoic`),
	c("pet", CategoryRadiology, "PT", `\bpet\b|positron emission|\b18?f?-?fdg\b|\bsuv ?(max)?\b`),
	c("nuclear", CategoryRadiology, "NM", `\bspect\b|scintigra|bone scan|nuclear medicine|\b99m ?tc|technetium|\bmibg\b|\bgallium scan`),
	c("fluoroscopy", CategoryRadiology, "RF", `fluoroscop|barium (swallow|enema|meal)|hysterosalpingogra|cystourethrogra|\besophagogra|contrast (swallow|study)`),
	c("angiography", CategoryRadiology, "XA", `angiogra|arteriogra|venogra|\bdsa\b|digital subtraction|emboli[sz]ation`),
}

// findingCues are radiology-specific image descriptions. They keep a
// caption that names no modality ("Axial image shows a hypodense lesion")
// when no non-radiology cue fires, and they keep a modality caption that
// also trips a chart/diagram cue (an image, not a plot of CT values).
var findingCues = []cue{
	c("density", CategoryRadiology, "", `\b(hypo|hyper|iso)-?(dense|density|attenuat\w*|intens\w*)`),
	c("enhancement", CategoryRadiology, "", `\b(contrast[- ]enhanc\w*|(rim|ring|peripheral|heterogeneous|homogeneous)(ly)?[- ]enhanc\w*|enhancing (mass|lesion|nodule|tumou?r))`),
	c("plane", CategoryRadiology, "", `\b(axial|coronal|sagittal)\b (\w+ )?(image|view|slice|section|scan|reformat\w*|reconstruction|t[12])`),
	c("scan", CategoryRadiology, "", `\b(scan|scout|topogram)\b`),
	c("signal", CategoryRadiology, "", `signal (void|intensity|abnormalit)|restricted diffusion|diffusion restriction|ground[- ]glass|air[- ]fluid level|opacit(y|ies)|consolidation|pneumothorax|pleural effusion`),
}

// excludeCues fire on figure types RadMD drops.
var excludeCues = []cue{
	c("histology", CategoryPathology, "", `histolog|histopatholog|h ?& ?e\b|hematoxylin|haematoxylin|eosin|immunohisto|immunostain|\bihc\b|cytolog|\bsmear\b|gross (specimen|appearance|pathology)|resected specimen|(stained|staining)\b|original magnification|magnification ?[x×]|(^|[\s(,])[x×] ?\d{2,4}\b|biopsy specimen|\bslide\b`),
	c("microscopy", CategoryMicroscopy, "", `microscop|micrograph|confocal|scale bars?\b|\d ?(µm|μm|um|nm)\b|fluorescen|\b(sem|tem)\b images?`),
	c("endoscopy", CategoryEndoscopy, "", `endoscop|colonoscop|gastroscop|bronchoscop|laparoscop|arthroscop|cystoscop|hysteroscop|duodenoscop|\bercp\b view`),
	c("photo", CategoryPhoto, "", `photograph|\bphoto\b|clinical (picture|appearance)|intra-?operative (view|finding|image|photo)|fundus|dermoscop|skin lesion|\bpicture of\b|\bgross view`),
	c("chart", CategoryChart, "", `bar (graph|chart)|box ?plot|histogram|error bars|kaplan|survival curve|scatter ?plot|forest plot|odds ratio|confidence interval|\bp ?[<=] ?0?\.\d|\broc\b|frequency distribution|regression|\bcurves?\b|plotted|\bgraph\b|\bmean (±|\+/-)|\bs\.?[de]\.?m?\b|standard deviation|\bplot\b|bland-altman|\bdistribution of\b|\bnumber of\b.*\bper\b|electrocardiogra|\becg\b`),
	c("diagram", CategoryDiagram, "", `schemati|diagram|illustration|cartoon|\bmodel of\b|chemical structure|work ?flow|pipeline|\bmap of\b|drawing|overview of the|conceptual|study design|flow of (participants|patients)|flow ?chart|pedigree|screenshot`),
	c("lab", CategoryLab, "", `sds-page|western blot|\bblot\b|\bgel\b|electrophores|\bpcr\b|mass spectr|spectr(a|um)\b|mrna|transcript|culture|\bplates?\b|\bassay\b|\bprotein\b|\bgene\b`),
}

// Verdict is the classifier's decision on one caption.
type Verdict struct {
	Radiology bool
	// Category is CategoryRadiology for kept captions, else the category of
	// the cue that excluded it (CategoryNoCue when nothing fired).
	Category string
	// Modality is the DICOM code of the first modality cue, "" if none.
	Modality string
	// Cue names the deciding rule and the text it matched, e.g.
	// `mr:"T2-weighted"`; Also lists the other cues that fired.
	Cue  string
	Also []string
}

type hit struct {
	cue  *cue
	pos  int
	text string
}

func (h hit) String() string { return h.cue.name + ":" + `"` + h.text + `"` }

// firstHit runs cues over lower (the lower-cased text) and reports the
// matched span from orig when lower-casing kept byte offsets (it does for
// all but a few non-ASCII letters).
func firstHit(orig, lower string, cues []cue) []hit {
	src := orig
	if len(orig) != len(lower) {
		src = lower
	}
	var hs []hit
	for i := range cues {
		if loc := cues[i].re.FindStringIndex(lower); loc != nil {
			hs = append(hs, hit{&cues[i], loc[0], src[loc[0]:loc[1]]})
		}
	}
	// Earliest in the text first; ties keep table order.
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && hs[j].pos < hs[j-1].pos; j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
	return hs
}

// ClassifyCaption decides whether a figure caption (with its title and
// label, joined by the caller) describes a radiology image. The rule, in
// order:
//
//  1. a modality cue fires and no exclusion cue does ⇒ radiology;
//  2. a modality cue and an exclusion cue fire ⇒ radiology only if a
//     finding cue also fires (an image is described), else excluded by
//     the exclusion cue (a chart of CT volumes, a histology slide of an
//     MRI-detected lesion);
//  3. no modality cue: a finding cue with no exclusion cue ⇒ radiology
//     (modality unknown); otherwise excluded by the first exclusion cue,
//     or CategoryNoCue.
func ClassifyCaption(text string) Verdict {
	text = strings.Join(strings.Fields(text), " ")
	lower := strings.ToLower(text)
	mods := firstHit(text, lower, modalityCues)
	finds := firstHit(text, lower, findingCues)
	excl := firstHit(text, lower, excludeCues)
	var also []string
	for _, group := range [][]hit{mods, finds, excl} {
		for _, h := range group {
			also = append(also, h.String())
		}
	}
	v := Verdict{Also: also}
	switch {
	case len(mods) > 0 && (len(excl) == 0 || len(finds) > 0):
		v.Radiology, v.Category, v.Modality, v.Cue = true, CategoryRadiology, mods[0].cue.modality, mods[0].String()
	case len(mods) == 0 && len(finds) > 0 && len(excl) == 0:
		v.Radiology, v.Category, v.Cue = true, CategoryRadiology, finds[0].String()
	case len(excl) > 0:
		v.Category, v.Cue = excl[0].cue.category, excl[0].String()
		if len(mods) > 0 {
			v.Modality = mods[0].cue.modality
		}
	default:
		v.Category, v.Cue = CategoryNoCue, "no radiology cue"
	}
	return v
}
