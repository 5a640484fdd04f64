package dicom

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	sdicom "github.com/suyashkumar/dicom"
)

// FrameInfo is the geometry and scaling of one frame of an enhanced
// multi-frame object (PS3.3 §C.7.6.16 functional groups), or of the single
// frame of a classic image.
type FrameInfo struct {
	Position       [3]float64
	HasPosition    bool
	Orientation    [6]float64
	HasOrientation bool
	PixelSpacing   [2]float64 // row spacing, column spacing (mm)
	SliceThickness float64
	Slope          float64
	Intercept      float64
	EchoTime       float64
	StackID        string
	InStackPos     int
	Dimension      []int     // DimensionIndexValues
	Diffusion      Diffusion // MR Diffusion Sequence (enhanced MR)
}

// Header is what medmd reads from a DICOM file's header. Strings are
// trimmed; numeric fields are 0 when absent (Has* flags disambiguate).
type Header struct {
	Path           string
	TransferSyntax string
	SyntaxGuessed  bool // no transfer syntax in the meta: inferred
	HasMeta        bool
	HasPixels      bool
	Encapsulated   bool
	// PixelOffset is the file offset of the Pixel Data value and
	// PixelLength its length, when the dataset is stored as is (not
	// deflated); -1 otherwise. Volume assembly reads native frames
	// straight into the volume from there.
	PixelOffset int64
	PixelLength uint32
	// Dropped lists elements left out of parsing because their encoding
	// could not be parsed safely (undefined-length private sequences in
	// implicit VR, undefined-length UN).
	Dropped []string

	SOPClassUID, SOPInstanceUID                                  string
	StudyInstanceUID, SeriesInstanceUID, FrameOfReferenceUID     string
	PatientID, PatientName                                       string
	Modality, BodyPart, SeriesDescription, ProtocolName          string
	Manufacturer, ManufacturerModel, StudyDate, SeriesTime       string
	KVP, WindowCenter, WindowWidth, ConvolutionKernel, ScanOpt   string
	ImageType                                                    []string
	SeriesNumber, InstanceNumber, AcquisitionNumber, EchoNumbers int

	Rows, Columns, NumberOfFrames                  int
	SamplesPerPixel, PlanarConfiguration           int
	BitsAllocated, BitsStored, HighBit, PixelRep   int
	Photometric                                    string
	RescaleSlope, RescaleIntercept                 float64
	HasRescale                                     bool
	RescaleType                                    string
	SliceThickness, SpacingBetweenSlices, EchoTime float64
	RepetitionTime, FlipAngle, MagneticField       float64
	GantryTilt                                     float64
	AcquisitionTime                                string

	// Frame holds the top-level (classic) geometry; Frames the per-frame
	// geometry of enhanced multi-frame objects (nil for classic images).
	Frame  FrameInfo
	Frames []FrameInfo

	Palette *Palette
	// FrameOffsets is Grid Frame Offset Vector (3004,000C): frame positions
	// along the normal relative to ImagePositionPatient (RT Dose).
	FrameOffsets []float64
	// MR holds the Siemens CSA image header's mosaic and diffusion values
	// and the standard diffusion attributes (see csa.go).
	MR MRInfo

	// Attrs holds the top-level values of the attributes de-identification
	// handles (deidAttrs in deid.go) and BurnedInAnnotation, by tag.
	Attrs map[uint32]string
}

// Palette is a PALETTE COLOR lookup table (PS3.3 §C.7.6.3.1.5).
type Palette struct {
	Entries int // number of entries (descriptor 0 means 65536)
	First   int // first mapped stored value
	Bits    int // 8 or 16
	R, G, B []uint16
}

type elemIndex map[uint32]*sdicom.Element

func index(els []*sdicom.Element) elemIndex {
	m := make(elemIndex, len(els))
	for _, e := range els {
		m[uint32(e.Tag.Group)<<16|uint32(e.Tag.Element)] = e
	}
	return m
}

func (ix elemIndex) strs(t uint32) []string {
	e := ix[t]
	if e == nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []string:
		out := make([]string, 0, len(v))
		for _, s := range v {
			out = append(out, strings.TrimRight(strings.TrimSpace(s), "\x00"))
		}
		return out
	case []int:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.Itoa(x)
		}
		return out
	case []float64:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return out
	case []byte:
		return []string{strings.TrimRight(string(v), "\x00 ")}
	}
	return nil
}

