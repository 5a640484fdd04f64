package nifti

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
)

func init() {
	ingest.RegisterInspector(ingest.Inspector{Name: "nifti", Sniff: Sniff, Inspect: inspect})
}

// Sniff reports whether a file is NIfTI: a .nii/.nii.gz/.hdr/.hdr.gz name,
// or a sizeof_hdr of 348 or 540 (either byte order) with the matching magic.
func Sniff(path string, head []byte) bool {
	if nameSuffix(path) != "" {
		return true
	}
	ver, _, _, ok := headerVersion(head)
	if !ok {
		return false
	}
	if ver == 1 {
		return len(head) >= hdrSize1 && (string(head[344:348]) == "n+1\x00" || string(head[344:348]) == "ni1\x00")
	}
	return len(head) >= 12 && (string(head[4:8]) == "n+2\x00" || string(head[4:8]) == "ni2\x00")
}

// Summary is what `medmd inspect --json` prints for a NIfTI file.
type Summary struct {
	File        string      `json:"file"`
	Format      string      `json:"format"` // "nifti1" or "nifti2"
	Pair        bool        `json:"pair"`
	ByteOrder   string      `json:"byte_order"`
	Datatype    string      `json:"datatype"`
	Bitpix      int         `json:"bitpix"`
	Shape       []int64     `json:"shape"`
	Pixdim      []float64   `json:"pixdim"`
	VoxOffset   int64       `json:"vox_offset"`
	SclSlope    float64     `json:"scl_slope"`
	SclInter    float64     `json:"scl_inter"`
	QformCode   int         `json:"qform_code"`
	SformCode   int         `json:"sform_code"`
	Affine      [16]float64 `json:"affine"`
	Orientation string      `json:"orientation"`
	Canonical   [3]int      `json:"canonical_shape"`
	CanonAffine [16]float64 `json:"canonical_affine"`
	OutputDType string      `json:"output_dtype"`
	Channels    int         `json:"channels"`
	Volumes     int         `json:"volumes"`
	Descrip     string      `json:"descrip"`
	XYZTUnits   int         `json:"xyzt_units"`
	IntentCode  int         `json:"intent_code"`
	ReadError   string      `json:"read_error,omitempty"`
}

// Inspect reads path fully (first volume) and summarises the header, the
// affine, the orientation and what medmd stores. A file whose header parses
// but whose voxels do not still gets a summary, with ReadError set.
func Inspect(ctx context.Context, path string) (*Summary, error) {
	res, rerr := ReadFile(ctx, path, Options{})
	var h *Header
	if res != nil {
		h = res.Header
	} else {
		var err error
		if h, err = headerOnly(path); err != nil {
			return nil, err
		}
	}
	s := &Summary{
		File: path, Format: fmt.Sprintf("nifti%d", h.Version), Pair: !h.Single,
		ByteOrder: "little", Datatype: h.DatatypeName(), Bitpix: h.Bitpix, Shape: h.Shape(),
		VoxOffset: h.VoxOffset, SclSlope: h.SclSlope, SclInter: h.SclInter,
		QformCode: h.QformCode, SformCode: h.SformCode, Descrip: h.Descrip,
		XYZTUnits: h.XYZTUnits, IntentCode: h.IntentCode,
	}
	if h.ByteOrder == binary.BigEndian {
		s.ByteOrder = "big"
	}
	if n := h.Dim[0]; n >= 1 && n <= 7 {
		s.Pixdim = append([]float64(nil), h.Pixdim[1:n+1]...)
	}
	if aff, err := h.Affine(); err == nil {
		s.Affine = aff
		if o, err := normalize.OrientationOf(aff); err == nil {
			s.Orientation = o.Codes()
		}
	}
	if rerr != nil {
		s.ReadError = rerr.Error()
		return s, nil
	}
	im := res.Images[0]
	s.Canonical = [3]int{im.Width, im.Height, im.Depth}
	s.CanonAffine = im.Affine
	s.OutputDType = string(im.DType)
	s.Channels = im.Channels
	s.Volumes = res.NumVolumes
	return s, nil
}

func headerOnly(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, _, err := openStream(path, f)
	if err != nil {
		return nil, err
	}
	return readHeader(path, r)
}

func inspect(ctx context.Context, path string, o ingest.InspectOptions, w ingest.Writer) error {
	s, err := Inspect(ctx, path)
	if err != nil {
		return err
	}
	if o.JSON {
		return ingest.WriteJSONLine(w, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: NIfTI-%s %s, %s-endian\n", s.File, s.Format[5:], map[bool]string{true: "pair (.hdr/.img)", false: "single file"}[s.Pair], s.ByteOrder)
	fmt.Fprintf(&b, "  datatype   %s (bitpix %d)\n", s.Datatype, s.Bitpix)
	fmt.Fprintf(&b, "  shape      %v  pixdim %v  vox_offset %d\n", s.Shape, s.Pixdim, s.VoxOffset)
	fmt.Fprintf(&b, "  scaling    slope %g inter %g\n", s.SclSlope, s.SclInter)
	fmt.Fprintf(&b, "  codes      qform %d sform %d  orientation %s\n", s.QformCode, s.SformCode, s.Orientation)
	writeAffine(&b, "affine", s.Affine)
	if s.Descrip != "" {
		fmt.Fprintf(&b, "  descrip    %q\n", s.Descrip)
	}
	if s.ReadError != "" {
		fmt.Fprintf(&b, "  unreadable %s\n", s.ReadError)
	} else {
		fmt.Fprintf(&b, "  medmd      %d volume(s) → RAS %v × %d channel(s) %s\n", s.Volumes, s.Canonical, s.Channels, s.OutputDType)
		writeAffine(&b, "canonical", s.CanonAffine)
	}
	_, err = w.Write([]byte(b.String()))
	return err
}

func writeAffine(b *strings.Builder, name string, a [16]float64) {
	for i := range 4 {
		label := ""
		if i == 0 {
			label = name
		}
		fmt.Fprintf(b, "  %-10s [%10.4f %10.4f %10.4f %10.4f]\n", label, a[4*i], a[4*i+1], a[4*i+2], a[4*i+3])
	}
}
