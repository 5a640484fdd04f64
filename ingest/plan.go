package ingest

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/medmd/medmd/shards"
)

// Plan is a pipeline's work, listed before anything is read: units in a
// stable order, packed into shards. Shard k holds the same units whatever
// the number of tasks, and task i of n builds shards k with k mod n == i.
type Plan struct {
	Pipeline *Pipeline
	Units    []Unit
	Shards   []PlannedShard
	// Excluded counts inputs the source left out while planning, by reason
	// (see PlanExcluder); nil when it says nothing.
	Excluded map[string]int
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

// MakePlan lists the source's units and packs them into shards.
func MakePlan(ctx context.Context, p *Pipeline, src Source) (*Plan, error) {
	units, err := src.Plan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: planning: %w", p.Name, err)
	}
	seen := make(map[string]bool, len(units))
	for _, u := range units {
		if seen[u.ID] {
			return nil, fmt.Errorf("pipeline %q: source %q planned unit %q twice", p.Name, p.Source.Type, u.ID)
		}
		seen[u.ID] = true
	}
	plan := &Plan{Pipeline: p, Units: units, Shards: packShards(units, p.Output.ShardUnits, p.Output.ShardInputBytes)}
	if ex, ok := src.(PlanExcluder); ok {
		plan.Excluded = ex.PlanExcluded()
	}
	return plan, nil
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
func (p *Pipeline) OutputDir() string { return filepath.Clean(p.Output.Dir) }
