package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/medmd/medmd/shards"
)

// Plan is a pipeline's work, listed before anything is read: units in a
// stable order, packed into shards. Shard k holds the same units whatever
// the number of tasks, and task i of n builds shards k with k mod n == i.
type Plan struct {
	Pipeline *Pipeline
	// Units are the planned units; nil when the source keeps a sharded
	// plan (see ShardedPlanner): read a shard's units with UnitsOf.
	Units  []Unit
	Shards []PlannedShard
	// Excluded counts inputs the source left out while planning, by reason
	// (see PlanExcluder); nil when it says nothing.
	Excluded map[string]int

	out     *output     // opened by MakePlan
	sharded ShardedPlan // the source's compact plan, or nil
}

// UnitsOf returns shard s's units; for a sharded plan they are made on
// each call, so a caller holds one shard's units at a time.
func (pl *Plan) UnitsOf(s PlannedShard) []Unit {
	if pl.sharded != nil {
		return pl.sharded.Units(s.First, s.End)
	}
	return pl.Units[s.First:s.End]
}

// UnitCount is the number of planned units.
func (pl *Plan) UnitCount() int {
	if pl.sharded != nil {
		return pl.sharded.Len()
	}
	return len(pl.Units)
}

// PlannedShard is one shard's slice of the plan.
type PlannedShard struct {
	Index      int
	Name       string // "shard-00003"
	First, End int    // Units[First:End]
	InputBytes int64
}

// Build constructs the pipeline's source and stages from the registry.
func (p *Pipeline) Build(baseDir string) (Source, []NamedStage, error) {
	e, ok := lookupSource(p.Source.Type)
	if !ok {
		return nil, nil, fmt.Errorf("pipeline %q: unknown source %q", p.Name, p.Source.Type)
	}
	src, err := e.new(p.Source.Params, baseDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: pipeline %q: source %q: %w", p.Source.Pos, p.Name, p.Source.Type, err)
	}
	var stages []NamedStage
	for i, sc := range p.Stages {
		se, ok := lookupStage(sc.Type)
		if !ok {
			return nil, nil, fmt.Errorf("pipeline %q: unknown stage %q", p.Name, sc.Type)
		}
		st, err := se.new(sc.Params)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: pipeline %q: stage %d %q: %w", sc.Pos, p.Name, i, sc.Type, err)
		}
		stages = append(stages, NamedStage{Name: sc.Type, Stage: st})
	}
	return src, stages, nil
}

// NamedStage is a built stage with the name it was declared under, used in
// quarantine records.
type NamedStage struct {
	Name string
	Stage
}

// MakePlan lists the source's units and packs them into shards (a
// ShardedPlanner packs its own).
func MakePlan(ctx context.Context, p *Pipeline, src Source) (*Plan, error) {
	var units []Unit
	var sharded ShardedPlan
	err := errors.ErrUnsupported
	if sp, ok := src.(ShardedPlanner); ok {
		sharded, err = sp.PlanSharded(ctx, p.Output.ShardUnits)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		sharded = nil
		units, err = src.Plan(ctx)
	}
	if err != nil {
		// A parameter read as a local path (one relative to root, such
		// as files: or images:) was given a URL and stat'ed as a file
		// name: say what to do instead of "no such file".
		var pe *fs.PathError
		if url := objectStorageURL(p.Source.Params); url != "" && errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) &&
			strings.Contains(pe.Path, url[:strings.Index(url, "://")+2]) {
			return nil, fmt.Errorf("pipeline %q: source %q: %s: this parameter is a local path, or one relative to root: give the bucket as root (or paths) and this parameter relative to it, or sync the objects to a local folder (e.g. with rclone) and give that path", p.Name, p.Source.Type, url)
		}
		return nil, fmt.Errorf("pipeline %q: planning: %w", p.Name, err)
	}
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		if seen[u.ID] {
			return nil, fmt.Errorf("pipeline %q: source %q planned unit %q twice", p.Name, p.Source.Type, u.ID)
		}
		seen[u.ID] = true
	}
	out, err := openOutput(ctx, p)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Pipeline: p, Units: units, out: out}
	if sharded != nil {
		if plan.Shards, err = checkSharded(sharded); err != nil {
			return nil, fmt.Errorf("pipeline %q: source %q: %w", p.Name, p.Source.Type, err)
		}
		plan.sharded = sharded
	} else {
		plan.Shards = packShards(units, p.Output.ShardUnits, p.Output.ShardInputBytes)
	}
	if ex, ok := src.(PlanExcluder); ok {
		plan.Excluded = ex.PlanExcluded()
	}
	if plan.UnitCount() == 0 {
		return nil, emptyPlanError(p, plan.Excluded)
	}
	return plan, nil
}

