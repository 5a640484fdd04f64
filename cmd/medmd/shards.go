package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
	"github.com/spf13/cobra"
)

func init() {
	root := &cobra.Command{
		Use:   "shards",
		Short: "Inspect, verify and export a shard corpus (ls, stats, verify, head, export)",
		Example: `  medmd shards stats out/nifti-sample/manifest.json
  medmd shards head out/nifti-sample --json -n 3`,
	}
	root.AddCommand(&cobra.Command{
		Use:     "ls MANIFEST",
		Short:   "List the shards and part files of a corpus",
		Example: `  medmd shards ls out/nifti-sample/manifest.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := shards.OpenCorpus(args[0])
			if err != nil {
				return err
			}
			return m.WriteListing(os.Stdout)
		},
	})
	var statsJSON bool
	stats := &cobra.Command{
		Use:   "stats MANIFEST",
		Short: "Totals and sample counts per source and per task",
		Example: `  medmd shards stats out/nifti-sample/manifest.json
  medmd shards stats out/nifti-sample --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := shards.OpenCorpus(args[0])
			if err != nil {
				return err
			}
			if statsJSON {
				return json.NewEncoder(os.Stdout).Encode(map[string]any{
					"pipeline": m.Pipeline, "config_hash": m.ConfigHash, "schema_version": m.SchemaVersion, "parquet": m.ParquetLayout(),
					"shards": len(m.Shards), "samples": m.Samples, "images": m.Images, "bytes": m.Bytes,
					"sources": m.Sources, "tasks": m.Tasks,
				})
			}
			return m.WriteStats(os.Stdout)
		},
	}
	stats.Flags().BoolVar(&statsJSON, "json", false, "print one JSON object")
	root.AddCommand(stats)
	root.AddCommand(&cobra.Command{
		Use:   "verify MANIFEST",
		Short: "Re-hash every shard file and compare with the manifest; list every problem",
		Long: `verify re-hashes every file the manifest lists and reports every missing
file, size and checksum mismatch (not just the first), then how to repair:
rerunning the pipeline that built the corpus rebuilds exactly the damaged
shards ('medmd run PIPELINE', with the same -f and --task/--tasks).`,
		Example: `  medmd shards verify out/nifti-sample/manifest.json
  medmd shards verify out/nifti-sample`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := shards.OpenCorpus(args[0])
			if err != nil {
				return err
			}
			if probs := m.Problems(); len(probs) > 0 {
				for _, p := range probs {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				return &joinedError{probs: probs, msg: fmt.Sprintf("verify %s: %d problem(s) in %d shards; to repair, rerun the pipeline that built it: medmd run %s (same -f and --task/--tasks; damaged shards are rebuilt, or add --rebuild to rebuild all)",
					args[0], len(probs), len(m.Shards), m.Pipeline)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d shards, %d files, %d samples verified (parquet: %s)\n", len(m.Shards), len(m.Files()), m.Samples, m.ParquetLayout())
			return nil
		},
	})
	var headJSON bool
	var headN int
	head := &cobra.Command{
		Use:   "head MANIFEST",
		Short: "Print the first samples without voxel bytes (--json: one object per line)",
		Example: `  medmd shards head out/nifti-sample/manifest.json
  medmd shards head out/nifti-sample --json -n -1 | jq -r .id`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := shards.OpenCorpus(args[0])
			if err != nil {
				return err
			}
			n := 0
			enc := json.NewEncoder(os.Stdout)
			for s, err := range m.Iter(cmd.Context()) {
				if err != nil {
					return err
				}
				if headN >= 0 && n >= headN {
					break
				}
				n++
				sum := shards.Summarize(&s)
				if headJSON {
					if err := enc.Encode(sum); err != nil {
						return err
					}
					continue
				}
				fmt.Printf("%s  %s/%s  group=%s split=%s\n", sum.ID, sum.Source, sum.Task, sum.Group, sum.Split)
				for k, im := range sum.Images {
					fmt.Printf("  image %d: %s %s %s %v sha256=%.16s…\n", k, im.Modality, im.Plane, im.DType, im.Shape, im.VoxelSHA256)
				}
				if sum.Instruction != "" {
					fmt.Printf("  instruction: %q\n", shardsClip(sum.Instruction, 160))
				}
				if sum.Response != "" {
					fmt.Printf("  response:    %q\n", shardsClip(sum.Response, 160))
				}
			}
			return nil
		},
	}
	head.Flags().BoolVar(&headJSON, "json", false, "print one JSON object per sample")
	head.Flags().IntVarP(&headN, "n", "n", 10, "number of samples (-1: all)")
	root.AddCommand(head)
	var id, out string
	var image int
	export := &cobra.Command{
		Use:   "export MANIFEST --id ID [--image K] -o OUT.nii.gz",
		Short: "Write one stored image back out as NIfTI with its affine",
		Example: `  medmd shards export out/nifti-sample/manifest.json --id ID -o sample.nii.gz
  medmd shards export out/dicom-sample --id ID --image 1 -o second.nii.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" || out == "" {
				return fmt.Errorf("export: --id and -o are required")
			}
			m, err := shards.OpenCorpus(args[0])
			if err != nil {
				return err
			}
			s, err := m.FindSample(cmd.Context(), id)
			if err != nil {
				return err
			}
			if image < 0 || image >= len(s.Images) {
				return fmt.Errorf("export: sample %s has %d images, no image %d", id, len(s.Images), image)
			}
			im := &s.Images[image]
			stored := im.DType
			// NIfTI-1 has no float16: widen it (exactly).
			normalize.WidenFloat16(im)
			if err := nifti.WriteFile(out, im); err != nil {
				return err
			}
			note := ""
			if im.DType != stored {
				note = fmt.Sprintf(", %s stored as %s", stored, im.DType)
			}
			fmt.Printf("wrote %s (sample %s image %d%s)\n", out, id, image, note)
			return nil
		},
	}
	export.Flags().StringVar(&id, "id", "", "sample id")
	export.Flags().IntVar(&image, "image", 0, "image index within the sample")
	export.Flags().StringVarP(&out, "output", "o", "", "output .nii or .nii.gz")
	export.Flags().StringVar(&out, "out", "", "the output file, as -o/--output")
	export.Flags().MarkDeprecated("out", "use -o/--output, like every other verb")
	root.AddCommand(export)
	rootCmd.AddCommand(root)
}

// shardsClip shortens s to at most n runes for terminal output.
func shardsClip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// joinedError is one line for the user about problems listed already,
// which errors.Is and errors.As still reach (e.g. shards.ErrChecksum).
type joinedError struct {
	msg   string
	probs []error
}

func (e *joinedError) Error() string   { return e.msg }
func (e *joinedError) Unwrap() []error { return e.probs }
