package dicom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/shards"
)

// ConvertOptions control Convert (medmd dicom2nii).
type ConvertOptions struct {
	Scan ScanOptions
	// Canonical reorients volumes to closest-canonical RAS before writing.
	Canonical bool
	// Gzip writes .nii.gz (default) rather than .nii.
	NoGzip bool
	// Deid chooses the de-identification options of the sidecars (the
	// zero value: dates shifted, descriptions removed, age and sex kept).
	Deid DeidOptions
	// NameTemplate names the output files like dcm2niix's -f (see
	// ExpandName); empty: <SeriesNumber>_<description>_<8 hex of the
	// pseudonymised series ID>.
	NameTemplate string
}

// Converted is one written volume.
type Converted struct {
	Series   string   `json:"series"`
	NIfTI    string   `json:"nifti"`
	Sidecar  string   `json:"sidecar"`
	Shape    [4]int   `json:"shape"` // channels, depth, height, width
	DType    string   `json:"dtype"`
	Warnings []string `json:"warnings,omitempty"`
}

// ConvertReport says what Convert did.
type ConvertReport struct {
	Files   int
	Written []Converted
	Skipped []Skipped // not DICOM, no pixels, excluded
	Failed  []Skipped // unsupported syntax, broken files, series that failed
	// Gradients lists the .bval files written (each with its .bvec).
	Gradients []string
	SeriesN   int
	VolumeN   int
	FailedSer int
}

// Convert writes one NIfTI-1 file plus a JSON sidecar per assembled
// volume of the DICOM files under inDir (folders, zip and tar archives),
// like dcm2niix. Series are processed one at a time: only one volume is in
// memory. A series that fails is reported and the rest go on.
func Convert(ctx context.Context, inDir, outDir string, o ConvertOptions) (*ConvertReport, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	res, err := Scan(ctx, []string{inDir}, o.Scan)
	if err != nil {
		return nil, err
	}
	if err := checkNameTemplate(o.NameTemplate); err != nil {
		return nil, err
	}
	rep := &ConvertReport{Files: res.Files, SeriesN: len(res.Series)}
	deid := newDeidReport(o.Deid)
	for _, sk := range res.Skipped {
		if sk.Kind == "unsupported" || sk.Kind == "error" {
			rep.Failed = append(rep.Failed, sk)
		} else {
			rep.Skipped = append(rep.Skipped, sk)
		}
	}
	used := map[string]int{}
	for _, se := range res.Series {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if burnedIn(se) {
			if deid.Excluded == nil {
				deid.Excluded = map[string]int{}
			}
			deid.Excluded[burnedInReason] += len(se.Refs())
			for _, r := range se.Refs() {
				rep.Skipped = append(rep.Skipped, Skipped{Ref: r.String(), Reason: burnedInReason + " (BurnedInAnnotation YES)", Kind: "excluded"})
			}
			continue
		}
		for _, sl := range se.Slices {
			deid.add(o.Deid, sl.Hdr)
		}
		imgs, err := ReadSeries(ctx, se, ReadOptions{Canonical: o.Canonical})
		if err != nil {
			rep.FailedSer++
			rep.Failed = append(rep.Failed, Skipped{Ref: pseudoSeriesID(se), Reason: err.Error(), Kind: "series"})
			continue
		}
		base := outputName(se, o.Deid)
		if o.NameTemplate != "" {
			base = ExpandName(o.NameTemplate, se.Header(), o.Deid)
		}
		if n := used[base]; n > 0 {
			used[base]++
			base += "_" + strconv.Itoa(n+1)
		} else {
			used[base] = 1
		}
		if bv, err := writeBvalBvec(filepath.Join(outDir, base), imgs); err != nil {
			return rep, err
		} else if bv != "" {
			rep.Gradients = append(rep.Gradients, bv)
		}
		for v, im := range imgs {
			name := base
			if len(imgs) > 1 {
				name += fmt.Sprintf("_t%03d", v+1)
			}
			ext := ".nii.gz"
			if o.NoGzip {
				ext = ".nii"
			}
			nii := filepath.Join(outDir, name+ext)
			note := ""
			if im.Channels == 3 && im.DType == shards.Uint16 {
				// NIfTI's colour type is RGB24: keep the high byte of
				// 16-bit palette or RGB samples.
				rgb16to8(im)
				note = "16-bit RGB written as 8-bit (high byte)"
			}
			if err := nifti.WriteFile(nii, im); err != nil {
				rep.FailedSer++
				rep.Failed = append(rep.Failed, Skipped{Ref: pseudoSeriesID(se), Reason: err.Error(), Kind: "series"})
				continue
			}
			side := filepath.Join(outDir, name+".json")
			o.Deid.applyMeta(im.Meta, se.Header())
			sc := map[string]any{
				"SeriesID":  pseudoSeriesID(se),
				"Shape":     []int{im.Channels, im.Depth, im.Height, im.Width},
				"DType":     string(im.DType),
				"Spacing":   im.Spacing,
				"Affine":    im.Affine,
				"Plane":     im.Plane,
				"Volume":    v,
				"Volumes":   len(imgs),
				"Meta":      im.Meta,
				"Warnings":  se.Warnings,
				"Files":     len(se.Refs()),
				"Modality":  im.Modality,
				"Converter": "medmd dicom2nii",
			}
			bidsKeys(sc, se.Header(), im.Meta, o.Deid)
			if note != "" {
				sc["Note"] = note
			}
			if err := writeJSON(side, sc); err != nil {
				return rep, err
			}
			rep.VolumeN++
			rep.Written = append(rep.Written, Converted{Series: se.ID, NIfTI: nii, Sidecar: side,
				Shape: [4]int{im.Channels, im.Depth, im.Height, im.Width}, DType: string(im.DType), Warnings: se.Warnings})
		}
	}
	return rep, writeDeidReport(filepath.Join(outDir, "deid.json"), deid)
}

