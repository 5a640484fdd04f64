package ingest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON prints one JSON object per unit (`medmd plan --json`): its
// shard, the task of tasks that builds that shard, its id and bytes.
func (pl *Plan) WriteJSON(w io.Writer, tasks int) error {
	enc := json.NewEncoder(w)
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
// their shard and task (of tasks), then the totals, how many shards are
// left to build and what planning left out.
func (pl *Plan) WriteTable(w io.Writer, tasks int) error {
	p := pl.Pipeline
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tTASK\tUNIT\tBYTES")
	for _, s := range pl.Shards {
		for _, u := range pl.UnitsOf(s) {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", s.Name, s.Index%tasks, u.ID, u.Bytes)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d units in %d shards over %d task(s); config %s\n", p.Name, pl.UnitCount(), len(pl.Shards), tasks, p.Hash()[:12])
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
