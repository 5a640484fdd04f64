package dicom

import (
	"context"
	"fmt"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

func init() {
	ingest.RegisterInspector(ingest.Inspector{Name: "dicom", Sniff: Sniff, Inspect: inspect})
}

// Sniff reports whether a file is DICOM: "DICM" at offset 128, or a .dcm
// name (files without the preamble are common in old archives).
func Sniff(path string, head []byte) bool {
	if strings.HasSuffix(strings.ToLower(path), ".dcm") {
		return true
	}
	return sniffBytes(path, head)
}

// Summary is what `medmd inspect --json` prints for a DICOM file.
type Summary struct {
	File           string `json:"file"`
	TransferSyntax string `json:"transfer_syntax"`
	TransferName   string `json:"transfer_syntax_name"`
	SyntaxGuessed  bool   `json:"transfer_syntax_guessed,omitempty"`
	Decodable      bool   `json:"decodable"`
	DecodeError    string `json:"decode_error,omitempty"`
	SOPClassUID    string `json:"sop_class_uid"`
	Modality       string `json:"modality"`
	// Identifiers says how the UIDs are shown: "pseudonymised" (the
	// pipeline's keyed UIDs) or "original" (InspectOptions.ShowIdentifiers).
	// The description is cleaned and patient path segments masked either
	// way.
	Identifiers         string `json:"identifiers"`
	StudyInstanceUID    string `json:"study_instance_uid"`
	SeriesInstanceUID   string `json:"series_instance_uid"`
	SOPInstanceUID      string `json:"sop_instance_uid"`
	FrameOfReferenceUID string `json:"frame_of_reference_uid,omitempty"`
	// Patient is the patient's keyed pseudonym, the group key samples
	// carry; the name and ID are never shown.
	Patient           string      `json:"patient_pseudonym,omitempty"`
	SeriesDescription string      `json:"series_description"`
	Manufacturer      string      `json:"manufacturer"`
	BodyPart          string      `json:"body_part"`
	ImageType         []string    `json:"image_type"`
	Rows              int         `json:"rows"`
	Columns           int         `json:"columns"`
	Frames            int         `json:"frames"`
	SamplesPerPixel   int         `json:"samples_per_pixel"`
	BitsAllocated     int         `json:"bits_allocated"`
	BitsStored        int         `json:"bits_stored"`
	PixelRep          int         `json:"pixel_representation"`
	Photometric       string      `json:"photometric"`
	RescaleSlope      float64     `json:"rescale_slope"`
	RescaleIntercept  float64     `json:"rescale_intercept"`
	PixelSpacing      [2]float64  `json:"pixel_spacing"`
	SliceThickness    float64     `json:"slice_thickness"`
	Position          *[3]float64 `json:"image_position_patient,omitempty"`
	Orientation       *[6]float64 `json:"image_orientation_patient,omitempty"`
	EnhancedFrames    int         `json:"enhanced_frames,omitempty"`
	PixelDType        string      `json:"pixel_dtype,omitempty"`
}

// Identifier display of Summary.Identifiers.
const (
	IdentifiersPseudonymised = "pseudonymised"
	IdentifiersOriginal      = "original"
)

// Inspect parses path and, when the syntax is supported, decodes its
// pixels to prove it. UIDs are shown as o says; the description, path
// and decode error never carry the patient's name or IDs (Shown).
func Inspect(ctx context.Context, path string, o ingest.InspectOptions) (*Summary, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	h := &f.Header
	show := newShown([]*Header{h}, o)
	s := &Summary{
		File: show.Text(path), TransferSyntax: h.TransferSyntax, TransferName: SyntaxName(h.TransferSyntax),
		SyntaxGuessed: h.SyntaxGuessed, SOPClassUID: h.SOPClassUID, Modality: h.Modality,
		Identifiers: show.Mode(), StudyInstanceUID: show.UID(h.StudyInstanceUID), SeriesInstanceUID: show.UID(h.SeriesInstanceUID),
		SOPInstanceUID: show.UID(h.SOPInstanceUID), FrameOfReferenceUID: show.UID(h.FrameOfReferenceUID),
		SeriesDescription: show.Description(h),
		Manufacturer:      h.Manufacturer, BodyPart: h.BodyPart, ImageType: h.ImageType,
		Rows: h.Rows, Columns: h.Columns, Frames: h.FrameCount(), SamplesPerPixel: h.SamplesPerPixel,
		BitsAllocated: h.BitsAllocated, BitsStored: h.BitsStored, PixelRep: h.PixelRep,
		Photometric: h.Photometric, RescaleSlope: h.RescaleSlope, RescaleIntercept: h.RescaleIntercept,
		PixelSpacing: h.Frame.PixelSpacing, SliceThickness: h.SliceThickness, EnhancedFrames: len(h.Frames),
	}
	if h.PatientID != "" {
		s.Patient = shards.Pseudonym("patient", h.PatientID)
	}
	if h.Frame.HasPosition {
		p := h.Frame.Position
		s.Position = &p
	}
	if h.Frame.HasOrientation {
		o := h.Frame.Orientation
		s.Orientation = &o
	}
	if p, err := f.Pixels(); err != nil {
		s.DecodeError = show.Text(err.Error())
	} else {
		s.Decodable = true
		s.PixelDType = string(p.DType)
	}
	return s, nil
}

func inspect(ctx context.Context, path string, o ingest.InspectOptions, w ingest.Writer) error {
	s, err := Inspect(ctx, path, o)
	if err != nil {
		return err
	}
	if o.JSON {
		return ingest.WriteJSONLine(w, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: DICOM %s\n", s.File, s.Modality)
	guess := ""
	if s.SyntaxGuessed {
		guess = " (no meta: inferred)"
	}
	fmt.Fprintf(&b, "  transfer syntax  %s (%s)%s\n", s.TransferSyntax, s.TransferName, guess)
	if s.Decodable {
		fmt.Fprintf(&b, "  pixels           decodable by medmd (%s)\n", s.PixelDType)
	} else {
		fmt.Fprintf(&b, "  pixels           NOT decodable: %s\n", s.DecodeError)
	}
	fmt.Fprintf(&b, "  SOP class        %s\n", s.SOPClassUID)
	fmt.Fprintf(&b, "  study            %s\n", s.StudyInstanceUID)
	fmt.Fprintf(&b, "  series           %s %q\n", s.SeriesInstanceUID, s.SeriesDescription)
	fmt.Fprintf(&b, "  instance         %s\n", s.SOPInstanceUID)
	if s.Patient != "" {
		fmt.Fprintf(&b, "  patient          %s (keyed pseudonym)\n", s.Patient)
	}
	if s.Identifiers == IdentifiersPseudonymised {
		b.WriteString("  identifiers      UIDs pseudonymised as the pipeline writes them (--show-identifiers for the originals)\n")
	}
	fmt.Fprintf(&b, "  manufacturer     %s  body part %s  image type %s\n", s.Manufacturer, s.BodyPart, strings.Join(s.ImageType, `\`))
	fmt.Fprintf(&b, "  image            %d×%d, %d frame(s), %d sample(s), %s\n", s.Columns, s.Rows, s.Frames, s.SamplesPerPixel, s.Photometric)
	fmt.Fprintf(&b, "  bits             allocated %d stored %d, pixel representation %d\n", s.BitsAllocated, s.BitsStored, s.PixelRep)
	fmt.Fprintf(&b, "  rescale          slope %g intercept %g\n", s.RescaleSlope, s.RescaleIntercept)
	fmt.Fprintf(&b, "  geometry         spacing %v mm, thickness %g mm", s.PixelSpacing, s.SliceThickness)
	if s.Position != nil {
		fmt.Fprintf(&b, ", position %v", *s.Position)
	}
	if s.Orientation != nil {
		fmt.Fprintf(&b, ", orientation %v", *s.Orientation)
	}
	b.WriteString("\n")
	if s.EnhancedFrames > 0 {
		fmt.Fprintf(&b, "  enhanced         %d per-frame functional groups\n", s.EnhancedFrames)
	}
	_, err = w.Write([]byte(b.String()))
	return err
}

// Shown is how `medmd inspect` shows the identifying values of a set of
// DICOM headers under ingest.InspectOptions: UIDs as the pipeline writes
// them (keyed 2.25 UIDs), the originals only under ShowIdentifiers.
// Patient names and IDs are never shown: descriptions are cleaned of the
// headers' identifying values and path segments that carry one are
// pseudonymised, whatever the options.
type Shown struct {
	mask     *pathMasker
	original bool // UIDs as in the files
}

// NewShown returns how to show the values of imgs' series under o.
func NewShown(imgs *Images, o ingest.InspectOptions) Shown {
	var hdrs []*Header
	for _, se := range imgs.Series {
		for _, sl := range se.Slices {
			hdrs = append(hdrs, sl.Hdr)
		}
	}
	return newShown(hdrs, o)
}

func newShown(hdrs []*Header, o ingest.InspectOptions) Shown {
	// No base: paths keep the form they were given in.
	return Shown{mask: newPathMasker("", hdrs), original: o.ShowIdentifiers}
}

// Mode is IdentifiersPseudonymised or IdentifiersOriginal: how UIDs are
// shown.
func (s Shown) Mode() string {
	if s.original {
		return IdentifiersOriginal
	}
	return IdentifiersPseudonymised
}

// UID is a Study, Series, SOP Instance or Frame of Reference UID: the
// keyed 2.25 UID the pipeline writes (PseudoUID), or the original.
func (s Shown) UID(uid string) string {
	if s.original {
		return uid
	}
	return PseudoUID(uid)
}

// SeriesID is se's ID: the unit ID plans and quarantine records carry (a
// keyed UID with dcm2niix's split suffix), or the original.
func (s Shown) SeriesID(se *Series) string {
	if s.original {
		return se.ID
	}
	return pseudoSeriesID(se)
}

// Text is a path or message with every segment that carries a patient
// identifier of the headers pseudonymised whole.
func (s Shown) Text(t string) string { return s.mask.text(t) }

// Description is h's SeriesDescription cleaned of every identifying value
// of h (the keep_descriptions rule).
func (s Shown) Description(h *Header) string { return cleanDescription(h.SeriesDescription, h) }