// rgb16to8 keeps the high byte of each 16-bit sample.
func rgb16to8(im *shards.Image) {
	n := len(im.Voxels) / 2
	out := make([]byte, n)
	for i := 0; i < n; i++ {
		out[i] = im.Voxels[2*i+1]
	}
	im.Voxels, im.DType = out, shards.Uint8
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// outputName is <SeriesNumber>_<description>_<8 hex of the series ID>:
// readable and unique. The description is the modality, or with
// o.KeepDescriptions the cleaned SeriesDescription or ProtocolName (file
// names are output too: PS3.15 Annex E removes these free texts).
func outputName(se *Series, o DeidOptions) string {
	h := se.Header()
	desc := ""
	if o.KeepDescriptions {
		desc = cleanDescription(h.SeriesDescription, h)
		if desc == "" {
			desc = cleanDescription(h.ProtocolName, h)
		}
	}
	if desc == "" {
		desc = h.Modality
	}
	desc = strings.Trim(unsafeName.ReplaceAllString(desc, "_"), "_.")
	if len(desc) > 48 {
		desc = desc[:48]
	}
	parts := []string{}
	if h.SeriesNumber != 0 {
		parts = append(parts, strconv.Itoa(h.SeriesNumber))
	}
	if desc != "" {
		parts = append(parts, desc)
	}
	sum := shortHash(pseudoSeriesID(se))
	parts = append(parts, sum)
	return strings.Join(parts, "_")
}

func shortHash(s string) string {
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return fmt.Sprintf("%08x", h)
}

// writeJSON publishes the sidecar atomically (shards.PublishBytes), so an
// interrupted dicom2nii never leaves a truncated sidecar (the NIfTI
// beside it is written the same way).
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return shards.PublishBytes(nil, path, append(b, '\n'))
}

