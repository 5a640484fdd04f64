package main

import (
	"fmt"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/spf13/cobra"
)

func init() {
	var o dicom.ConvertOptions
	var native bool
	cmd := &cobra.Command{
		Use:   "dicom2nii IN_DIR OUT_DIR",
		Short: "Convert every DICOM series under IN_DIR to a .nii.gz plus JSON sidecar, like dcm2niix",
		Long: `dicom2nii scans IN_DIR (folders, .zip and .tar/.tar.gz archives) reading only
headers, groups images into series by dcm2niix's rules (series UID, orientation,
size, echo, image type), orders slices along the slice normal, and writes one
NIfTI-1 volume and one JSON sidecar per volume into OUT_DIR. CT values are in
Hounsfield units. Localizers and derived secondary captures are skipped unless
asked for. Files in unsupported transfer syntaxes (JPEG-LS, JPEG 2000, 12-bit
JPEG) and broken files are listed by name with the reason. A folder without
any DICOM series is an error (as in dcm2niix), saying how many files were
looked at.`,
		Example: `  medmd dicom2nii testdata/dicom out/nifti
  medmd dicom2nii study.zip out/study --no-gzip
  medmd dicom2nii study.zip out/study -f %p_%s
  medmd dicom2nii /data/ct out/ct --native --localizers`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Canonical = !native
			rep, err := dicom.Convert(cmd.Context(), args[0], args[1], o)
			if rep != nil {
				rep.Print(cmd.OutOrStdout())
			}
			if err != nil {
				return fmt.Errorf("dicom2nii %s: %w", args[0], err)
			}
			if rep.SeriesN == 0 {
				return fmt.Errorf("dicom2nii %s: no DICOM series found among %d files (%d skipped as not DICOM, without pixels or excluded, %d unreadable); nothing written",
					args[0], rep.Files, len(rep.Skipped), len(rep.Failed))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.Scan.IncludeLocalizers, "localizers", false, "also convert localizer/scout images")
	cmd.Flags().BoolVar(&o.Scan.IncludeDerived, "derived", false, "also convert derived secondary captures")
	cmd.Flags().BoolVar(&native, "native", false, "keep the acquisition voxel order (default: canonical RAS)")
	cmd.Flags().StringVarP(&o.NameTemplate, "filename", "f", "", "output file name template, like dcm2niix's -f (default <series number>_<description>_<hash>):\n"+dicom.NameTemplateHelp)
	cmd.Flags().BoolVar(&o.NoGzip, "no-gzip", false, "write .nii instead of .nii.gz")
	rootCmd.AddCommand(cmd)
}
