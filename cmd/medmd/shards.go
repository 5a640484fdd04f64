package main

import (
	"fmt"
	"os"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/load"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
	"github.com/spf13/cobra"
)

func init() {
	root := &cobra.Command{
		Use:   "shards",
		Short: "Inspect, verify, stage and export a shard corpus (ls, stats, verify, stage, head, export)",
		Example: `  medmd shards stats out/nifti-sample/manifest.json
  medmd shards head out/nifti-sample --json -n 3`,
	}
	root.AddCommand(&cobra.Command{
		Use:   "ls MANIFEST",
		Short: "List the shards and part files of a corpus",
		Example: `  medmd shards ls out/nifti-sample/manifest.json
  medmd shards ls 's3://my-bucket/corpora/ct-archive?region=eu-west-1'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ingest.OpenCorpus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			return c.WriteListing(os.Stdout)
		},
	})
	var statsJSON bool
	stats := &cobra.Command{
		Use:   "stats MANIFEST",
		Short: "Totals and sample counts per source and per task",
		Example: `  medmd shards stats out/nifti-sample/manifest.json
  medmd shards stats out/nifti-sample --json
  medmd shards stats 's3://my-bucket/corpora/ct-archive?region=eu-west-1'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := ingest.OpenCorpus(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			if statsJSON {
				return c.WriteStatsJSON(os.Stdout)
			}
			return c.WriteStats(os.Stdout)
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
shards ('medmd run PIPELINE', with the same -f and --task/--tasks).

A corpus written to object storage is verified in place: give its URL
(the output.dir of the pipeline, or its manifest.json), with the same
connection parameters and credentials as the run. Its objects are
streamed; each Arrow part passes through a temporary file.`,
		Example: `  medmd shards verify out/nifti-sample/manifest.json
  medmd shards verify out/nifti-sample
  medmd shards verify 's3://my-bucket/corpora/ct-archive?region=eu-west-1'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ingest.VerifyCorpus(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	})
	var stageDir string
	stage := &cobra.Command{
		Use:   "stage URL [-o DIR]",
		Short: "Copy a corpus from object storage to local disk, checked, for the tools that map shards",
		Long: `stage copies the corpus that medmd run wrote to a bucket (its folder's URL
or its manifest.json's) to DIR (default: a folder of the user's cache named
by the URL) and prints the local manifest's path. Each shard's files are
checked against the manifest's sizes and SHA-256s before its stats file is
written, and the manifest goes last, so an interrupted copy is resumed by
running it again, and shards already copied are not downloaded again.
head, export, serve and train stage a corpus given by URL by themselves, into
the default folder (train: --stage DIR); stage ahead of them to choose the
folder or to copy while nothing else waits.`,
		Example: `  medmd shards stage 's3://my-bucket/corpora/ct-archive?region=eu-west-1' -o /scratch/ct-archive
  medmd shards head "$(medmd shards stage s3://my-bucket/corpora/ct-archive)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, local, err := storage.ParseRoot(args[0]); err == nil && local != "" {
				return fmt.Errorf("stage: %s is on local disk and needs no staging; give an object-store URL (s3://, gs://, azblob://)", args[0])
			}
			st, err := ingest.StageCorpus(cmd.Context(), args[0], ingest.StageOptions{Dir: stageDir,
				Progress: os.Stderr, Interactive: isTerminal(os.Stderr) && os.Getenv("CI") == ""})
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, st)
			fmt.Fprintln(cmd.OutOrStdout(), st.Manifest)
			return nil
		},
	}
	stage.Flags().StringVarP(&stageDir, "output", "o", "", "folder to copy the corpus into (default: the user's cache)")
	root.AddCommand(stage)
	var headJSON bool
	var headN int
	head := &cobra.Command{
		Use:   "head MANIFEST",
		Short: "Print the first samples without voxel bytes (--json: one object per line)",
		Long: `head prints the first samples of a corpus, without their voxel bytes. A corpus
in a bucket (its folder's URL or its manifest.json's) is read from a local copy
of the shards that hold those samples, staged as 'medmd shards stage' does into
the user's cache.`,
		Example: `  medmd shards head out/nifti-sample/manifest.json
  medmd shards head out/nifti-sample --json -n -1 | jq -r .id
  medmd shards head 's3://my-bucket/corpora/ct-archive?region=eu-west-1' -n 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if headN == 0 {
				return nil
			}
			// A corpus in a bucket: only the shards that hold the first
			// samples are staged.
			st, err := stageCorpus(cmd, args[0], ingest.StageOptions{Pick: ingest.FirstSamples(headN)})
			if err != nil {
				return err
			}
			m := st.Corpus
			if m == nil {
				if m, err = shards.OpenCorpus(st.Manifest); err != nil {
					return err
				}
			}
			return m.WriteHead(cmd.Context(), os.Stdout, shards.HeadOptions{N: headN, JSON: headJSON})
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
		Long: `export writes one stored image back out as NIfTI, with its affine. From a
corpus in a bucket it stages the one shard that holds the sample, found from
the id column of each shard's Parquet part (ranged reads, no voxel bytes), as
'medmd shards stage' does into the user's cache (a later export, head or train
reuses the copy); a corpus written with parquet: none is staged whole.`,
		Example: `  medmd shards export out/nifti-sample/manifest.json --id ID -o sample.nii.gz
  medmd shards export out/dicom-sample --id ID --image 1 -o second.nii.gz
  medmd shards export 's3://my-bucket/corpora/ct-archive?region=eu-west-1' --id ID -o ct.nii.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" || out == "" {
				return fmt.Errorf("export: --id and -o are required")
			}
			// A corpus in a bucket: only the shard that holds the
			// sample is staged.
			st, err := stageCorpus(cmd, args[0], ingest.StageOptions{Pick: ingest.SampleShard(id)})
			if err != nil {
				return err
			}
			m := st.Corpus
			if m == nil {
				if m, err = shards.OpenCorpus(st.Manifest); err != nil {
					return err
				}
			}
			note, err := load.ExportNIfTI(cmd.Context(), m, id, image, out)
			if err != nil {
				return err
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

// stageCorpus returns a corpus given on the command line on local disk:
// as it is, or, for an object-store URL, staged (ingest.StageCorpus) with
// progress on a terminal and a summary line on stderr.
func stageCorpus(cmd *cobra.Command, corpus string, o ingest.StageOptions) (*ingest.Staged, error) {
	o.Progress, o.Interactive = os.Stderr, isTerminal(os.Stderr) && os.Getenv("CI") == ""
	st, err := ingest.StageCorpus(cmd.Context(), corpus, o)
	if err != nil {
		return nil, err
	}
	if st.Dir != "" {
		fmt.Fprintln(os.Stderr, st)
	}
	return st, nil
}
