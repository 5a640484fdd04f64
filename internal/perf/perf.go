// Package perf is the registry behind `medmd perf`: each measurement times
// medmd against a baseline in the same run and reports the ratio.
package perf

import (
	"context"
	"sort"
	"sync"
)

// Result is one measurement, printed by `medmd perf --json` as one object
// per line. Ratio is ours/baseline oriented so that larger is better (for
// times: baseline/ours).
type Result struct {
	Name          string  `json:"name"`
	Unit          string  `json:"unit"`
	Value         float64 `json:"value"`
	BaselineName  string  `json:"baseline_name"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	Goal          float64 `json:"goal"`
	MeetsGoal     bool    `json:"meets_goal"`
	// Extra carries secondary numbers (p50/p99, samples/s…).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Finish fills Ratio and MeetsGoal from Value and BaselineValue.
// higherIsBetter says whether Value is a rate (true) or a time (false).
func (r *Result) Finish(higherIsBetter bool) {
	switch {
	case r.Value == 0 || r.BaselineValue == 0:
		r.Ratio = 0
	case higherIsBetter:
		r.Ratio = r.Value / r.BaselineValue
	default:
		r.Ratio = r.BaselineValue / r.Value
	}
	r.MeetsGoal = r.Ratio >= r.Goal
}

// Options are the knobs every measurement receives.
type Options struct {
	// Quick asks for a small, fast run (tests, CI smoke).
	Quick bool
	// TempDir is a scratch folder the measurement may fill.
	TempDir string
	// Repeats is how many times to repeat each timing; report the median.
	Repeats int
}

// Func runs one group of measurements.
type Func func(ctx context.Context, o Options) ([]Result, error)

var (
	mu    sync.Mutex
	funcs = map[string]Func{}
	docs  = map[string]string{}
)

// Register adds a measurement group under name (e.g. "shards", "nifti",
// "loader"). It panics on a duplicate name.
func Register(name, doc string, f Func) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := funcs[name]; dup {
		panic("perf: " + name + " registered twice")
	}
	funcs[name], docs[name] = f, doc
}

// Names lists registered groups, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range funcs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a group's function and its one-line description.
func Lookup(name string) (Func, string, bool) {
	mu.Lock()
	defer mu.Unlock()
	f, ok := funcs[name]
	return f, docs[name], ok
}
