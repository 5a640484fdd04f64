package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// keyedSource plans units u<key> by key range through ShardedPlanner; it
// reads them as synthSource does.
type keyedSource struct {
	synthSource
	keys        []int // ascending
	unsupported bool
	broken      bool // a shard that skips a unit
}

type keyedPlan struct {
	keys   []int
	shards []PlannedShard
}

func (kp *keyedPlan) Len() int               { return len(kp.keys) }
func (kp *keyedPlan) Shards() []PlannedShard { return kp.shards }
func (kp *keyedPlan) Units(first, end int) []Unit {
	var us []Unit
	for _, k := range kp.keys[first:end] {
		us = append(us, Unit{ID: fmt.Sprintf("u%03d", k), Paths: []string{fmt.Sprintf("/in/%03d.nii", k)}, Bytes: 1000})
	}
	return us
}

func (s *keyedSource) PlanSharded(_ context.Context, maxUnits int) (ShardedPlan, error) {
	if s.unsupported {
		return nil, fmt.Errorf("keyed: %w", errors.ErrUnsupported)
	}
	kp := &keyedPlan{keys: s.keys}
	for i, k := range s.keys {
		if n := len(kp.shards); n == 0 || kp.shards[n-1].Index != k/maxUnits {
			if n > 0 {
				kp.shards[n-1].End = i
			}
			kp.shards = append(kp.shards, PlannedShard{Index: k / maxUnits, First: i})
		}
		kp.shards[len(kp.shards)-1].InputBytes += 1000
	}
	kp.shards[len(kp.shards)-1].End = len(s.keys)
	if s.broken {
		kp.shards[0].End--
	}
	return kp, nil
}

func (s *keyedSource) Plan(context.Context) ([]Unit, error) {
	return (&keyedPlan{keys: s.keys}).Units(0, len(s.keys)), nil
}

func keyedPlanOf(t *testing.T, dir string, src Source) (*Plan, error) {
	t.Helper()
	p := &Pipeline{Name: "keyed", Source: ComponentConfig{Type: "keyed"}, MaxFailureFraction: 0.5,
		Output: OutputConfig{Dir: dir, ShardUnits: 4, ShardInputBytes: 1 << 30, MaxShardBytes: 1 << 30, MaxShardSamples: 1000}}
	return MakePlan(context.Background(), p, src)
}

func shardNames(pl *Plan) string {
	var names []string
	for _, s := range pl.Shards {
		var ids []string
		for _, u := range pl.UnitsOf(s) {
			ids = append(ids, u.ID)
		}
		names = append(names, s.Name+"="+strings.Join(ids, ","))
	}
	return strings.Join(names, " ")
}

// TestShardedPlan: a ShardedPlanner's shards are named by key range, a
// source that declines falls back to Plan, a plan that breaks the
// contract is refused.
func TestShardedPlan(t *testing.T) {
	keys := []int{1, 2, 5, 9, 10, 11, 12, 17}
	tests := []struct {
		name    string
		src     *keyedSource
		want    string
		wantErr string
	}{
		{"by key range", &keyedSource{keys: keys},
			"shard-00000=u001,u002 shard-00001=u005 shard-00002=u009,u010,u011 shard-00003=u012 shard-00004=u017", ""},
		{"unsupported falls back to packing", &keyedSource{keys: keys, unsupported: true},
			"shard-00000=u001,u002,u005,u009 shard-00001=u010,u011,u012,u017", ""},
		{"a gap between shards", &keyedSource{keys: keys, broken: true}, "", "does not follow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := keyedPlanOf(t, t.TempDir(), tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := shardNames(pl); got != tc.want {
				t.Errorf("shards\n%s\nwant\n%s", got, tc.want)
			}
			if pl.UnitCount() != len(keys) {
				t.Errorf("%d units, want %d", pl.UnitCount(), len(keys))
			}
		})
	}
}

// TestShardedRerun: a unit added mid-order upstream changes one shard's
// planned units; the rerun rebuilds that shard only and reuses the rest.
func TestShardedRerun(t *testing.T) {
	dir := t.TempDir()
	keys := []int{1, 2, 5, 9, 10, 11, 12, 17, 21, 22}
	src := &keyedSource{keys: keys}
	pl, err := keyedPlanOf(t, dir, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), pl, src, nil, RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	before := pl.record()

	added := slices.Insert(slices.Clone(keys), 3, 6) // u006 joins shard 1
	src2 := &keyedSource{keys: added}
	pl2, err := keyedPlanOf(t, dir, src2)
	if err != nil {
		t.Fatal(err)
	}
	after := pl2.record()
	old := map[string]string{}
	for _, s := range before.Shards {
		old[s.Name] = s.UnitHash
	}
	var changed []string
	for _, s := range after.Shards {
		if old[s.Name] != s.UnitHash {
			changed = append(changed, s.Name)
		}
	}
	if !slices.Equal(changed, []string{"shard-00001"}) || len(after.Shards) != len(before.Shards) {
		t.Errorf("changed shards %v of %d (before %d), want [shard-00001]", changed, len(after.Shards), len(before.Shards))
	}
	if reuse, build, err := pl2.Changes(); err != nil || build != 1 || reuse != len(before.Shards)-1 {
		t.Errorf("Changes: reuse %d, build %d, %v; want build 1", reuse, build, err)
	}
	sum, err := Run(context.Background(), pl2, src2, nil, RunOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ShardsBuilt != 1 || src2.reads.Load() != 2 {
		t.Errorf("rerun built %d shards, read %d units; want 1 shard of 2 units", sum.ShardsBuilt, src2.reads.Load())
	}
}