func (ix elemIndex) str(t uint32) string { return strings.Join(ix.strs(t), `\`) }

func (ix elemIndex) floats(t uint32) []float64 {
	e := ix[t]
	if e == nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []float64:
		return v
	case []int:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	var out []float64
	for _, s := range ix.strs(t) {
		for _, part := range strings.Split(s, `\`) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			f, err := strconv.ParseFloat(part, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
			out = append(out, f)
		}
	}
	return out
}

func (ix elemIndex) float(t uint32) (float64, bool) {
	v := ix.floats(t)
	if len(v) == 0 {
		return 0, false
	}
	return v[0], true
}

func (ix elemIndex) int(t uint32) int {
	v, ok := ix.float(t)
	if !ok || v > math.MaxInt32 || v < math.MinInt32 {
		return 0
	}
	return int(v)
}

// items returns the element lists of the items of sequence t.
func (ix elemIndex) items(t uint32) [][]*sdicom.Element {
	e := ix[t]
	if e == nil || e.Value == nil {
		return nil
	}
	seq, ok := e.Value.GetValue().([]*sdicom.SequenceItemValue)
	if !ok {
		return nil
	}
	out := make([][]*sdicom.Element, 0, len(seq))
	for _, it := range seq {
		if els, ok := it.GetValue().([]*sdicom.Element); ok {
			out = append(out, els)
		}
	}
	return out
}

// item returns the first item of sequence t, indexed.
func (ix elemIndex) item(t uint32) elemIndex {
	its := ix.items(t)
	if len(its) == 0 {
		return nil
	}
	return index(its[0])
}

// lut returns the values of a LUT data element as uint16, whatever VR the
// parser gave it (US list or OW bytes in the dataset's byte order).
func (ix elemIndex) lut(t uint32, bo binary.ByteOrder, bits int) []uint16 {
	e := ix[t]
	if e == nil || e.Value == nil {
		return nil
	}
	switch v := e.Value.GetValue().(type) {
	case []int:
		out := make([]uint16, len(v))
		for i, x := range v {
			out[i] = uint16(x)
		}
		return out
	case []byte:
		if bits == 8 && len(v) > 0 {
			// 8-bit entries are still stored in 16-bit words (PS3.3
			// C.7.6.3.1.6); keep the low byte of each word.
		}
		out := make([]uint16, len(v)/2)
		for i := range out {
			out[i] = bo.Uint16(v[2*i:])
		}
		return out
	}
	return nil
}

// fill extracts the header fields from the parsed top-level elements.
func (h *Header) fill(els []*sdicom.Element, sx syntax) {
	ix := index(els)
	h.SOPClassUID = ix.str(0x00080016)
	h.SOPInstanceUID = ix.str(0x00080018)
	h.StudyInstanceUID = ix.str(0x0020000D)
	h.SeriesInstanceUID = ix.str(0x0020000E)
	h.FrameOfReferenceUID = ix.str(0x00200052)
	h.PatientID = ix.str(0x00100020)
	h.PatientName = ix.str(0x00100010)
	h.Modality = ix.str(0x00080060)
	h.BodyPart = ix.str(0x00180015)
	h.SeriesDescription = ix.str(0x0008103E)
	h.ProtocolName = ix.str(0x00181030)
	h.Manufacturer = ix.str(0x00080070)
	h.ManufacturerModel = ix.str(0x00081090)
	h.StudyDate = ix.str(0x00080020)
	h.SeriesTime = ix.str(0x00080031)
	h.AcquisitionTime = ix.str(0x00080032)
	h.KVP = ix.str(0x00180060)
	h.WindowCenter = ix.str(0x00281050)
	h.WindowWidth = ix.str(0x00281051)
	h.ConvolutionKernel = ix.str(0x00181210)
	h.ScanOpt = ix.str(0x00180022)
	h.ImageType = splitMulti(ix.strs(0x00080008))
	h.SeriesNumber = ix.int(0x00200011)
	h.InstanceNumber = ix.int(0x00200013)
	h.AcquisitionNumber = ix.int(0x00200012)
	h.EchoNumbers = ix.int(0x00180086)
	h.Rows = ix.int(0x00280010)
	h.Columns = ix.int(0x00280011)
	h.NumberOfFrames = ix.int(0x00280008)
	if h.NumberOfFrames < 1 {
		h.NumberOfFrames = 1
	}
	h.SamplesPerPixel = ix.int(0x00280002)
	if h.SamplesPerPixel < 1 {
		h.SamplesPerPixel = 1
	}
	h.PlanarConfiguration = ix.int(0x00280006)
	h.BitsAllocated = ix.int(0x00280100)
	h.BitsStored = ix.int(0x00280101)
	h.HighBit = ix.int(0x00280102)
	h.PixelRep = ix.int(0x00280103)
	h.Photometric = ix.str(0x00280004)
	h.RescaleType = ix.str(0x00281054)
	h.SliceThickness, _ = ix.float(0x00180050)
	h.SpacingBetweenSlices, _ = ix.float(0x00180088)
	h.EchoTime, _ = ix.float(0x00180081)
	h.RepetitionTime, _ = ix.float(0x00180080)
	h.FlipAngle, _ = ix.float(0x00181314)
	h.MagneticField, _ = ix.float(0x00180087)
	h.GantryTilt, _ = ix.float(0x00181120)

	h.Frame = frameFrom(ix, FrameInfo{Slope: 1})
	h.RescaleSlope, h.RescaleIntercept = h.Frame.Slope, h.Frame.Intercept
	_, h.HasRescale = ix.float(0x00281053)

	// Enhanced multi-frame: shared groups apply to all frames, per-frame
	// groups override them (PS3.3 §C.7.6.16).
	shared := ix.items(0x52009229)
	perFrame := ix.items(0x52009230)
	if len(perFrame) > 0 {
		base := h.Frame
		if len(shared) > 0 {
			base = groupsFrame(index(shared[0]), base)
		}
		h.Frames = make([]FrameInfo, len(perFrame))
		for i, it := range perFrame {
			h.Frames[i] = groupsFrame(index(it), base)
		}
		if !h.HasRescale {
			h.RescaleSlope, h.RescaleIntercept = h.Frames[0].Slope, h.Frames[0].Intercept
			h.HasRescale = h.Frames[0].Slope != 1 || h.Frames[0].Intercept != 0
		}
		if h.SliceThickness == 0 {
			h.SliceThickness = h.Frames[0].SliceThickness
		}
		if h.EchoTime == 0 {
			h.EchoTime = h.Frames[0].EchoTime
		}
	}

	h.FrameOffsets = ix.floats(0x3004000C)
	h.Attrs = readAttrs(ix)
	if h.Photometric == "PALETTE COLOR" {
		h.Palette = readPalette(ix, sx.bo)
	}
}

// frameFrom reads classic (top-level) geometry and rescale attributes.
func frameFrom(ix elemIndex, fi FrameInfo) FrameInfo {
	if v := ix.floats(0x00200032); len(v) == 3 {
		copy(fi.Position[:], v)
		fi.HasPosition = true
	}
	if v := ix.floats(0x00200037); len(v) == 6 {
		copy(fi.Orientation[:], v)
		fi.HasOrientation = true
	}
	if v := ix.floats(0x00280030); len(v) == 2 {
		copy(fi.PixelSpacing[:], v)
	}
	if v, ok := ix.float(0x00180050); ok {
		fi.SliceThickness = v
	}
	if v, ok := ix.float(0x00281053); ok {
		fi.Slope = v
	}
	if v, ok := ix.float(0x00281052); ok {
		fi.Intercept = v
	}
	if v, ok := ix.float(0x00180081); ok {
		fi.EchoTime = v
	}
	return fi
}

// groupsFrame applies one functional-groups item over fi.
func groupsFrame(g elemIndex, fi FrameInfo) FrameInfo {
	if it := g.item(0x00209113); it != nil { // Plane Position Sequence
		fi = frameFrom(it, fi)
	}
	if it := g.item(0x00209116); it != nil { // Plane Orientation Sequence
		fi = frameFrom(it, fi)
	}
	if it := g.item(0x00289110); it != nil { // Pixel Measures Sequence
		fi = frameFrom(it, fi)
	}
	if it := g.item(0x00289145); it != nil { // Pixel Value Transformation Sequence
		fi = frameFrom(it, fi)
	}
	if it := g.item(0x00189114); it != nil { // MR Echo Sequence
		if v, ok := it.float(0x00189082); ok {
			fi.EchoTime = v
		}
	}
	if it := g.item(0x00189117); it != nil { // MR Diffusion Sequence
		fi.Diffusion = diffusionFrom(it)
	}
	if it := g.item(0x00209111); it != nil { // Frame Content Sequence
		fi.StackID = it.str(0x00209056)
		fi.InStackPos = it.int(0x00209057)
		if v := it.floats(0x00209157); len(v) > 0 {
			fi.Dimension = make([]int, len(v))
			for i, x := range v {
				fi.Dimension[i] = int(x)
			}
		}
	}
	return fi
}

// readPalette reads the red/green/blue palette descriptors and data.
func readPalette(ix elemIndex, bo binary.ByteOrder) *Palette {
	desc := ix.floats(0x00281101)
	if len(desc) != 3 {
		return nil
	}
	p := &Palette{Entries: int(desc[0]), First: int(desc[1]), Bits: int(desc[2])}
	if p.Entries == 0 {
		p.Entries = 65536
	}
	if p.First < 0 {
		p.First += 65536 // descriptor read as signed
	}
	p.R = ix.lut(0x00281201, bo, p.Bits)
	p.G = ix.lut(0x00281202, bo, p.Bits)
	p.B = ix.lut(0x00281203, bo, p.Bits)
	if len(p.R) == 0 || len(p.G) == 0 || len(p.B) == 0 {
		return nil
	}
	return p
}

func splitMulti(v []string) []string {
	var out []string
	for _, s := range v {
		for _, p := range strings.Split(s, `\`) {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// FrameCount is the number of frames the pixel data holds.
func (h *Header) FrameCount() int {
	if h.NumberOfFrames < 1 {
		return 1
	}
	return h.NumberOfFrames
}

// FrameGeometry returns the geometry of frame i (per-frame when the object
// is enhanced, else the classic top-level values).
func (h *Header) FrameGeometry(i int) FrameInfo {
	if i >= 0 && i < len(h.Frames) {
		return h.Frames[i]
	}
	return h.Frame
}
