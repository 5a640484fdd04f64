package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/medmd/medmd/ingest"
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
// the pixels readable) and writes one line (or JSON object, under o.JSON)
// per series and per file that made no volume. Series IDs are shown as
// the pipeline writes them unless o.ShowIdentifiers; descriptions and
// paths never carry the patient's name or IDs (dicom.Shown). Files that could not be read (broken,
// or in an unsupported transfer syntax) make it return an error.
func InspectDICOMSet(ctx context.Context, path string, o ingest.InspectOptions, w io.Writer) error {
	imgs, err := dicom.ReadImages(ctx, path, dicom.ImagesOptions{})
	if err != nil {
		return err
	}
	show := dicom.NewShown(imgs, o)
	in := show.Text(path)
	enc := json.NewEncoder(w)
	for i, se := range imgs.Series {
		h := se.Header()
		im := imgs.Volumes[i][0]
		id, desc := show.SeriesID(se), show.Description(h)
		line := map[string]any{"input": in, "series": id, "identifiers": show.Mode(), "modality": im.Modality, "description": desc,
			"files": len(se.Refs()), "volumes": len(imgs.Volumes[i]), "shape": []int{im.Channels, im.Depth, im.Height, im.Width},
			"dtype": im.DType, "spacing": im.Spacing, "warnings": se.Warnings}
		if o.JSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s: series %s: %s %q, %d files, %d volume(s) of %dx%dx%dx%d %s, spacing %.3g mm\n", in, id, im.Modality,
			desc, len(se.Refs()), len(imgs.Volumes[i]), im.Channels, im.Depth, im.Height, im.Width, im.DType, im.Spacing)
	}
	var bad []error
	for _, sk := range imgs.Skipped {
		ref, reason := show.Text(sk.Ref), show.Text(sk.Reason)
		if o.JSON {
			enc.Encode(map[string]any{"input": in, "skipped": ref, "kind": sk.Kind, "reason": reason})
		} else {
			fmt.Fprintf(w, "%s: skipped %s (%s): %s\n", in, ref, sk.Kind, reason)
		}
		if sk.Kind == "error" || sk.Kind == "unsupported" {
			bad = append(bad, fmt.Errorf("%s: %s", ref, reason))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %d of %d files could not be read (first: %w)", in, len(bad), imgs.Files, bad[0])
	}
	return nil
}