// Print writes the report's summary: counts, then each failed file or
// series by name with its reason.
func (r *ConvertReport) Print(w io.Writer) {
	defer r.printExcluded(w)
	unsup := 0
	for _, f := range r.Failed {
		if f.Kind == "unsupported" {
			unsup++
		}
	}
	fmt.Fprintf(w, "%d files: %d series → %d volumes written; %d skipped%s; %d quarantined (%d unsupported transfer syntax, %d failed series)\n",
		r.Files, r.SeriesN, r.VolumeN, len(r.Skipped), skipKinds(r.Skipped), len(r.Failed), unsup, r.FailedSer)
	for _, c := range r.Written {
		fmt.Fprintf(w, "  wrote %s %v %s\n", c.NIfTI, c.Shape, c.DType)
		for _, wn := range c.Warnings {
			fmt.Fprintf(w, "    warning: %s\n", wn)
		}
	}
	for _, g := range r.Gradients {
		fmt.Fprintf(w, "  wrote %s and .bvec\n", g)
	}
	for _, f := range r.Failed {
		fmt.Fprintf(w, "  quarantined %s: %s\n", f.Ref, f.Reason)
	}
}

// skipKinds counts skipped files by kind, e.g. " (3 not DICOM, 2 excluded)":
// a user whose series is missing sees at once whether it was excluded
// (localizer, derived) rather than unreadable.
func skipKinds(sk []Skipped) string {
	if len(sk) == 0 {
		return ""
	}
	names := map[string]string{"not-dicom": "not DICOM", "no-pixels": "no pixels", "excluded": "excluded as localizer or derived"}
	n := map[string]int{}
	for _, s := range sk {
		n[s.Kind]++
	}
	var parts []string
	for _, k := range []string{"not-dicom", "no-pixels", "excluded"} {
		if n[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[k], names[k]))
			delete(n, k)
		}
	}
	var rest []string
	for k := range n {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printExcluded names the files left out by the localizer/derived rules
// with their reason, so the flag that brings them back is easy to find.
// Ten are enough to recognise the pattern in a big archive.
func (r *ConvertReport) printExcluded(w io.Writer) {
	const most = 10
	n := 0
	for _, s := range r.Skipped {
		if s.Kind != "excluded" {
			continue
		}
		if n < most {
			fmt.Fprintf(w, "  skipped %s: %s\n", s.Ref, s.Reason)
		}
		n++
	}
	if n > most {
		fmt.Fprintf(w, "  … and %d more skipped as localizer or derived\n", n-most)
	}
}

// bidsKeys adds to sc the BIDS sidecar keys dcm2niix writes, under its
// names and in its units (EchoTime and RepetitionTime in seconds), for the
// values the header holds. Identifying values stay out: the free-text
// SeriesDescription and ProtocolName only with o.KeepDescriptions (cleaned
// as the de-identification report does), and AcquisitionTime from meta,
// which applyMeta has already de-identified.
func bidsKeys(sc map[string]any, h *Header, meta map[string]string, o DeidOptions) {
	str := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			sc[k] = v
		}
	}
	num := func(k string, v float64) {
		if v != 0 {
			sc[k] = v
		}
	}
	str("Modality", h.Modality)
	num("MagneticFieldStrength", h.MagneticField)
	str("Manufacturer", bidsManufacturer(h.Manufacturer))
	str("ManufacturersModelName", h.ManufacturerModel)
	str("BodyPartExamined", h.BodyPart)
	if o.KeepDescriptions {
		str("SeriesDescription", cleanDescription(h.SeriesDescription, h))
		str("ProtocolName", cleanDescription(h.ProtocolName, h))
	}
	str("ScanOptions", h.ScanOpt)
	if len(h.ImageType) > 0 {
		sc["ImageType"] = h.ImageType
	}
	if h.SeriesNumber != 0 {
		sc["SeriesNumber"] = h.SeriesNumber
	}
	if t := bidsTime(meta["acquisition_time"]); t != "" {
		sc["AcquisitionTime"] = t
	}
	if h.AcquisitionNumber != 0 {
		sc["AcquisitionNumber"] = h.AcquisitionNumber
	}
	str("ConvolutionKernel", h.ConvolutionKernel)
	if kv, err := strconv.ParseFloat(strings.TrimSpace(h.KVP), 64); err == nil {
		num("KVP", kv)
	}
	num("SliceThickness", h.SliceThickness)
	num("SpacingBetweenSlices", h.SpacingBetweenSlices)
	// DICOM gives EchoTime and RepetitionTime in ms; BIDS in seconds.
	num("EchoTime", h.EchoTime/1000)
	num("RepetitionTime", h.RepetitionTime/1000)
	num("FlipAngle", h.FlipAngle)
	if h.Frame.HasOrientation {
		sc["ImageOrientationPatientDICOM"] = h.Frame.Orientation[:]
	}
	sc["ConversionSoftware"] = "medmd dicom2nii"
}

