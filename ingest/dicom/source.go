package dicom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// SourceName is the name the source registers under in pipelines.yaml.
const SourceName = "dicom"

// modalityPhrases is what a modality-task response says for each code.
var modalityPhrases = map[string]string{
	"CT": "CT", "MR": "MRI", "PT": "PET", "NM": "nuclear medicine", "US": "ultrasound",
	"CR": "X-ray", "DX": "X-ray", "MG": "mammography", "XA": "angiography", "RF": "fluoroscopy", "OT": "other",
}

// Spec is the "dicom" source's parameter spec.
var Spec = ingest.Spec{
	Name:    SourceName,
	Summary: "DICOM folders, zip or tar archives: images grouped into series by dcm2niix's rules, one sample per volume (HU for CT), canonical RAS",
	Fields: []ingest.Field{
		{Name: "paths", Type: ingest.TypeStrings, Required: true,
			Description: "files, folders (searched recursively), .zip or .tar(.gz) archives, relative to the pipelines file's folder; or object-store roots (s3://bucket/prefix, file:///abs/path, …) listed recursively, headers read by ranged GETs",
			Example:     "[testdata/dicom]"},
		{Name: "include_localizers", Type: ingest.TypeBool, Default: false,
			Description: "keep localizer/scout images as their own series",
			Example:     "true"},
		{Name: "include_derived", Type: ingest.TypeBool, Default: false,
			Description: "keep derived secondary captures (SC SOP class, ImageType DERIVED\\SECONDARY)",
			Example:     "true"},
		{Name: "canonical", Type: ingest.TypeBool, Default: true,
			Description: "reorient every volume to closest-canonical RAS (nibabel's as_closest_canonical)",
			Example:     "false"},
		{Name: "max_voxels", Type: ingest.TypeInt, Default: DefaultMaxVoxels,
			Description: "reject a series with more voxels (all volumes and channels) before allocating",
			Example:     "268435456"},
		{Name: "max_inflated_bytes", Type: ingest.TypeInt, Default: DefaultMaxInflatedBytes,
			Description: "reject a deflated file (transfer syntax 1.2.840.10008.1.2.1.99) that inflates to more bytes; headers are inflated first, so excluded files never inflate their pixels",
			Example:     "268435456"},
		{Name: "dates", Type: ingest.TypeString, Default: DatesShift, Enum: []string{DatesRemove, DatesShift, DatesKeep},
			Description: "study/series/acquisition dates in sample metadata: removed, shifted back by a per-patient keyed number of days (MEDMD_PSEUDONYM_KEY; intervals survive, times of day kept), or kept as in the files",
			Example:     "remove"},
		{Name: "keep_descriptions", Type: ingest.TypeBool, Default: false,
			Description: "keep SeriesDescription, ProtocolName and StudyDescription with every identifying value of the same header cut out (PS3.15 Clean Descriptors Option); by default they are removed",
			Example:     "true"},
		{Name: "keep_age_sex", Type: ingest.TypeBool, Default: true,
			Description: "keep PatientAge and PatientSex in sample metadata",
			Example:     "false"},
		{Name: "task", Type: ingest.TypeString, Default: shards.TaskModality,
			Description: "the task of the samples", Example: "modality"},
		{Name: "instruction", Type: ingest.TypeString, Default: "What imaging modality is shown in this image?",
			Description: "the instruction text; the image is placed at its start",
			Example:     "Which modality is this?"},
		{Name: "license", Type: ingest.TypeString, Default: "",
			Description: "licence of the input data, copied to every sample", Example: "CC-BY-4.0"},
	},

	// Groups and metadata carry the PatientID's keyed pseudonym.
	PatientIDs: true,
}

func init() {
	ingest.RegisterSource(Spec, newSource)
}

// Source plans DICOM series and reads them into samples.
type Source struct {
	base        string
	paths       []string
	scan        ScanOptions
	read        ReadOptions
	task        string
	instruction string
	license     string
	excluded    map[string]int
	mask        *pathMasker // set by Plan
	deid        DeidOptions
	report      *DeidReport    // set by Plan
	remote      []remoteRoot   // object-store roots among paths, set by Plan
	tars        tarCache       // gzipped tars read by several series, inflated
	seriesIn    map[string]int // archive → how many planned series read it
}

// Close removes the local copies reading made of gzipped tar objects.
func (s *Source) Close() error { return s.tars.Close() }

