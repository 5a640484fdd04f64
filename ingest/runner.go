package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// RunOptions controls one task's run of a pipeline.
type RunOptions struct {
	// Task and Tasks select this task's shards (Task in [0, Tasks)).
	Task, Tasks int
	// Workers is the number of units read concurrently (default: cores).
	Workers int
	// Progress receives progress lines; nil is silent.
	Progress io.Writer
	// Interactive redraws one progress line in place (a terminal); otherwise
	// only a summary is printed.
	Interactive bool
	// Rebuild rebuilds this task's shards even when they are done and
	// intact.
	Rebuild bool
}

// Counts are what reading a set of units gave: one shard's (recorded in
// quarantine/NAME.counts.json when it is built), one run's, or a corpus's.
type Counts struct {
	Units         int            `json:"units"`
	FailedUnits   int            `json:"failed_units"` // quarantined units
	Samples       int            `json:"samples"`
	FailedSamples int            `json:"failed_samples"` // samples quarantined by stages
	Dropped       map[string]int `json:"dropped"`        // by reason
	InputBytes    int64          `json:"input_bytes"`
	// FailedBy counts the quarantined units whose error names a class
	// (QuarantineClass), by class.
	FailedBy map[string]int `json:"failed_by,omitempty"`
	// Unlicensed counts the samples written without a licence, by their
	// source (shards.Sample.Source), so the summary can say which sources
	// need a license parameter before the corpus is shared.
	Unlicensed map[string]int `json:"unlicensed,omitempty"`
}

func (c *Counts) add(o Counts) {
	c.Units += o.Units
	c.FailedUnits += o.FailedUnits
	c.Samples += o.Samples
	c.FailedSamples += o.FailedSamples
	c.InputBytes += o.InputBytes
	if c.Dropped == nil {
		c.Dropped = map[string]int{}
	}
	for k, v := range o.Dropped {
		c.Dropped[k] += v
	}
	for k, v := range o.FailedBy {
		if c.FailedBy == nil {
			c.FailedBy = map[string]int{}
		}
		c.FailedBy[k] += v
	}
	for k, v := range o.Unlicensed {
		if c.Unlicensed == nil {
			c.Unlicensed = map[string]int{}
		}
		c.Unlicensed[k] += v
	}
}

