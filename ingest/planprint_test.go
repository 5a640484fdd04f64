package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// countingPlan is a sharded plan of n units, 100 to a shard, that counts
// the units it is asked to make.
type countingPlan struct {
	keyedPlan
	made int
}

func (cp *countingPlan) Units(first, end int) []Unit {
	cp.made += end - first
	return cp.keyedPlan.Units(first, end)
}

func countingPlanOf(t *testing.T, n int) (*Plan, *countingPlan) {
	t.Helper()
	cp := &countingPlan{}
	for i := range n {
		cp.keys = append(cp.keys, i)
		if i%100 == 0 {
			cp.shards = append(cp.shards, PlannedShard{Index: i / 100, First: i})
		}
		s := &cp.shards[len(cp.shards)-1]
		s.End, s.InputBytes = i+1, s.InputBytes+1000
	}
	p := &Pipeline{Name: "keyed", Source: ComponentConfig{Type: "keyed"}, Output: OutputConfig{Dir: t.TempDir(), ShardUnits: 100}}
	pl := &Plan{Pipeline: p, sharded: cp, Excluded: map[string]int{"retracted": 3}}
	shards, err := checkSharded(cp)
	if err != nil {
		t.Fatal(err)
	}
	pl.Shards = shards
	return pl, cp
}

// TestPlanPrint: a small plan lists its units, a large one a line per
// shard (making only each shard's first and last unit), and --units or
// --shards choose either view whatever the size.
func TestPlanPrint(t *testing.T) {
	large := SmallPlanUnits + 1
	tests := []struct {
		name  string
		units int
		view  PlanView
		// lines is the number of table rows (header excluded); made the
		// most units the printer may ask the plan for.
		lines, made int
		want        []string
	}{
		{"small plan lists units", 250, PlanViewAuto, 250, 250,
			[]string{"SHARD        TASK  UNIT  BYTES", "shard-00002  0     u200  1000", "keyed: 250 units (250000 bytes) in 3 shards over 2 task(s)"}},
		{"large plan lists shards", large, PlanViewAuto, 11, 22,
			[]string{"SHARD        TASK  UNITS  BYTES   FIRST  LAST", "shard-00001  1     100    100000  u100   u199", "shard-00010  0     1      1000    u1000  u1000",
				"keyed: 1001 units (1001000 bytes) in 11 shards over 2 task(s)", "one line per shard (more than 1000 units); --units lists every unit"}},
		{"--units on a large plan", large, PlanViewUnits, large, large, []string{"shard-00010  0     u1000  1000"}},
		{"--shards on a small plan", 250, PlanViewShards, 3, 6, []string{"shard-00002  0     50     50000   u200   u249"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, cp := countingPlanOf(t, tc.units)
			var b bytes.Buffer
			if err := pl.WriteTable(&b, PlanPrint{Tasks: 2, View: tc.view}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range append(tc.want, " shards to build, 0 done and unchanged", "keyed: left out while planning: retracted=3") {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, head(out))
				}
			}
			if rows := strings.Index(out, "\nkeyed: "); rows < 0 || strings.Count(out[:rows], "\n") != tc.lines {
				t.Errorf("want %d rows under the header:\n%s", tc.lines, head(out))
			}
			if cp.made > tc.made {
				t.Errorf("printing made %d units, want at most %d", cp.made, tc.made)
			}
			if tc.view != PlanViewAuto && strings.Contains(out, "--units lists") {
				t.Errorf("a chosen view says how to choose one:\n%s", head(out))
			}
		})
	}
}

// head is out's first lines, enough to see what went wrong.
func head(out string) string {
	lines := strings.SplitN(out, "\n", 8)
	return strings.Join(lines[:min(len(lines), 7)], "\n")
}

// TestPlanPrintJSON: --json prints one object per unit, or per shard in
// the shard view.
func TestPlanPrintJSON(t *testing.T) {
	tests := []struct {
		name    string
		units   int
		view    PlanView
		objects int
		key     string // a key every object has
	}{
		{"small plan: units", 250, PlanViewAuto, 250, "unit"},
		{"large plan: shards", SmallPlanUnits + 1, PlanViewAuto, 11, "first"},
		{"--units", SmallPlanUnits + 1, PlanViewUnits, SmallPlanUnits + 1, "unit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, _ := countingPlanOf(t, tc.units)
			var b bytes.Buffer
			if err := pl.WriteJSON(&b, PlanPrint{Tasks: 3, View: tc.view}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for sc := bufio.NewScanner(&b); sc.Scan(); n++ {
				var obj map[string]any
				if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
					t.Fatalf("line %d: %v", n+1, err)
				}
				if _, ok := obj[tc.key]; !ok {
					t.Fatalf("line %d lacks %q: %s", n+1, tc.key, sc.Text())
				}
			}
			if n != tc.objects {
				t.Errorf("%d objects, want %d", n, tc.objects)
			}
		})
	}
}
