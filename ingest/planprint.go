package ingest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// PlanView says what `medmd plan` lists before its totals.
type PlanView int

const (
	// PlanViewAuto lists every unit when the plan has at most
	// SmallPlanUnits of them, and one line per shard otherwise: the PMC
	// Cloud layout plans millions of articles, and a line each would bury
	// the totals.
	PlanViewAuto PlanView = iota
	// PlanViewShards lists one line per shard: its task, how many units,
	// their bytes and the first and last unit.
	PlanViewShards
	// PlanViewUnits lists every unit with its shard and task.
	PlanViewUnits
)

// SmallPlanUnits is the most units PlanViewAuto lists one by one.
const SmallPlanUnits = 1000

// PlanPrint says how to print a plan.
type PlanPrint struct {
	// Tasks is the number of tasks whose task of each shard is shown;
	// below 1 counts as 1.
	Tasks int
	View  PlanView
}

func (o PlanPrint) tasks() int {
	if o.Tasks < 1 {
		return 1
	}
	return o.Tasks
}

// view resolves PlanViewAuto for this plan.
func (pl *Plan) view(v PlanView) PlanView {
	if v != PlanViewAuto {
		return v
	}
	if pl.UnitCount() <= SmallPlanUnits {
		return PlanViewUnits
	}
	return PlanViewShards
}

// firstLast returns the IDs of a shard's first and last units without
// making the units in between (a sharded plan makes them on request).
func (pl *Plan) firstLast(s PlannedShard) (first, last string) {
	if s.End <= s.First {
		return "", ""
	}
	one := func(i int) string {
		u := pl.UnitsOf(PlannedShard{First: i, End: i + 1})
		if len(u) == 0 {
			return ""
		}
		return u[0].ID
	}
	return one(s.First), one(s.End - 1)
}

// WriteJSON prints the plan as `medmd plan --json` does: one JSON object
// per unit (its shard, the task that builds that shard, its id and bytes),
// or in the shard view one per shard (its task, units, bytes, first and
// last unit).
func (pl *Plan) WriteJSON(w io.Writer, o PlanPrint) error {
	enc := json.NewEncoder(w)
	tasks := o.tasks()
	if pl.view(o.View) == PlanViewShards {
		for _, s := range pl.Shards {
			first, last := pl.firstLast(s)
			if err := enc.Encode(map[string]any{"shard": s.Name, "task": s.Index % tasks, "units": s.End - s.First, "bytes": s.InputBytes, "first": first, "last": last}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range pl.Shards {
		for _, u := range pl.UnitsOf(s) {
			if err := enc.Encode(map[string]any{"shard": s.Name, "task": s.Index % tasks, "unit": u.ID, "bytes": u.Bytes}); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteTable prints the plan as `medmd plan` does: a table of units with
// their shard and task, or of shards (see PlanView), then the totals, how
// many shards are left to build and what planning left out.
func (pl *Plan) WriteTable(w io.Writer, o PlanPrint) error {
	p := pl.Pipeline
	tasks := o.tasks()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	view := pl.view(o.View)
	if view == PlanViewShards {
		fmt.Fprintln(tw, "SHARD\tTASK\tUNITS\tBYTES\tFIRST\tLAST")
		for _, s := range pl.Shards {
			first, last := pl.firstLast(s)
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, s.Index%tasks, s.End-s.First, s.InputBytes, first, last)
		}
	} else {
		fmt.Fprintln(tw, "SHARD\tTASK\tUNIT\tBYTES")
		for _, s := range pl.Shards {
			for _, u := range pl.UnitsOf(s) {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", s.Name, s.Index%tasks, u.ID, u.Bytes)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var total int64
	for _, s := range pl.Shards {
		total += s.InputBytes
	}
	fmt.Fprintf(w, "%s: %d units (%d bytes) in %d shards over %d task(s); config %s\n", p.Name, pl.UnitCount(), total, len(pl.Shards), tasks, p.Hash()[:12])
	if view == PlanViewShards && o.View == PlanViewAuto {
		fmt.Fprintf(w, "%s: one line per shard (more than %d units); --units lists every unit\n", p.Name, SmallPlanUnits)
	}
	if reuse, build, err := pl.Changes(); err == nil {
		fmt.Fprintf(w, "%s: %d shards to build, %d done and unchanged in %s\n", p.Name, build, reuse, p.OutputDir())
	}
	if len(pl.Excluded) > 0 {
		var ex []string
		for k, v := range pl.Excluded {
			ex = append(ex, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(ex)
		fmt.Fprintf(w, "%s: left out while planning: %s\n", p.Name, strings.Join(ex, ", "))
	}
	return nil
}
