package dicom

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	Files     int
	Written   []Converted
	Skipped   []Skipped // not DICOM, no pixels, excluded
	Failed    []Skipped // unsupported syntax, broken files, series that failed
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
		if n := used[base]; n > 0 {
			used[base]++
			base += "_" + strconv.Itoa(n+1)
		} else {
			used[base] = 1
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