// bidsManufacturer names the vendor as dcm2niix does ("SIEMENS" →
// "Siemens", "GE MEDICAL SYSTEMS" → "GE"); others are kept as written.
func bidsManufacturer(m string) string {
	u := strings.ToUpper(m)
	for _, v := range []struct{ key, name string }{
		{"SIEMENS", "Siemens"}, {"GE", "GE"}, {"PHILIPS", "Philips"}, {"TOSHIBA", "Toshiba"},
		{"CANON", "Canon"}, {"UIH", "UIH"}, {"BRUKER", "Bruker"}, {"HITACHI", "Hitachi"}, {"MEDISO", "Mediso"},
	} {
		if strings.HasPrefix(u, v.key) {
			return v.name
		}
	}
	return strings.TrimSpace(m)
}

// bidsTime writes a DICOM TM value (HHMMSS.frac) as dcm2niix does,
// "HH:MM:SS.ffffff"; anything else is left out.
func bidsTime(tm string) string {
	tm = strings.TrimSpace(tm)
	if len(tm) < 6 {
		return ""
	}
	for _, c := range tm[:6] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	frac := 0.0
	if len(tm) > 6 {
		f, err := strconv.ParseFloat("0"+tm[6:], 64)
		if err != nil || tm[6] != '.' {
			return ""
		}
		frac = f
	}
	return fmt.Sprintf("%s:%s:%s.%06d", tm[0:2], tm[2:4], tm[4:6], int(frac*1e6+0.5))
}

// NameTemplateHelp documents the specifiers ExpandName supports.
const NameTemplateHelp = `%p protocol name, %d series description (both replaced by the modality
unless descriptions are kept: file names are output too), %s series number
(%4s zero-padded to 4 digits), %e echo number, %u acquisition number,
%m manufacturer (as dcm2niix names it), %y modality. Other characters
than letters, digits, ".", "_" and "-" become "_".
dcm2niix's identifying specifiers (%i patient ID, %n patient name, %t time,
%j/%k instance UIDs, %x study ID) are refused`

// nameSpec matches one specifier: an optional zero-pad width and a letter.
var nameSpec = regexp.MustCompile(`%([0-9]?)([A-Za-z%])`)

// checkNameTemplate rejects an unknown or identifying specifier before any
// file is written.
func checkNameTemplate(t string) error {
	for _, m := range nameSpec.FindAllStringSubmatch(t, -1) {
		if !strings.Contains("pdseumy", m[2]) {
			return fmt.Errorf("file name template %q: %%%s is not supported (%s)", t, m[2], strings.ReplaceAll(NameTemplateHelp, "\n", " "))
		}
	}
	return nil
}

// ExpandName fills a dcm2niix-style file name template (-f) from the
// series' first header; see NameTemplateHelp. Free-text fields are
// cleaned and made safe for file names; an empty field expands to
// nothing, as in dcm2niix.
func ExpandName(t string, h *Header, o DeidOptions) string {
	desc := func(v string) string {
		if o.KeepDescriptions {
			if v = cleanDescription(v, h); v != "" {
				return v
			}
		}
		return h.Modality
	}
	num := func(n int, width string) string {
		if width == "" {
			return strconv.Itoa(n)
		}
		w, _ := strconv.Atoi(width)
		return fmt.Sprintf("%0*d", w, n)
	}
	out := nameSpec.ReplaceAllStringFunc(t, func(s string) string {
		m := nameSpec.FindStringSubmatch(s)
		v := ""
		switch m[2] {
		case "p":
			v = desc(h.ProtocolName)
		case "d":
			v = desc(h.SeriesDescription)
		case "s":
			v = num(h.SeriesNumber, m[1])
		case "e":
			v = num(max(h.EchoNumbers, 1), m[1])
		case "u":
			v = num(h.AcquisitionNumber, m[1])
		case "m":
			v = bidsManufacturer(h.Manufacturer)
		case "y":
			v = h.Modality
		}
		return strings.Trim(unsafeName.ReplaceAllString(v, "_"), "_.")
	})
	out = strings.Trim(unsafeName.ReplaceAllString(out, "_"), "_.")
	if len(out) > 128 {
		out = out[:128]
	}
	if out == "" {
		out = "series"
	}
	return out
}

