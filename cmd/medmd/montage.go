package main

import (
	"fmt"
	"strings"

	"github.com/medmd/medmd/ingest/load"
	"github.com/medmd/medmd/internal/montage"
	"github.com/spf13/cobra"
)

func init() {
	var (
		out  string
		o    montage.Options
		spec load.Spec
	)
	cmd := &cobra.Command{
		Use:   "montage INPUT -o OUT.png",
		Short: "Draw a volume as a PNG grid of evenly spaced, labelled slices",
		Long: `montage draws one picture of a volume: up to --tiles evenly spaced slices in a
grid, each labelled with its slice index, windowed for display.

INPUT is a NIfTI file (.nii, .nii.gz, .hdr), a folder or .zip/.tar of DICOM
files (--series picks the series when there are several), or a corpus
manifest.json (or its folder) with --id SAMPLE_ID [--image K].

Volumes are shown in canonical RAS in the radiological convention: axial
slices with anterior up and the patient's right on the image's left, coronal
with superior up and right on the left, sagittal with superior up and
anterior on the left (--neurological puts the right on the right). Pixels are
made square from the voxel spacing. The window is --level/--width when given,
uint8 data as is, else the 0.5–99.5 percentiles of the volume. 2D images
without geometry are shown as stored.`,
		Example: `  medmd montage testdata/nifti/anatomical.nii -o brain.png
  medmd montage testdata/nifti/aniso_vox.nii.gz --plane coronal --tiles 9 -o cor.png
  medmd montage testdata/dicom/mr-brain-20 -o dicom.png
  medmd montage ct.nii.gz --level 40 --width 400 -o ct.png          # CT soft tissue
  medmd montage out/nifti-sample/manifest.json --id ID --image 0 -o sample.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("montage: -o OUT.png is required")
			}
			if cmd.Flags().Changed("level") != cmd.Flags().Changed("width") {
				return fmt.Errorf("montage: give --level and --width together")
			}
			if !strings.HasSuffix(strings.ToLower(out), ".png") {
				return fmt.Errorf("montage: output %s: want a .png name", out)
			}
			rep, err := load.WriteMontage(cmd.Context(), args[0], out, spec, o)
			if err != nil {
				return fmt.Errorf("montage: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), rep.Line(out, o.Plane))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "PNG file to write (required)")
	f.StringVar(&o.Plane, "plane", montage.Axial, "axial, coronal or sagittal")
	f.IntVar(&o.Tiles, "tiles", montage.DefaultTiles, "most slices to show")
	f.IntVar(&o.Columns, "columns", 0, "grid columns (0: square-ish grid)")
	f.Float64Var(&o.Level, "level", 0, "window centre (with --width)")
	f.Float64Var(&o.Width, "width", 0, "window width (with --level); default: 0.5–99.5 percentile window")
	f.IntVar(&o.TileSize, "tile-size", 0, "longer side of a tile in pixels (0: natural size within 128…512)")
	f.BoolVar(&o.Native, "native", false, "one pixel per voxel (no square-pixel correction or scaling)")
	f.BoolVar(&o.Neurological, "neurological", false, "patient's right on the image's right")
	f.BoolVar(&o.NoLabels, "no-labels", false, "leave out slice numbers")
	f.StringVar(&spec.ID, "id", "", "sample id (INPUT is a manifest)")
	f.IntVar(&spec.Image, "image", 0, "image index within the sample (INPUT is a manifest)")
	f.IntVar(&spec.Series, "series", 0, "DICOM series index (INPUT is a DICOM folder)")
	f.IntVar(&spec.Volume, "volume", 0, "volume index of a 4D NIfTI file or DICOM series")
	rootCmd.AddCommand(cmd)
}
