package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/medmd/medmd/shards"
)

// ErrInterrupted is what RunPipelines returns when its context is
// cancelled during a run (Ctrl-C): the shards finished so far are kept.
var ErrInterrupted = errors.New("interrupted: the shards finished so far are kept and nothing partial is visible; rerun the same command to resume")

// Select returns the pipelines named, in the order given, or every
// pipeline of the file in file order when names is empty.
func (c *Config) Select(names []string) ([]*Pipeline, error) {
	if len(names) == 0 {
		return c.Pipelines, nil
	}
	var pipes []*Pipeline
	for _, name := range names {
		p, err := c.Pipeline(name)
		if err != nil {
			return nil, err
		}
		pipes = append(pipes, p)
	}
	return pipes, nil
}

// RunAllOptions control RunPipelines.
type RunAllOptions struct {
	RunOptions
	// MergeOnly writes each pipeline's manifest from finished shards and
	// builds nothing.
	MergeOnly bool
	// Report, when not "", is the JSON report written at the end (and on
	// failure): per pipeline what the run did, and the grand total.
	Report string
	// Out receives the summary lines; Warn the pseudonym-key warning.
	Out, Warn io.Writer
}

// RunPipelines builds every pipeline of pipes (`medmd run`), one after the
// other, printing each one's summary to o.Out and, for several, a total
// line. Every pipeline is built before any runs, so a bad value in the
// last one is reported before the first one runs. A pipeline past its
// max_failure_fraction (ErrTooManyFailures) does not stop the others; its
// error is returned at the end. A cancelled ctx returns ErrInterrupted.
func RunPipelines(ctx context.Context, baseDir string, pipes []*Pipeline, o RunAllOptions) error {
	type built struct {
		src    Source
		stages []NamedStage
	}
	var builds []built
	var buildErrs []error
	for _, p := range pipes {
		src, stages, err := p.Build(baseDir)
		buildErrs = append(buildErrs, err)
		builds = append(builds, built{src, stages})
	}
	defer func() {
		for _, b := range builds {
			if c, ok := b.src.(io.Closer); ok {
				c.Close()
			}
		}
	}()
	if err := errors.Join(buildErrs...); err != nil {
		return err
	}
	if w := PseudonymWarning(pipes, shards.PseudonymKeyed()); w != "" && !o.MergeOnly {
		fmt.Fprintln(o.Warn, w)
	}
	var sums []*Summary
	var reports []PipelineReport
	writeReport := func() error {
		if o.Report == "" {
			return nil
		}
		b, err := json.MarshalIndent(map[string]any{"pipelines": reports, "total": Total(sums)}, "", "  ")
		if err != nil {
			return err
		}
		return shards.PublishBytes(nil, o.Report, append(b, '\n'))
	}
	var failed error
	for i, p := range pipes {
		src, stages := builds[i].src, builds[i].stages
		plan, err := MakePlan(ctx, p, src)
		if err != nil {
			return errors.Join(err, writeReport())
		}
		if o.MergeOnly {
			path, corpus, err := Merge(plan)
			if path != "" {
				fmt.Fprintf(o.Out, "%s\n  wrote %s\n", WrapLine(fmt.Sprintf("%s: corpus: %s", p.Name, corpus), "    ", SummaryWidth), path)
			}
			if errors.Is(err, ErrTooManyFailures) {
				failed = errors.Join(failed, err)
				continue
			}
			if err != nil {
				return err
			}
			continue
		}
		sum, err := Run(ctx, plan, src, stages, o.RunOptions)
		if sum != nil {
			fmt.Fprintln(o.Out, sum)
			sums = append(sums, sum)
			reports = append(reports, sum.Report(err))
		}
		if ctx.Err() != nil {
			return errors.Join(ErrInterrupted, writeReport())
		}
		if errors.Is(err, ErrTooManyFailures) {
			failed = errors.Join(failed, err) // report, then go on with the other pipelines
			continue
		}
		if err != nil {
			return errors.Join(err, writeReport())
		}
	}
	if len(sums) > 1 {
		fmt.Fprintln(o.Out, WrapLine(fmt.Sprintf("total of %d pipelines: %s", len(sums), Total(sums)), "    ", SummaryWidth))
	}
	return errors.Join(failed, writeReport())
}

// PseudonymWarning is the one line a run prints when a selected pipeline
// handles patient ids (its source's Spec.PatientIDs) and
// MEDMD_PSEUDONYM_KEY is unset (keyed false): those ids are then only
// SHA-256 hashed, which short record numbers do not survive. Runs of other
// sources (the bundled NIfTI sample, PMC) stay quiet.
func PseudonymWarning(pipes []*Pipeline, keyed bool) string {
	if keyed {
		return ""
	}
	for _, p := range pipes {
		if e, ok := lookupSource(p.Source.Type); ok && e.spec.PatientIDs {
			return "warning: " + shards.PseudonymKeyEnv + " is unset: patient ids are hashed without a key (plain SHA-256, reversible for short ids); " +
				"set it to a secret shared by every task of the corpus (see README, Privacy)"
		}
	}
	return ""
}