// writeBvalBvec writes FSL's base.bval and base.bvec for a diffusion
// series, like dcm2niix: one column per volume (the volumes written as
// base_t001, base_t002, …), the b-value in s/mm² and the gradient rotated
// from patient LPS into the voxel axes of the written image, with the
// first component negated when the affine's determinant is positive (FSL's
// convention, which makes the vector independent of a left-right flip of
// the voxel order). A volume without a gradient (b=0, trace) gets 0 0 0.
// Series whose volumes carry no b-value get no files; the .bval path is
// returned when written.
func writeBvalBvec(base string, imgs []*shards.Image) (string, error) {
	anyB := false
	bvals := make([]float64, len(imgs))
	bvecs := make([][3]float64, len(imgs))
	for v, im := range imgs {
		b, err := strconv.ParseFloat(im.Meta["diffusion_b_value"], 64)
		if err != nil {
			continue
		}
		anyB = true
		bvals[v] = b
		g, ok := parseVec3(im.Meta["diffusion_gradient_lps"])
		if !ok {
			continue
		}
		bvecs[v] = voxelGradient(im.Affine, g)
	}
	if !anyB {
		return "", nil
	}
	var bval, bvec strings.Builder
	for v := range bvals {
		if v > 0 {
			bval.WriteByte(' ')
		}
		bval.WriteString(strconv.FormatFloat(bvals[v], 'g', 6, 64))
	}
	bval.WriteByte('\n')
	for a := 0; a < 3; a++ {
		for v := range bvecs {
			if v > 0 {
				bvec.WriteByte(' ')
			}
			bvec.WriteString(strconv.FormatFloat(bvecs[v][a]+0, 'g', 6, 64))
		}
		bvec.WriteByte('\n')
	}
	if err := shards.PublishBytes(nil, base+".bval", []byte(bval.String())); err != nil {
		return "", err
	}
	return base + ".bval", shards.PublishBytes(nil, base+".bvec", []byte(bvec.String()))
}

// voxelGradient turns a unit gradient in patient LPS into FSL bvec
// components along the voxel axes of a row-major 4×4 RAS affine.
func voxelGradient(affine [16]float64, lps [3]float64) [3]float64 {
	w := [3]float64{-lps[0], -lps[1], lps[2]} // LPS → RAS
	var cols [3][3]float64
	var out [3]float64
	for c := 0; c < 3; c++ {
		n := 0.0
		for r := 0; r < 3; r++ {
			cols[c][r] = affine[4*r+c]
			n += cols[c][r] * cols[c][r]
		}
		n = math.Sqrt(n)
		if n == 0 {
			return [3]float64{}
		}
		for r := 0; r < 3; r++ {
			cols[c][r] /= n
			out[c] += cols[c][r] * w[r]
		}
	}
	det := cols[0][0]*(cols[1][1]*cols[2][2]-cols[1][2]*cols[2][1]) -
		cols[1][0]*(cols[0][1]*cols[2][2]-cols[0][2]*cols[2][1]) +
		cols[2][0]*(cols[0][1]*cols[1][2]-cols[0][2]*cols[1][1])
	if det > 0 {
		out[0] = -out[0]
	}
	return out
}

func parseVec3(s string) ([3]float64, bool) {
	var v [3]float64
	parts := strings.Split(s, `\`)
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return v, false
		}
		v[i] = f
	}
	return v, true
}
