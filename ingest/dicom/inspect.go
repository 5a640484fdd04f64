package dicom

import (
	"context"
	"fmt"
	"strings"

	"github.com/medmd/medmd/ingest"
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
	File              string      `json:"file"`
	TransferSyntax    string      `json:"transfer_syntax"`
	TransferName      string      `json:"transfer_syntax_name"`
	SyntaxGuessed     bool        `json:"transfer_syntax_guessed,omitempty"`
	Decodable         bool        `json:"decodable"`
	DecodeError       string      `json:"decode_error,omitempty"`
	SOPClassUID       string      `json:"sop_class_uid"`
	Modality          string      `json:"modality"`
	SeriesInstanceUID string      `json:"series_instance_uid"`
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

// Inspect parses path and, when the syntax is supported, decodes its
// pixels to prove it.
func Inspect(ctx context.Context, path string) (*Summary, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	h := &f.Header
	s := &Summary{
		File: path, TransferSyntax: h.TransferSyntax, TransferName: SyntaxName(h.TransferSyntax),
		SyntaxGuessed: h.SyntaxGuessed, SOPClassUID: h.SOPClassUID, Modality: h.Modality,
		SeriesInstanceUID: h.SeriesInstanceUID, SeriesDescription: h.SeriesDescription,
		Manufacturer: h.Manufacturer, BodyPart: h.BodyPart, ImageType: h.ImageType,
		Rows: h.Rows, Columns: h.Columns, Frames: h.FrameCount(), SamplesPerPixel: h.SamplesPerPixel,
		BitsAllocated: h.BitsAllocated, BitsStored: h.BitsStored, PixelRep: h.PixelRep,
		Photometric: h.Photometric, RescaleSlope: h.RescaleSlope, RescaleIntercept: h.RescaleIntercept,
		PixelSpacing: h.Frame.PixelSpacing, SliceThickness: h.SliceThickness, EnhancedFrames: len(h.Frames),
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
		s.DecodeError = err.Error()
	} else {
		s.Decodable = true
		s.PixelDType = string(p.DType)
	}
	return s, nil
}

func inspect(ctx context.Context, path string, asJSON bool, w ingest.Writer) error {
	s, err := Inspect(ctx, path)
	if err != nil {
		return err
	}
	if asJSON {
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
	fmt.Fprintf(&b, "  series           %s %q\n", s.SeriesInstanceUID, s.SeriesDescription)
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