// ErrNoInputs is returned (wrapped) when a source plans no unit at all: an
// unmounted volume or a mistyped path must not look like a finished run.
var ErrNoInputs = errors.New("no inputs found")

// locationFields are the parameters that say where a source reads from;
// an empty plan names them.
var locationFields = map[string]bool{"paths": true, "root": true, "roots": true, "files": true, "file": true, "images": true, "dir": true}

func emptyPlanError(p *Pipeline, excluded map[string]int) error {
	var where []string
	names := make([]string, 0, len(p.Source.Params))
	for k := range p.Source.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !locationFields[k] && !strings.HasSuffix(k, "csv") {
			continue
		}
		switch v := p.Source.Params[k].(type) {
		case string:
			if v != "" {
				where = append(where, fmt.Sprintf("%s: %s", k, v))
			}
		case []string:
			if len(v) > 0 {
				where = append(where, fmt.Sprintf("%s: [%s]", k, strings.Join(v, ", ")))
			}
		}
	}
	looked := ""
	if e, ok := lookupSource(p.Source.Type); ok && e.spec.Summary != "" {
		looked = "; looked for " + e.spec.Summary
	}
	msg := fmt.Sprintf("(%s%s)", strings.Join(where, "; "), looked)
	if n := sumCounts(excluded); n > 0 {
		var ex []string
		for k, v := range excluded {
			ex = append(ex, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(ex)
		msg += fmt.Sprintf("; %d inputs excluded while planning [%s]", n, strings.Join(ex, " "))
	}
	msg += "; paths are relative to the pipelines file's folder"
	return fmt.Errorf("pipeline %q: source %q: %w %s", p.Name, p.Source.Type, ErrNoInputs, msg)
}

// objectStorageURL returns the first location parameter given as an
// object-storage URL, or "".
func objectStorageURL(ps Params) string {
	for k, v := range ps {
		if !locationFields[k] {
			continue
		}
		vals, _ := v.([]string)
		if s, ok := v.(string); ok {
			vals = []string{s}
		}
		for _, s := range vals {
			for _, scheme := range []string{"s3://", "gs://", "azblob://"} {
				if strings.HasPrefix(s, scheme) {
					return s
				}
			}
		}
	}
	return ""
}

// packShards closes a shard once it holds maxUnits units or maxBytes of
// input. A unit larger than maxBytes gets a shard of its own.
func packShards(units []Unit, maxUnits int, maxBytes int64) []PlannedShard {
	var out []PlannedShard
	cur := PlannedShard{}
	flush := func(end int) {
		if end > cur.First {
			cur.End = end
			cur.Index = len(out)
			cur.Name = shards.ShardName(cur.Index)
			out = append(out, cur)
		}
		cur = PlannedShard{First: end}
	}
	for i, u := range units {
		if i > cur.First && (i-cur.First >= maxUnits || cur.InputBytes+u.Bytes > maxBytes) {
			flush(i)
		}
		cur.InputBytes += u.Bytes
	}
	flush(len(units))
	return out
}

// checkSharded names a sharded plan's shards and checks the contract
// ShardedPlan states (the units' IDs are the source's to keep distinct:
// checking them would cost the memory the compact plan saves).
func checkSharded(sp ShardedPlan) ([]PlannedShard, error) {
	out := slices.Clone(sp.Shards())
	next := 0
	for i := range out {
		s := &out[i]
		if s.First != next || s.End <= s.First || (i > 0 && s.Index <= out[i-1].Index) || s.Index < 0 {
			return nil, fmt.Errorf("sharded plan: shard %d (index %d, units %d–%d) does not follow the one before", i, s.Index, s.First, s.End)
		}
		s.Name = shards.ShardName(s.Index)
		next = s.End
	}
	if next != sp.Len() {
		return nil, fmt.Errorf("sharded plan: shards hold %d units of %d", next, sp.Len())
	}
	return out, nil
}

// TaskShards returns the shards task `task` of `tasks` builds.
func (pl *Plan) TaskShards(task, tasks int) []PlannedShard {
	var out []PlannedShard
	for _, s := range pl.Shards {
		if s.Index%tasks == task {
			out = append(out, s)
		}
	}
	return out
}

// OutputDir is the pipeline's output folder. Like every path given on the
// command line it is relative to the working directory, not to the
// pipelines file, so `medmd run` from the repository root writes into out/.
// An object-storage URL (s3://…) is returned as given.
func (p *Pipeline) OutputDir() string {
	if strings.Contains(p.Output.Dir, "://") {
		return p.Output.Dir
	}
	return filepath.Clean(p.Output.Dir)
}
