package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/medmd/medmd/ingest/dicom"
)

// IsDICOMSet reports whether path is a folder or a .zip/.tar(.gz)
// archive: inputs `medmd inspect` reads as a set of DICOM files, as
// montage and dicom2nii do.
func IsDICOMSet(path string) bool {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return true
	}
	l := strings.ToLower(path)
	for _, ext := range []string{".zip", ".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// InspectDICOMSet is `medmd inspect` of a DICOM set: it reads every
// series of a folder or archive (dicom.ReadImages decodes them, proving
// the pixels readable) and writes one line (or JSON object) per series
// and per file that made no volume. Files that could not be read (broken,
// or in an unsupported transfer syntax) make it return an error.
func InspectDICOMSet(ctx context.Context, path string, asJSON bool, w io.Writer) error {
	imgs, err := dicom.ReadImages(ctx, path, dicom.ImagesOptions{})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for i, se := range imgs.Series {
		h := se.Header()
		im := imgs.Volumes[i][0]
		line := map[string]any{"input": path, "series": se.ID, "modality": im.Modality, "description": h.SeriesDescription,
			"files": len(se.Refs()), "volumes": len(imgs.Volumes[i]), "shape": []int{im.Channels, im.Depth, im.Height, im.Width},
			"dtype": im.DType, "spacing": im.Spacing, "warnings": se.Warnings}
		if asJSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s: series %s: %s %q, %d files, %d volume(s) of %dx%dx%dx%d %s, spacing %.3g mm\n", path, se.ID, im.Modality,
			h.SeriesDescription, len(se.Refs()), len(imgs.Volumes[i]), im.Channels, im.Depth, im.Height, im.Width, im.DType, im.Spacing)
	}
	var bad []error
	for _, sk := range imgs.Skipped {
		if asJSON {
			enc.Encode(map[string]any{"input": path, "skipped": sk.Ref, "kind": sk.Kind, "reason": sk.Reason})
		} else {
			fmt.Fprintf(w, "%s: skipped %s (%s): %s\n", path, sk.Ref, sk.Kind, sk.Reason)
		}
		if sk.Kind == "error" || sk.Kind == "unsupported" {
			bad = append(bad, fmt.Errorf("%s: %s", sk.Ref, sk.Reason))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %d of %d files could not be read (first: %w)", path, len(bad), imgs.Files, bad[0])
	}
	return nil
}
