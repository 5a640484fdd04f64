package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/dicom"
	"github.com/spf13/cobra"
)

func init() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Show what medmd reads from a DICOM file, folder, zip or tar, NIfTI, JATS (.nxml) or PMC package",
		Long: `inspect prints what medmd reads from each input: the header fields and
decoded pixel facts of a DICOM or NIfTI file, the text and figures of a JATS
article or PMC package. A folder, .zip or .tar(.gz) is read as DICOM, like
montage and dicom2nii: one line per assembled series (modality, size,
spacing, files) and one per file that could not be read. The exit status is
non-zero when any input or file in it could not be read.`,
		Example: `  medmd inspect testdata/nifti/anatomical.nii
  medmd inspect --json article.nxml
  medmd inspect testdata/dicom/            # every series of a folder
  medmd inspect study.zip`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A bad file is reported and the rest are still inspected
			// (`medmd inspect dir/*` on an archive with one broken file);
			// the exit status says something failed.
			var errs []error
			for _, path := range args {
				if isDICOMContainer(path) {
					if err := inspectDICOMSet(cmd.Context(), path, asJSON, cmd.OutOrStdout()); err != nil {
						errs = append(errs, err)
					}
					continue
				}
				in, err := sniff(path)
				if err == nil {
					err = in.Inspect(cmd.Context(), path, asJSON, cmd.OutOrStdout())
				}
				if err != nil {
					if !strings.Contains(err.Error(), path) {
						err = fmt.Errorf("%s: %w", path, err)
					}
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per file")
	rootCmd.AddCommand(cmd)
}

// sniff picks the inspector that recognises path from its name and first
// bytes.
func sniff(path string) (ingest.Inspector, error) {
	f, err := os.Open(path)
	if err != nil {
		return ingest.Inspector{}, err
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return ingest.Inspector{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, in := range ingest.Inspectors() {
		if in.Sniff(path, head[:n]) {
			return in, nil
		}
	}
	return ingest.Inspector{}, fmt.Errorf("%s: not a format medmd reads (DICOM, NIfTI, JATS .nxml, PMC .tar.gz)", path)
}

// isDICOMContainer reports whether path is a folder or a .zip/.tar(.gz)
// archive, which inspect reads as a set of DICOM files.
func isDICOMContainer(path string) bool {
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

// inspectDICOMSet reads every series of a folder or archive
// (dicom.ReadImages decodes them, proving the pixels readable) and prints
// one line (or JSON object) per series and per file that made no volume.
// Files that could not be read make it return an error.
func inspectDICOMSet(ctx context.Context, path string, asJSON bool, w io.Writer) error {
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
