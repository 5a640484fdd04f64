package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/medmd/medmd/ingest"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func init() {
	var file, report string
	var task, tasks optInt
	var workers int
	var mergeOnly, rebuild bool
	cmd := &cobra.Command{
		Use:   "run [PIPELINE...]",
		Short: "Run the pipelines declared in pipelines.yaml (all of them by default)",
		Long: `run plans each pipeline's inputs into shards and builds them. With no
arguments it runs every pipeline of pipelines.yaml in file order; the bundled
file builds a small sample corpus from testdata/ into out/.

Shards already built are skipped once their files are checked against their
stats (sizes and SHA-256); a missing or changed file gets its shard rebuilt,
so an interrupted or damaged run is resumed or repaired by running it again
(--rebuild rebuilds every shard of the task). To scale out, start N tasks
with --task I --tasks N (or let a Kubernetes Indexed Job's
JOB_COMPLETION_INDEX + MEDMD_TASKS, or a Slurm array's
SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, say which): each builds only its
own shards, and whichever task finds every shard done writes manifest.json.
--merge writes the manifest from finished shards without building anything.

Bad inputs are quarantined (OUT/quarantine.jsonl: unit, stage, error) and the
run goes on; it exits non-zero when the quarantined fraction of the whole
corpus (every done shard, whichever task built it) is past the pipeline's
max_failure_fraction, when a source finds no input at all, and with status
130 on Ctrl-C (finished shards are kept; a rerun resumes).`,
		Example: `  medmd run
  medmd run nifti-sample --workers 2
  medmd run -f my-pipelines.yaml ct-archive --task 0 --tasks 3
  medmd run -f my-pipelines.yaml ct-archive --merge
  medmd run nifti-sample --report run.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if workers < 1 {
				return fmt.Errorf("--workers %d: need at least 1", workers)
			}
			if tasks.set && tasks.v < 1 {
				return fmt.Errorf("--tasks %d: need at least 1", tasks.v)
			}
			if task.set && task.v < 0 {
				return fmt.Errorf("--task %d: tasks are numbered from 0", task.v)
			}
			cfg, err := ingest.LoadConfig(file)
			if err != nil {
				return err
			}
			pipes, err := cfg.Select(args)
			if err != nil {
				return err
			}
			ti, tn, err := ingest.TaskFromEnv(task.get(-1), tasks.get(0), os.Getenv)
			if err != nil {
				return err
			}
			interactive := isTerminal(os.Stderr) && os.Getenv("CI") == ""
			err = ingest.RunPipelines(cmd.Context(), cfg.BaseDir, pipes, ingest.RunAllOptions{
				RunOptions: ingest.RunOptions{Task: ti, Tasks: tn, Workers: workers, Progress: os.Stderr, Interactive: interactive, Rebuild: rebuild},
				MergeOnly:  mergeOnly, Report: report, Out: cmd.OutOrStdout(), Warn: os.Stderr})
			if errors.Is(err, ingest.ErrInterrupted) {
				return &exitError{code: exitInterrupted, err: err}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "pipelines.yaml", "pipelines file")
	cmd.Flags().Var(&task, "task", "this task's index, 0..tasks-1 (default: from the environment, else 0)")
	cmd.Flags().Var(&tasks, "tasks", "number of tasks the shards are split over (default: from the environment, else 1)")
	cmd.Flags().IntVar(&workers, "workers", runtime.NumCPU(), "units read concurrently (at least 1)")
	cmd.Flags().BoolVar(&mergeOnly, "merge", false, "only write manifest.json from finished shards")
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "rebuild this task's shards even when they are done and intact")
	cmd.Flags().StringVar(&report, "report", "", "also write a JSON report (per pipeline: shards, units, samples, quarantined, dropped by reason, bytes, seconds)")
	rootCmd.AddCommand(cmd)
}

// optInt is an int flag that knows whether it was given, so its help
// shows one default (the environment's) and an explicit 0 can be refused.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer")
	}
	o.v, o.set = v, true
	return nil
}

func (o *optInt) Type() string { return "int" }

// get returns the value, or def when the flag was not given.
func (o *optInt) get(def int) int {
	if !o.set {
		return def
	}
	return o.v
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// manifestArg resolves a verb's corpus manifest from its positional
// argument and the deprecated --manifest flag; giving two different ones
// is an error.
func manifestArg(args []string, flag string) (string, error) {
	if len(args) == 0 {
		return flag, nil
	}
	if flag != "" && flag != args[0] {
		return "", fmt.Errorf("two manifests given: %s and --manifest %s", args[0], flag)
	}
	return args[0], nil
}
