package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/load"
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
				if load.IsDICOMSet(path) {
					if err := load.InspectDICOMSet(cmd.Context(), path, asJSON, cmd.OutOrStdout()); err != nil {
						errs = append(errs, err)
					}
					continue
				}
				in, err := ingest.Sniff(path)
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
