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
	var o ingest.InspectOptions
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Show what medmd reads from a DICOM file, folder, zip or tar, NIfTI, JATS (.nxml) or PMC package",
		Long: `inspect prints what medmd reads from each input: the header fields and
decoded pixel facts of a DICOM or NIfTI file, the text and figures of a JATS
article or PMC package. A folder, .zip or .tar(.gz) is read as DICOM, like
montage and dicom2nii: one line per assembled series (modality, size,
spacing, files) and one per file that could not be read. The exit status is
non-zero when any input or file in it could not be read.

DICOM identifiers are shown as the pipeline writes them: Study, Series, SOP
Instance and Frame of Reference UIDs as keyed 2.25 UIDs (MEDMD_PSEUDONYM_KEY),
series IDs as plans and quarantine records carry them. Patient names and IDs
are never printed: the patient appears as its keyed pseudonym, descriptions
are cleaned of the header's identifying values and path segments that name
the patient are pseudonymised. --show-identifiers prints the original UIDs,
for a user reading their own files on their own machine.`,
		Example: `  medmd inspect testdata/nifti/anatomical.nii
  medmd inspect --json article.nxml
  medmd inspect testdata/dicom/            # every series of a folder
  medmd inspect study.zip
  medmd inspect --show-identifiers scan.dcm   # original UIDs, on your own machine`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A bad file is reported and the rest are still inspected
			// (`medmd inspect dir/*` on an archive with one broken file);
			// the exit status says something failed.
			var errs []error
			for _, path := range args {
				if load.IsDICOMSet(path) {
					if err := load.InspectDICOMSet(cmd.Context(), path, o, cmd.OutOrStdout()); err != nil {
						errs = append(errs, err)
					}
					continue
				}
				in, err := ingest.Sniff(path)
				if err == nil {
					err = in.Inspect(cmd.Context(), path, o, cmd.OutOrStdout())
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
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON object per file")
	cmd.Flags().BoolVar(&o.ShowIdentifiers, "show-identifiers", false, "print the original DICOM UIDs instead of the pipeline's keyed pseudonyms (patient names and IDs are never printed)")
	rootCmd.AddCommand(cmd)
}