// maskOrRel names a file for a sample: relative to the pipelines file,
// patient segments masked.
func (s *Source) maskOrRel(r Ref) string {
	if s.mask == nil {
		s.mask = newPathMasker(s.base, nil)
	}
	return s.mask.ref(r)
}

func newSource(p ingest.Params, baseDir string) (ingest.Source, error) {
	s := &Source{
		base:        baseDir,
		paths:       p.Strings("paths"),
		scan:        ScanOptions{IncludeLocalizers: p.Bool("include_localizers"), IncludeDerived: p.Bool("include_derived"), MaxVoxels: int64(p.Int("max_voxels"))},
		read:        ReadOptions{Canonical: p.Bool("canonical"), MaxVoxels: int64(p.Int("max_voxels")), MaxInflatedBytes: int64(p.Int("max_inflated_bytes")), Hash: true},
		task:        p.String("task"),
		instruction: p.String("instruction"),
		license:     shards.SPDXLicense(p.String("license")),
		deid:        DeidOptions{Dates: p.String("dates"), KeepDescriptions: p.Bool("keep_descriptions"), DropAgeSex: !p.Bool("keep_age_sex")},
	}
	if _, ok := p["keep_age_sex"]; !ok {
		s.deid.DropAgeSex = false
	}
	switch s.deid.Dates {
	case "", DatesRemove, DatesShift, DatesKeep:
	default:
		return nil, fmt.Errorf("dicom: dates: %q is not remove, shift or keep", s.deid.Dates)
	}
	if _, ok := p["canonical"]; !ok {
		s.read.Canonical = true
	}
	if len(s.paths) == 0 {
		return nil, errors.New("dicom: paths is empty")
	}
	if s.task == "" {
		s.task = shards.TaskModality
	}
	return s, nil
}

// Plan scans every header (no pixel data) and returns one unit per
// assembled series, ordered by series ID (the SeriesInstanceUID, with a
// suffix where dcm2niix's rules split it). Files that cannot be decoded
// (unsupported transfer syntax, broken) become units of their own that
// fail in Read, so the runner quarantines them by name; files that are not
// DICOM, carry no pixels or are excluded (localizers) are only logged.
func (s *Source) Plan(ctx context.Context) ([]ingest.Unit, error) {
	roots := make([]string, len(s.paths))
	for i, p := range s.paths {
		if !filepath.IsAbs(p) && !storage.IsURL(p) {
			p = filepath.Join(s.base, p)
		}
		roots[i] = p
	}
	pr, err := readRemote(ctx, roots)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	s.remote = pr.remote
	s.seriesIn = map[string]int{}
	res, err := scan(ctx, pr.local, pr.headers, s.scan)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	s.excluded = map[string]int{}
	var hdrs []*Header
	for _, se := range res.Series {
		for _, sl := range se.Slices {
			hdrs = append(hdrs, sl.Hdr)
		}
	}
	s.mask = newPathMasker(s.base, hdrs)
	s.report = newDeidReport(s.deid)
	var units []ingest.Unit
	for _, se := range res.Series {
		if burnedIn(se) {
			// Text in the pixels cannot be removed by header rules.
			n := len(se.Refs())
			s.excluded[burnedInReason] += n
			if s.report.Excluded == nil {
				s.report.Excluded = map[string]int{}
			}
			s.report.Excluded[burnedInReason] += n
			continue
		}
		for _, sl := range se.Slices {
			s.report.add(s.deid, sl.Hdr)
		}
		var paths []string
		for _, r := range se.Refs() {
			paths = append(paths, s.mask.ref(r))
		}
		s.countArchives(se)
		units = append(units, ingest.Unit{ID: pseudoSeriesID(se), Paths: paths, Bytes: se.Bytes(), Data: se})
	}
	for _, sk := range res.Skipped {
		switch sk.Kind {
		case "unsupported", "error":
			name := s.mask.text(s.mask.rel(sk.Ref))
			sk.Reason = s.mask.text(sk.Reason)
			units = append(units, ingest.Unit{ID: "file:" + name, Paths: []string{name}, Data: sk})
		default:
			s.excluded[skipReason(sk)]++
			slog.Debug("dicom: skipped", "file", s.mask.rel(sk.Ref), "reason", s.mask.text(sk.Reason))
		}
	}
	return units, nil
}

// SideReports is the de-identification report of the last Plan, as
// deid.json beside the manifest (ingest.SideReporter), and its summary
// line.
func (s *Source) SideReports() (map[string][]byte, string) {
	if s.report == nil {
		return nil, ""
	}
	b, err := json.MarshalIndent(s.report, "", "  ")
	if err != nil {
		return nil, ""
	}
	return map[string][]byte{"deid.json": append(b, '\n')}, s.report.Summary()
}