// String is "12 units (1 quarantined), 40 samples, 2 dropped [reason=2]";
// quarantined units whose errors name a class are listed by it:
// "(3 quarantined [unsupported transfer syntax 1.2.840.10008.1.2.4.90 (…)=2])".
func (c Counts) String() string {
	var drops []string
	for r, n := range c.Dropped {
		drops = append(drops, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(drops)
	var classes []string
	for k, n := range c.FailedBy {
		classes = append(classes, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(classes)
	by := ""
	if len(classes) > 0 {
		by = " [" + strings.Join(classes, " ") + "]"
	}
	line := fmt.Sprintf("%d units (%d quarantined%s), %d samples, %d dropped", c.Units, c.FailedUnits, by, c.Samples, sumCounts(c.Dropped))
	if len(drops) > 0 {
		line += " [" + strings.Join(drops, " ") + "]"
	}
	if c.FailedSamples > 0 {
		line += fmt.Sprintf(", %d samples quarantined by stages", c.FailedSamples)
	}
	return line
}

// Summary is what one task did, and where the corpus stands after it.
type Summary struct {
	Pipeline      string
	Task, Tasks   int
	ShardsBuilt   int
	ShardsSkipped int
	// ShardsRepaired counts done shards whose files were missing or
	// differed from their stats: they were rebuilt (and are in
	// ShardsBuilt).
	ShardsRepaired int
	// UploadsAborted counts the multipart uploads of this task's shards
	// left in the bucket by a run that was killed, aborted at start.
	UploadsAborted int
	// Counts are this run's (excludes shards skipped as done).
	Counts
	Elapsed time.Duration
	// Corpus sums the counts of every done shard of the plan, this task's
	// and the others'; CorpusShards says how many shards that is, of
	// PlannedShards.
	Corpus                      Counts
	CorpusShards, PlannedShards int
	// Manifest is the path of manifest.json when this task found every
	// planned shard done and wrote it; "" otherwise.
	Manifest string
	// SideReport is the summary line of the source's side reports
	// (SideReporter), written beside the manifest.
	SideReport string
}

// String is what this run did, then the corpus totals (so a rerun that
// builds nothing still shows them), wrapped to SummaryWidth columns.
func (s *Summary) String() string {
	line := fmt.Sprintf("%s: task %d/%d: %d shards built", s.Pipeline, s.Task, s.Tasks, s.ShardsBuilt)
	if s.ShardsRepaired > 0 {
		line += fmt.Sprintf(" (%d damaged: files missing or changed)", s.ShardsRepaired)
	}
	line += fmt.Sprintf(", %d already done", s.ShardsSkipped)
	if s.UploadsAborted > 0 {
		line += fmt.Sprintf(", %d uploads left by a killed run aborted", s.UploadsAborted)
	}
	line += fmt.Sprintf(" in %s", s.Elapsed.Round(time.Millisecond))
	if s.ShardsBuilt > 0 {
		line += fmt.Sprintf(", %d units at %.1f MB/s", s.Units, float64(s.InputBytes)/1e6/max(s.Elapsed.Seconds(), 1e-9))
	}
	corpus := "corpus"
	if s.CorpusShards < s.PlannedShards {
		corpus = fmt.Sprintf("corpus so far (%d of %d shards)", s.CorpusShards, s.PlannedShards)
	}
	line = WrapLine(line, "    ", SummaryWidth)
	line += "\n" + WrapLine(fmt.Sprintf("  %s: %s", corpus, s.Corpus), "    ", SummaryWidth)
	if s.Manifest != "" {
		line += "\n  wrote " + s.Manifest
	}
	if s.SideReport != "" {
		line += "\n" + WrapLine("  "+s.SideReport, "    ", SummaryWidth)
	}
	if l := unlicensedLine(s.Corpus); l != "" {
		line += "\n" + WrapLine("  "+l, "    ", SummaryWidth)
	}
	return line
}

// unlicensedLine names the sample sources of c that carry no licence:
// "no licence on 12 samples (nifti=12): set the source's license
// parameter (an SPDX identifier)"; "" when every sample has one.
func unlicensedLine(c Counts) string {
	var by []string
	for src, n := range c.Unlicensed {
		by = append(by, fmt.Sprintf("%s=%d", src, n))
	}
	if len(by) == 0 {
		return ""
	}
	sort.Strings(by)
	return fmt.Sprintf("no licence on %d samples (%s): set the source's license parameter (an SPDX identifier)",
		sumCounts(c.Unlicensed), strings.Join(by, " "))
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ErrTooManyFailures is returned (wrapped) when the quarantined fraction of
// units exceeds the pipeline's max_failure_fraction. The shards are written.
var ErrTooManyFailures = errors.New("too many inputs failed")

// Run builds this task's shards of the plan: shards already done are
// skipped, the others are built with a worker pool and published
// atomically. When every planned shard is done (always the case for a
// single task), it writes manifest.json and quarantine.jsonl.
//
// Cancelling ctx aborts the shard in progress: nothing partial becomes
// visible and a rerun completes the work.
func Run(ctx context.Context, plan *Plan, src Source, stages []NamedStage, o RunOptions) (*Summary, error) {
	p := plan.Pipeline
	if o.Tasks <= 0 {
		o.Tasks = 1
	}
	if o.Task < 0 || o.Task >= o.Tasks {
		return nil, fmt.Errorf("task %d out of range [0,%d)", o.Task, o.Tasks)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	out, err := plan.output()
	if err != nil {
		return nil, err
	}
	if err := out.fs.MkdirAll(out.path(quarantineDir)); err != nil {
		return nil, err
	}
	if err := reconcilePlan(out, plan); err != nil {
		return nil, err
	}
	start := time.Now()
	sum := &Summary{Pipeline: p.Name, Task: o.Task, Tasks: o.Tasks, Counts: Counts{Dropped: map[string]int{}}, PlannedShards: len(plan.Shards)}
	// Planning exclusions are the plan's, not a shard's: task 0 reports
	// them, so summed task summaries count them once.
	if o.Task == 0 {
		for k, v := range plan.Excluded {
			sum.Dropped[k] += v
		}
	}
	defer func() { sum.Elapsed = time.Since(start) }() // also on error: the summary is printed
	mine := plan.TaskShards(o.Task, o.Tasks)
	sum.UploadsAborted = abortLeftUploads(out, mine)
	todo, err := shardsToBuild(ctx, out, mine, o, sum)
	if err != nil {
		return sum, err
	}
	prog := newProgress(o.Progress, o.Interactive, p.Name, todo)
	defer prog.stop()
	// Each shard is published while the next one is read: publishing
	// waits on the storage (fsyncs, completed uploads), reading on the
	// sources and stages.
	var pub shards.Publisher
	for _, ps := range todo {
		publish, err := buildShard(ctx, plan, ps, src, stages, o.Workers, prog)
		if err == nil {
			err = pub.Go(func() error {
				c, err := publish()
				if err == nil {
					sum.add(c) // not read by this loop until Wait
					sum.ShardsBuilt++
				}
				return err
			})
		}
		if err != nil {
			return sum, errors.Join(err, pub.Wait())
		}
	}
	if err := pub.Wait(); err != nil {
		return sum, err
	}
	prog.stop()
	if done, err := allShardsDone(out, plan); err != nil {
		return sum, err
	} else if done {
		if sum.Manifest, err = WriteManifest(plan); err != nil {
			return sum, err
		}
		if sr, ok := src.(SideReporter); ok {
			files, line := sr.SideReports()
			for name, data := range files {
				if err := shards.PublishBytes(out.fs, out.path(name), data); err != nil {
					return sum, err
				}
			}
			sum.SideReport = line
		}
	}
	corpus, n, err := CorpusCounts(plan)
	if err != nil {
		return sum, err
	}
	sum.Corpus, sum.CorpusShards = corpus, n
	return sum, checkFailures(plan, corpus)
}

// abortLeftUploads aborts the multipart uploads of the files of shards
// mine that a killed run left in a bucket output (storage.FS.AbortUploads):
// only this task writes those files, so no other task's upload is cut
// off. A shard's files are shard-N.* at the output's top and
// quarantine/shard-N.*; a name anywhere else (another output in a folder
// below this one) is not this task's. Failing to list the uploads (a
// role allowed to write but not to list them) only skips the clean-up.
func abortLeftUploads(out *output, mine []PlannedShard) int {
	ab, ok := out.fs.(interface {
		AbortUploads(mine func(name string) bool) (int, error)
	})
	if !ok || len(mine) == 0 {
		return 0
	}
	names := make(map[string]bool, len(mine))
	for _, s := range mine {
		names[s.Name] = true
	}
	n, err := ab.AbortUploads(func(name string) bool {
		name = strings.TrimPrefix(name, quarantineDir+"/")
		shard, _, _ := strings.Cut(name, ".")
		return !strings.Contains(name, "/") && names[shard]
	})
	if err != nil {
		slog.Warn("uploads a killed run left were not aborted; a bucket lifecycle rule AbortIncompleteMultipartUpload removes them", "err", err)
	}
	return n
}

// shardsToBuild returns the shards of mine that are not done, or done but
// damaged: a stats file that cannot be read as one (shards.ErrBadStats),
// a missing file, or a size or checksum other than the stats record
// (checked with the worker pool; o.Rebuild takes every shard). Damaged
// shards are counted in sum.ShardsRepaired and named on o.Progress.
func shardsToBuild(ctx context.Context, out *output, mine []PlannedShard, o RunOptions, sum *Summary) ([]PlannedShard, error) {
	type state struct {
		done     bool
		problems []error
		err      error
	}
	var todo []PlannedShard
	err := orderedMap(ctx, len(mine), o.Workers,
		func(i int) state {
			st, done, err := out.readStats(mine[i].Name)
			switch {
			case errors.Is(err, shards.ErrBadStats) && !o.Rebuild:
				return state{done: true, problems: []error{err}}
			case errors.Is(err, shards.ErrBadStats):
				return state{}
			case err != nil || !done || o.Rebuild:
				return state{err: err}
			}
			return state{done: true, problems: out.check(st, true)}
		},
		func(i int, r state) error {
			ps := mine[i]
			switch {
			case r.err != nil:
				return fmt.Errorf("%s: %w", ps.Name, r.err)
			case r.done && len(r.problems) == 0:
				sum.ShardsSkipped++
				return nil
			case r.done:
				sum.ShardsRepaired++
				if o.Progress != nil {
					fmt.Fprintf(o.Progress, "%s: rebuilding %v\n", sum.Pipeline, errors.Join(r.problems...))
				}
			}
			todo = append(todo, ps)
			return nil
		})
	return todo, err
}

// checkFailures judges the quarantined fraction over every done shard's
// units (the corpus so far, whichever task or run built them), so a rerun
// or a retried task cannot turn a failed corpus into a success.
func checkFailures(plan *Plan, c Counts) error {
	p := plan.Pipeline
	if c.Units > 0 && float64(c.FailedUnits)/float64(c.Units) > p.MaxFailureFraction {
		return fmt.Errorf("pipeline %q: %d of %d units of the corpus quarantined (max_failure_fraction %.2f; see %s): %w",
			p.Name, c.FailedUnits, c.Units, p.MaxFailureFraction, quarantineWhere(plan), ErrTooManyFailures)
	}
	return nil
}

// CorpusCounts sums the recorded counts of every done shard of the plan
// and returns how many shards that is.
func CorpusCounts(plan *Plan) (Counts, int, error) {
	out, err := plan.output()
	if err != nil {
		return Counts{}, 0, err
	}
	c := Counts{Dropped: map[string]int{}}
	for k, v := range plan.Excluded {
		c.Dropped[k] += v
	}
	n := 0
	for _, ps := range plan.Shards {
		_, done, err := out.readStats(ps.Name)
		if err != nil && !errors.Is(err, shards.ErrBadStats) {
			return c, n, fmt.Errorf("%s: %w", ps.Name, err)
		}
		if !done { // a bad one counts once its task rebuilds it
			continue
		}
		sc, err := readCounts(out, plan, ps)
		if err != nil {
			return c, n, err
		}
		c.add(sc)
		n++
	}
	return c, n, nil
}

func countsFile(dir, name string) string {
	return filepath.Join(dir, quarantineDir, name+".counts.json")
}

// readCounts reads a done shard's counts. Shards built before counts were
// recorded get them from the plan and their quarantine file: every unit
// with a read failure counts as quarantined, and samples are the stats'.
func readCounts(out *output, plan *Plan, ps PlannedShard) (Counts, error) {
	dir := out.dir
	path := countsFile(dir, ps.Name)
	data, err := out.readFile(path)
	if err == nil {
		var c Counts
		if err := json.Unmarshal(data, &c); err != nil {
			return c, fmt.Errorf("%s: %w (delete it and the shard's .stats.json to rebuild the shard)", path, err)
		}
		return c, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Counts{}, err
	}
	c := Counts{Units: ps.End - ps.First, InputBytes: ps.InputBytes}
	if st, done, err := out.readStats(ps.Name); err == nil && done {
		c.Samples = st.Samples
	}
	q, err := out.readFile(filepath.Join(dir, quarantineDir, ps.Name+".jsonl"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	failed := map[string]bool{}
	for _, line := range strings.Split(string(q), "\n") {
		var r shards.QuarantineRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Sample == "" && r.Stage == "read" {
			failed[r.Unit] = true
		}
	}
	c.FailedUnits = len(failed)
	return c, nil
}

const quarantineDir = "quarantine"

// unitResult is everything one unit produced, kept until it is written in
// plan order.
type unitResult struct {
	samples    []*shards.Sample
	quarantine []shards.QuarantineRecord
	dropped    map[string]int
	failed     bool
	class      string // QuarantineClass of a failed read
	parts      int    // quarantine records of a Partial read (counted in dropped)
}

// buildShard reads the shard's units concurrently and writes their samples
// in plan order, so the shard's bytes never depend on scheduling. It
// returns once the shard is written (ShardWriter.Finish); publish, which
// the caller may run on another goroutine, publishes it and returns its
// counts, or aborts it.
func buildShard(ctx context.Context, plan *Plan, ps PlannedShard, src Source, stages []NamedStage, workers int, prog *progress) (publish func() (Counts, error), err error) {
	p := plan.Pipeline
	out, err := plan.output()
	if err != nil {
		return nil, err
	}
	dir := out.dir
	// Overlap: a unit's samples are its own (decoded into fresh buffers)
	// and nothing touches them after Add, so their voxels may still be
	// hashed while the next samples are written.
	w, err := shards.CreateShard(dir, ps.Name, shards.WriteOptions{MaxBytes: p.Output.MaxShardBytes, MaxSamples: p.Output.MaxShardSamples,
		Parquet: p.Output.Parquet, ParquetCompression: p.Output.ParquetCompression, FS: out.fs, Overlap: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ps.Name, err)
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	units := plan.UnitsOf(ps)
	var quarantine []shards.QuarantineRecord
	c := Counts{Dropped: map[string]int{}}
	err = orderedMap(ctx, len(units), workers,
		func(i int) unitResult { return processUnit(ctx, units[i], src, stages) },
		func(i int, r unitResult) error {
			c.Units++
			c.InputBytes += units[i].Bytes
			if r.failed {
				c.FailedUnits++
				if r.class != "" {
					if c.FailedBy == nil {
						c.FailedBy = map[string]int{}
					}
					c.FailedBy[r.class]++
				}
			} else {
				c.FailedSamples += len(r.quarantine) - r.parts
			}
			for k, v := range r.dropped {
				c.Dropped[k] += v
			}
			quarantine = append(quarantine, r.quarantine...)
			for _, s := range r.samples {
				if err := w.Add(s); err != nil {
					return fmt.Errorf("%s: unit %s: %w", ps.Name, units[i].ID, err)
				}
				c.Samples++
				if s.License == "" {
					if c.Unlicensed == nil {
						c.Unlicensed = map[string]int{}
					}
					c.Unlicensed[s.Source]++
				}
			}
			prog.add(units[i].Bytes)
			return nil
		})
	if err != nil {
		return nil, err
	}
	if err := w.Finish(); err != nil {
		return nil, fmt.Errorf("%s: %w", ps.Name, err)
	}
	return func() (Counts, error) {
		if err := publishShard(out, ps, w, quarantine, c); err != nil {
			w.Abort()
			return Counts{}, err
		}
		return c, nil
	}, nil
}

// publishShard publishes a finished shard with its quarantine records
// and counts.
func publishShard(out *output, ps PlannedShard, w *shards.ShardWriter, quarantine []shards.QuarantineRecord, c Counts) error {
	// INVARIANT: the quarantine and counts files are published before the
	// stats file, so a done shard always has its quarantine records and
	// the counts the corpus's failure fraction is judged on.
	if err := writeQuarantine(out.fs, filepath.Join(out.dir, quarantineDir, ps.Name+".jsonl"), quarantine); err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := shards.PublishBytes(out.fs, countsFile(out.dir, ps.Name), append(data, '\n')); err != nil {
		return err
	}
	if _, err := w.Publish(); err != nil {
		return fmt.Errorf("%s: %w", ps.Name, err)
	}
	return nil
}

// processUnit reads one unit and runs every sample through the stages.
// Bad input becomes quarantine records, never an error.
func processUnit(ctx context.Context, u Unit, src Source, stages []NamedStage) (r unitResult) {
	r.dropped = map[string]int{}
	defer func() {
		// A panicking parser must not take the run down: the unit is
		// quarantined like any other bad input.
		if v := recover(); v != nil {
			r = unitResult{failed: true, dropped: map[string]int{},
				quarantine: []shards.QuarantineRecord{{Unit: u.ID, Paths: u.Paths, Stage: "read", Error: fmt.Sprintf("panic: %v", v)}}}
		}
	}()
	samples, err := src.Read(ctx, u)
	var part *Partial
	var drop *normalize.DropError
	switch {
	case err == nil:
	case errors.As(err, &part):
		for _, pt := range part.Parts {
			r.dropped[pt.Reason]++
			r.quarantine = append(r.quarantine, shards.QuarantineRecord{Unit: u.ID, Paths: u.Paths, Stage: "read", Error: pt.Err.Error()})
		}
		r.parts = len(part.Parts)
	case errors.As(err, &drop):
		r.dropped[drop.Reason]++
		return r
	default:
		r.failed = true
		r.class = QuarantineClass(err)
		r.quarantine = append(r.quarantine, shards.QuarantineRecord{Unit: u.ID, Paths: u.Paths, Stage: "read", Error: err.Error()})
		return r
	}
next:
	for i := range samples {
		s := &samples[i]
		for _, st := range stages {
			if err := st.Apply(ctx, s); err != nil {
				var drop *normalize.DropError
				if errors.As(err, &drop) {
					r.dropped[drop.Reason]++
				} else {
					r.quarantine = append(r.quarantine, shards.QuarantineRecord{Unit: u.ID, Paths: u.Paths, Sample: s.ID, Stage: st.Name, Error: err.Error()})
				}
				continue next
			}
		}
		r.samples = append(r.samples, s)
	}
	return r
}

// orderedMap runs work(i) for i in [0,n) on `workers` goroutines and calls
// consume(i, result) in index order from the calling goroutine. At most
// 2×workers results are held at once, so memory does not grow with n.
func orderedMap[R any](ctx context.Context, n, workers int, work func(int) R, consume func(int, R) error) error {
	if n == 0 {
		return nil
	}
	window := 2 * workers
	slots := make([]chan R, n)
	for i := range slots {
		slots[i] = make(chan R, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := make(chan int)
	sem := make(chan struct{}, window)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				slots[i] <- work(i)
			}
		}()
	}
	go func() {
		defer close(idx)
		for i := range n {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case idx <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	for i := range n {
		var r R
		select {
		case r = <-slots[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-sem
		if err := consume(i, r); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func writeQuarantine(fsys shards.FS, path string, recs []shards.QuarantineRecord) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return shards.PublishBytes(fsys, path, []byte(b.String()))
}

// planRecord is plan.json: what each shard of the output folder was planned
// to hold. A rerun compares it with the new plan, so a shard planned over
// other inputs is rebuilt, never silently reused.
type planRecord struct {
	Pipeline   string        `json:"pipeline"`
	ConfigHash string        `json:"config_hash"`
	Shards     []plannedJSON `json:"shards"`
}

type plannedJSON struct {
	Name     string `json:"name"`
	Units    int    `json:"units"`
	UnitHash string `json:"unit_hash"`
}

func (pl *Plan) record() planRecord {
	rec := planRecord{Pipeline: pl.Pipeline.Name, ConfigHash: pl.Pipeline.Hash()}
	for _, s := range pl.Shards {
		h := sha256.New()
		for _, u := range pl.UnitsOf(s) {
			fmt.Fprintf(h, "%d:%s:%d\n", len(u.ID), u.ID, u.Bytes)
			if u.Stamp != 0 {
				fmt.Fprintf(h, "stamp:%x\n", u.Stamp)
			}
		}
		rec.Shards = append(rec.Shards, plannedJSON{Name: s.Name, Units: s.End - s.First, UnitHash: hex.EncodeToString(h.Sum(nil))})
	}
	return rec
}

// reconcilePlan refuses an output folder built under another config,
// invalidates done shards whose planned units changed, and records the plan.
func reconcilePlan(out *output, plan *Plan) error {
	dir := out.dir
	path := filepath.Join(dir, "plan.json")
	now := plan.record()
	if data, err := out.readFile(path); err == nil {
		var old planRecord
		if err := json.Unmarshal(data, &old); err != nil {
			return fmt.Errorf("%s: %w (delete the folder to start over)", path, err)
		}
		if old.ConfigHash != now.ConfigHash {
			return fmt.Errorf("%s holds shards built under another configuration of pipeline %q; delete it or set another output.dir", out.name, old.Pipeline)
		}
		nowByName := map[string]plannedJSON{}
		for _, s := range now.Shards {
			nowByName[s.Name] = s
		}
		// A shard that is no longer planned, or planned over other units,
		// loses its done mark; the build below replaces it.
		for _, o := range old.Shards {
			if n, ok := nowByName[o.Name]; !ok || n.UnitHash != o.UnitHash {
				if err := out.fs.Remove(filepath.Join(dir, o.Name+".stats.json")); err != nil {
					return err
				}
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	data, err := json.MarshalIndent(now, "", "  ")
	if err != nil {
		return err
	}
	return shards.PublishBytes(out.fs, path, append(data, '\n'))
}

// Changes compares the plan with the one recorded in its output folder:
// reuse counts the shards a run would skip (done, planned over the same
// units with the same stamps), build the shards it would build (new,
// unfinished, or whose units changed, e.g. articles updated upstream).
func (pl *Plan) Changes() (reuse, build int, err error) {
	out, err := pl.output()
	if err != nil {
		return 0, 0, err
	}
	data, err := out.readFile(out.path("plan.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, len(pl.Shards), nil
	}
	if err != nil {
		return 0, 0, err
	}
	var old planRecord
	if err := json.Unmarshal(data, &old); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", out.where("plan.json"), err)
	}
	now := pl.record()
	if old.ConfigHash != now.ConfigHash {
		return 0, len(pl.Shards), nil
	}
	oldHash := map[string]string{}
	for _, s := range old.Shards {
		oldHash[s.Name] = s.UnitHash
	}
	for _, s := range now.Shards {
		_, done, err := out.readStats(s.Name)
		if err != nil && !errors.Is(err, shards.ErrBadStats) { // a bad one is rebuilt
			return 0, 0, err
		}
		if done && oldHash[s.Name] == s.UnitHash {
			reuse++
		} else {
			build++
		}
	}
	return reuse, build, nil
}

func allShardsDone(out *output, plan *Plan) (bool, error) {
	for _, s := range plan.Shards {
		_, done, err := out.readStats(s.Name)
		if errors.Is(err, shards.ErrBadStats) {
			return false, nil // not done until its task rebuilds it
		}
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
}

// WriteManifest writes manifest.json and quarantine.jsonl for a plan whose
// shards are all done, and returns the manifest's path. It is the merge step
// after a multi-task run, and safe to repeat.
func WriteManifest(plan *Plan) (string, error) {
	out, err := plan.output()
	if err != nil {
		return "", err
	}
	dir := out.dir
	var missing []string
	var damaged []error
	for _, s := range plan.Shards {
		if st, done, err := out.readStats(s.Name); errors.Is(err, shards.ErrBadStats) {
			damaged = append(damaged, err)
		} else if err != nil {
			return "", err
		} else if !done {
			missing = append(missing, s.Name)
		} else {
			// Sizes only: a stat per file. The task that owns a shard
			// re-hashes it when it runs.
			damaged = append(damaged, out.check(st, false)...)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: %d of %d shards not built yet (%s…); run the remaining tasks first", out.name, len(missing), len(plan.Shards), missing[0])
	}
	if len(damaged) > 0 {
		return "", fmt.Errorf("%s: %d damaged shard file(s), no manifest written; rerun the pipeline (medmd run %s, or each task with --task I --tasks N) to rebuild them:\n%w",
			out.name, len(damaged), plan.Pipeline.Name, errors.Join(damaged...))
	}
	m, err := shards.BuildManifestFS(out.fs, dir, plan.Pipeline.Name, plan.Pipeline.Hash())
	if err != nil {
		return "", err
	}
	if m.ModelInput, err = plan.Pipeline.modelInput(); err != nil {
		return "", err
	}
	var q []byte
	for _, s := range plan.Shards {
		b, err := out.readFile(filepath.Join(dir, quarantineDir, s.Name+".jsonl"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		q = append(q, b...)
	}
	if err := shards.PublishBytes(out.fs, filepath.Join(dir, "quarantine.jsonl"), q); err != nil {
		return "", err
	}
	// The manifest goes last: in a bucket as on disk, a corpus with a
	// manifest is complete.
	return out.where("manifest.json"), m.WriteFS(out.fs, filepath.Join(dir, "manifest.json"))
}

// Merge is `medmd run --merge`: it writes the manifest of a plan whose
// shards are all done (WriteManifest) and judges the quarantined fraction
// over the whole corpus. The manifest is written even when the fraction is
// exceeded (the error wraps ErrTooManyFailures), as a single run does.
func Merge(plan *Plan) (string, Counts, error) {
	path, err := WriteManifest(plan)
	if err != nil {
		return "", Counts{}, err
	}
	c, _, err := CorpusCounts(plan)
	if err != nil {
		return path, c, err
	}
	return path, c, checkFailures(plan, c)
}

// PipelineReport is one pipeline's entry of `medmd run --report`: what
// this run did and the corpus it left, as JSON.
type PipelineReport struct {
	Pipeline       string  `json:"pipeline"`
	Task           int     `json:"task"`
	Tasks          int     `json:"tasks"`
	ShardsBuilt    int     `json:"shards_built"`
	ShardsSkipped  int     `json:"shards_skipped"`
	ShardsRepaired int     `json:"shards_repaired"`
	UploadsAborted int     `json:"uploads_aborted"`
	Seconds        float64 `json:"seconds"`
	Run            Counts  `json:"run"`
	Corpus         Counts  `json:"corpus"`
	CorpusShards   int     `json:"corpus_shards"`
	PlannedShards  int     `json:"planned_shards"`
	Manifest       string  `json:"manifest,omitempty"`
	// UnlicensedSamples is the summary's "no licence on N samples": the
	// corpus's samples written without a licence (by source in
	// corpus.unlicensed), always present so a script can gate sharing the
	// corpus on it being 0.
	UnlicensedSamples int `json:"unlicensed_samples"`
	// Error is the pipeline's failure ("" when it succeeded).
	Error string `json:"error,omitempty"`
}

// Report returns the summary as a PipelineReport; err is the run's error.
func (s *Summary) Report(err error) PipelineReport {
	r := PipelineReport{Pipeline: s.Pipeline, Task: s.Task, Tasks: s.Tasks, ShardsBuilt: s.ShardsBuilt, ShardsSkipped: s.ShardsSkipped,
		ShardsRepaired: s.ShardsRepaired, UploadsAborted: s.UploadsAborted, Seconds: s.Elapsed.Seconds(), Run: s.Counts, Corpus: s.Corpus,
		CorpusShards: s.CorpusShards, PlannedShards: s.PlannedShards, Manifest: s.Manifest,
		UnlicensedSamples: sumCounts(s.Corpus.Unlicensed)}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// Total sums the corpus counts of several pipelines' summaries: the grand
// total line after a multi-pipeline run.
func Total(sums []*Summary) Counts {
	t := Counts{Dropped: map[string]int{}}
	for _, s := range sums {
		t.add(s.Corpus)
	}
	return t
}
