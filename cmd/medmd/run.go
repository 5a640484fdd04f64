package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func init() {
	var file string
	var task, tasks, workers int
	var mergeOnly bool
	cmd := &cobra.Command{
		Use:   "run [PIPELINE...]",
		Short: "Run the pipelines declared in pipelines.yaml (all of them by default)",
		Long: `run plans each pipeline's inputs into shards and builds them. With no
arguments it runs every pipeline of pipelines.yaml in file order; the bundled
file builds a small sample corpus from testdata/ into out/.

Shards already built are skipped, so an interrupted run is resumed by running
it again. To scale out, start N tasks with --task I --tasks N (or let a
Kubernetes Indexed Job's JOB_COMPLETION_INDEX + MEDMD_TASKS, or a Slurm array's
SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, say which): each builds only its
own shards, and whichever task finds every shard done writes manifest.json.
--merge writes the manifest from finished shards without building anything.

Bad inputs are quarantined (OUT/quarantine.jsonl: unit, stage, error) and the
run goes on; it exits non-zero only past the pipeline's max_failure_fraction.`,
		Example: `  medmd run
  medmd run nifti-sample --workers 2
  medmd run -f my-pipelines.yaml ct-archive --task 0 --tasks 3
  medmd run -f my-pipelines.yaml ct-archive --merge`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := ingest.LoadConfig(file)
			if err != nil {
				return err
			}
			pipes := cfg.Pipelines
			if len(args) > 0 {
				pipes = nil
				for _, name := range args {
					p, err := cfg.Pipeline(name)
					if err != nil {
						return err
					}
					pipes = append(pipes, p)
				}
			}
			task, tasks, err = ingest.TaskFromEnv(task, tasks, os.Getenv)
			if err != nil {
				return err
			}
			interactive := isTerminal(os.Stderr) && os.Getenv("CI") == ""
			// Build every selected pipeline before running any, so a bad
			// value in the last one is reported before the first one runs.
			type built struct {
				src    ingest.Source
				stages []ingest.NamedStage
			}
			var builds []built
			var buildErrs []error
			for _, p := range pipes {
				src, stages, err := p.Build(cfg.BaseDir)
				buildErrs = append(buildErrs, err)
				builds = append(builds, built{src, stages})
			}
			if err := errors.Join(buildErrs...); err != nil {
				return err
			}
			if w := pseudonymWarning(pipes, shards.PseudonymKeyed()); w != "" && !mergeOnly {
				fmt.Fprintln(os.Stderr, w)
			}
			var failed error
			for i, p := range pipes {
				src, stages := builds[i].src, builds[i].stages
				plan, err := ingest.MakePlan(cmd.Context(), p, src)
				if err != nil {
					return err
				}
				if mergeOnly {
					path, err := ingest.WriteManifest(plan)
					if err != nil {
						return err
					}
					fmt.Printf("%s: wrote %s\n", p.Name, path)
					continue
				}
				sum, err := ingest.Run(cmd.Context(), plan, src, stages, ingest.RunOptions{
					Task: task, Tasks: tasks, Workers: workers, Progress: os.Stderr, Interactive: interactive})
				if sum != nil {
					fmt.Println(sum)
				}
				if errors.Is(err, ingest.ErrTooManyFailures) {
					failed = err // report, then go on with the other pipelines
					continue
				}
				if err != nil {
					return err
				}
			}
			return failed
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "pipelines.yaml", "pipelines file")
	cmd.Flags().IntVar(&task, "task", -1, "this task's index, 0..tasks-1 (default: from the environment, else 0)")
	cmd.Flags().IntVar(&tasks, "tasks", 0, "number of tasks the shards are split over (default: from the environment, else 1)")
	cmd.Flags().IntVar(&workers, "workers", runtime.NumCPU(), "units read concurrently")
	cmd.Flags().BoolVar(&mergeOnly, "merge", false, "only write manifest.json from finished shards")
	rootCmd.AddCommand(cmd)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// patientIDSources are the sources that store pseudonymised patient ids
// (DICOM PatientID, dataset patient/subject ids); labelled-mix may read them.
var patientIDSources = map[string]bool{
	"dicom": true, "mimic-cxr": true, "chexpert": true, "chestxray14": true, "labelled-mix": true,
}

// pseudonymWarning is the one line a run prints when a selected pipeline
// handles patient ids and MEDMD_PSEUDONYM_KEY is unset: those ids are then
// only SHA-256 hashed, which short record numbers do not survive. Runs of
// other sources (the bundled NIfTI sample, PMC) stay quiet.
func pseudonymWarning(pipes []*ingest.Pipeline, keyed bool) string {
	if keyed {
		return ""
	}
	for _, p := range pipes {
		if patientIDSources[p.Source.Type] {
			return "warning: " + shards.PseudonymKeyEnv + " is unset: patient ids are hashed without a key (plain SHA-256, reversible for short ids); " +
				"set it to a secret shared by every task of the corpus (see README, Privacy)"
		}
	}
	return ""
}