// PlanExcluded counts the files the last Plan left out without a unit, by
// kind of reason ("not DICOM", "no pixel data", "localizer", …), for the
// run summary (ingest.PlanExcluder).
func (s *Source) PlanExcluded() map[string]int { return s.excluded }

// skipReason is the summary key of a skipped file: its kind, plus the
// reason's first words for exclusions (which name the rule).
func skipReason(sk Skipped) string {
	switch sk.Kind {
	case "not-dicom":
		return "not DICOM"
	case "no-pixels":
		return "no pixel data"
	}
	r := sk.Reason
	if i := strings.IndexAny(r, "("); i > 0 {
		r = strings.TrimSpace(r[:i])
	}
	return r
}

// pseudoSeriesID is a series' unit ID as written to plans, quarantine
// records and sample metadata: its SeriesInstanceUID as a keyed 2.25 UID
// (PseudoUID), with the suffix dcm2niix's split rules added.
func pseudoSeriesID(se *Series) string {
	id := PseudoUID(se.UID)
	if id == "" {
		id = "nouid"
	}
	if i := strings.LastIndexByte(se.ID, '_'); i >= 0 && se.ID != se.UID {
		id += se.ID[i:]
	}
	return id
}

// Read assembles one series into samples, one per volume; a skipped-file
// unit returns its reason as the error.
func (s *Source) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	switch d := u.Data.(type) {
	case Skipped:
		return nil, errors.New(d.Reason)
	case *Series:
		smps, err := s.readSeries(ctx, u, d)
		var part *ingest.Partial
		if errors.As(err, &part) {
			return smps, err // parts are masked already; the samples stay
		}
		if err != nil && s.mask != nil {
			// Errors name files by their full path: the quarantine record
			// gets them relative and masked.
			return nil, shards.Reworded(err, s.mask.text(err.Error()))
		}
		return smps, err
	}
	return nil, fmt.Errorf("dicom: unit %s was not planned by this source", u.ID)
}

func (s *Source) readSeries(ctx context.Context, u ingest.Unit, se *Series) ([]shards.Sample, error) {
	imgs, err := s.readSeriesFrom(ctx, se)
	if err != nil {
		return nil, err
	}
	h := se.Header()
	group := "dicom:" + groupKey2(h, se)
	out := make([]shards.Sample, 0, len(imgs))
	for v, im := range imgs {
		// Paths relative to the pipelines file keep shards identical
		// across checkouts and machines.
		im.SourcePath = s.maskOrRel(se.Slices[0].Ref)
		if im.Meta == nil {
			im.Meta = map[string]string{}
		}
		s.deid.applyMeta(im.Meta, h)
		out = append(out, shards.Sample{
			ID:          shards.MakeID(SourceName, u.ID, strconv.Itoa(v)),
			Source:      SourceName,
			Task:        s.task,
			Group:       group,
			License:     s.license,
			Instruction: s.instruction,
			Response:    modalityPhrases[h.Modality],
			Placements:  []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 0}},
			Images:      []shards.Image{*im},
			Meta:        map[string]string{"series": u.ID, "volume": strconv.Itoa(v), "volumes": strconv.Itoa(len(imgs))},
		})
	}
	if len(se.SamePosition) > 0 {
		// The volume is kept; each image left out is quarantined by name.
		s.maskOrRel(se.Slices[0].Ref) // makes s.mask
		part := &ingest.Partial{}
		for _, sk := range se.SamePosition {
			part.Parts = append(part.Parts, ingest.Part{Reason: ReasonSamePosition, Err: errors.New(s.mask.text(sk.Ref + ": " + sk.Reason))})
		}
		return out, part
	}
	return out, nil
}

// ReasonSamePosition is the summary reason of an image left out because
// another image of its series sits at the same position.
const ReasonSamePosition = "slice at a duplicate position"

// groupKey2 is the split group: the PatientID's keyed pseudonym
// (shards.Pseudonym), else the hashed study, else the series (never a raw
// identifier).
func groupKey2(h *Header, se *Series) string {
	switch {
	case h.PatientID != "":
		return shards.Pseudonym("patient", h.PatientID)
	case h.StudyInstanceUID != "":
		return shards.HashString("study:" + h.StudyInstanceUID)
	}
	return shards.HashString("series:" + se.ID)
}
