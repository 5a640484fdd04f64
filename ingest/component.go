// Package ingest plans inputs into work units, runs the staged pipelines
// declared in pipelines.yaml, and holds the registry of sources and stages.
//
// A source is one file in a subpackage (ingest/nifti, ingest/dicom,
// ingest/pmc, …) that calls RegisterSource from an init function; a stage
// wraps a pure normalize transform and calls RegisterStage. The CLI imports
// the subpackages for their side effect, so adding a component never edits
// the runner.
package ingest

import (
	"context"
	"strings"

	"github.com/medmd/medmd/shards"
)

// Unit is one planned input: a NIfTI file, a DICOM series, a PMC article, a
// range of dataset rows. Planning lists units in a stable order so that shard
// assignment never depends on how many tasks run them.
type Unit struct {
	// ID is stable across runs and machines (e.g. a path relative to the
	// source root, a series UID, a PMCID).
	ID string
	// Paths are the files the unit reads (for quarantine reports).
	Paths []string
	// Bytes estimates the unit's input size, for shard packing and progress.
	Bytes int64
	// Data is source-private planning state (e.g. parsed row, series file
	// list). The runner never looks inside.
	Data any
	// Stamp changes when the unit's input changes (e.g. an object's ETag);
	// 0 when the source cannot tell. A done shard whose units' stamps
	// changed since it was built is rebuilt.
	Stamp uint64
}

// Partial is what Source.Read returns, together with the samples it could
// make, when parts of a unit were bad input (one figure of an article
// failed its checksum): the runner keeps the samples, quarantines each part
// (stage "read") and counts it under its Reason in the summary.
type Partial struct {
	Parts []Part
}

// Part is one quarantined part of a unit.
type Part struct {
	Reason string
	Err    error
}

func (p *Partial) Error() string {
	var b strings.Builder
	for i, pt := range p.Parts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(pt.Err.Error())
	}
	return b.String()
}

// PlanExcluder is implemented by sources that leave inputs out while
// planning (an older version of an article): PlanExcluded, called after
// Plan, counts them by reason, and the run summary shows them.
type PlanExcluder interface {
	PlanExcluded() map[string]int
}

// ShardedPlanner is implemented by sources whose plans run to millions of
// units (PMC's articles) and whose units have a stable numeric key (a
// PMC id). The runner calls PlanSharded instead of Plan: the source packs
// its units into shards itself, by key range, and makes a shard's units
// only when they are asked for. A plan then costs the source's few bytes
// per unit rather than a Unit each, and a unit added or removed upstream
// changes the one shard whose key range holds it instead of shifting every
// later shard. A source that cannot plan so for its configuration returns
// an error wrapping errors.ErrUnsupported, and Plan is used.
type ShardedPlanner interface {
	PlanSharded(ctx context.Context, maxUnits int) (ShardedPlan, error)
}

// ShardedPlan is a plan a ShardedPlanner holds in its own compact form.
type ShardedPlan interface {
	// Len is the number of units.
	Len() int
	// Shards lists the non-empty shards by ascending Index, each with its
	// unit positions [First, End), which follow one another from 0 to
	// Len, and its InputBytes; the runner names them from Index. Index
	// is the shard's key range and must not depend on other shards'
	// contents, so that shard names are stable across plans.
	Shards() []PlannedShard
	// Units makes the units at positions [first, end), in plan order,
	// with distinct IDs. The caller owns the slice.
	Units(first, end int) []Unit
}

// SideReporter is implemented by sources that describe what they did to
// the whole corpus (the DICOM source's de-identification report): after
// the manifest, the runner publishes each file beside it, and the line
// ends the run summary. Called after Plan; files must not depend on which
// task calls it.
type SideReporter interface {
	SideReports() (files map[string][]byte, summary string)
}

// Source plans and reads one kind of input. A source that keeps files or
// connections between reads (local copies of archives) also implements
// io.Closer: `medmd run` closes it when its runs are over.
type Source interface {
	// Plan lists the units in a stable order. It must not read bulk data
	// (pixels, voxels): planning a million files has to stay cheap.
	Plan(ctx context.Context) ([]Unit, error)
	// Read turns one unit into samples. An error means the unit is bad
	// input: the runner quarantines it (unit, stage "read", error) and goes
	// on. Errors should name the file and the reason. Two errors are not
	// failures: a *normalize.DropError declines the whole unit (counted
	// under its reason, as a stage's drop is), and a *Partial comes with
	// the samples of a unit that was partly bad.
	Read(ctx context.Context, u Unit) ([]shards.Sample, error)
}

// Stage transforms one sample in place. To drop a sample it returns a
// *normalize.DropError (errors.As); any other error quarantines the sample.
// Stages are called concurrently from several workers on different samples
// and must not share mutable state.
type Stage interface {
	Apply(ctx context.Context, s *shards.Sample) error
}

// SourceFactory builds a source from validated, defaulted parameters.
// baseDir is the folder of the pipelines file; relative paths in params are
// resolved against it.
type SourceFactory func(p Params, baseDir string) (Source, error)

// StageFactory builds a stage from validated, defaulted parameters.
type StageFactory func(p Params) (Stage, error)

// Inspector prints what medmd reads from one input file (medmd inspect).
type Inspector struct {
	// Name is the format, e.g. "nifti", "dicom", "jats".
	Name string
	// Sniff reports whether the file is this format, from its path and its
	// first bytes (at most 1024; fewer for short files).
	Sniff func(path string, head []byte) bool
	// Inspect writes a human summary, or one JSON object under o.JSON.
	Inspect func(ctx context.Context, path string, o InspectOptions, w Writer) error
}

// InspectOptions control what `medmd inspect` prints.
type InspectOptions struct {
	// JSON prints one JSON object per file instead of a human summary.
	JSON bool
	// ShowIdentifiers prints the original DICOM UIDs, for a user on their
	// own machine; by default they are the keyed pseudonyms the pipeline
	// writes (MEDMD_PSEUDONYM_KEY). Patient names and IDs are never
	// printed either way.
	ShowIdentifiers bool
}

// Writer is the io.Writer subset inspectors use (kept local so inspectors
// need not import io just for this).
type Writer interface {
	Write(p []byte) (int, error)
}
