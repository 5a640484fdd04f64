package pmc

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medmd/medmd/ingest"
)

// invRow is one metadata key of a synthetic inventory.
type invRow struct {
	id, ver int
	etag    string
}

// writeInventoryRows writes an S3 Inventory of rows (PMC's CSV format,
// as writeInventory does) under dir.
func writeInventoryRows(t *testing.T, dir string, rows []invRow) {
	t.Helper()
	data := filepath.Join(dir, InventoryPrefix, "data")
	man := filepath.Join(dir, InventoryPrefix, "2026-09-01T01-00Z")
	for _, d := range []string{data, man} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(data, "rows.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	for _, r := range rows {
		fmt.Fprintf(zw, "\"pmc-oa-opendata\",\"metadata/PMC%d.%d.json\",\"2026-02-12T02:59:59.000Z\",\"%s\"\n", r.id, r.ver, r.etag)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	js := `{"sourceBucket":"pmc-oa-opendata","fileFormat":"CSV","fileSchema":"Bucket, Key, LastModifiedDate, ETag","files":[{"key":"` + InventoryPrefix + `data/rows.csv.gz"}]}`
	if err := os.WriteFile(filepath.Join(man, "manifest.json"), []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shardStamps plans rows by id range and returns each shard's units as
// the runner's plan record sees them (IDs and stamps), by shard index.
func shardStamps(t *testing.T, rows []invRow, maxUnits int) map[int]string {
	t.Helper()
	dir := t.TempDir()
	writeInventoryRows(t, dir, rows)
	sp, err := (&Cloud{Root: dir}).PlanSharded(context.Background(), Filter{}, maxUnits)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	n := 0
	for _, s := range sp.Shards() {
		us := sp.Units(s.First, s.End)
		if len(us) > maxUnits {
			t.Errorf("shard %d holds %d units, more than %d", s.Index, len(us), maxUnits)
		}
		for _, u := range us {
			out[s.Index] += fmt.Sprintf("%s:%x ", u.ID, u.Stamp)
		}
		n += len(us)
	}
	if n != sp.Len() {
		t.Errorf("shards hold %d units of %d", n, sp.Len())
	}
	return out
}

// TestPlanShardedStable: an article added, withdrawn, updated (new ETag)
// or given a new version upstream changes the plan of its own shard only,
// however early in the id order it falls.
func TestPlanShardedStable(t *testing.T) {
	var base []invRow
	for i := range 40 {
		id := 3000000 + 7*i // ids 3000000…3000273, shards of 16 ids
		base = append(base, invRow{id: id, ver: 1, etag: fmt.Sprintf("%032x", id)})
	}
	tests := []struct {
		name   string
		change func([]invRow) []invRow
		want   []int // shard indexes whose plan changes
	}{
		{"article added mid-order", func(r []invRow) []invRow {
			return slices.Insert(r, 5, invRow{id: 3000036, ver: 1, etag: "aa"})
		}, []int{3000036 / 16}},
		{"article withdrawn", func(r []invRow) []invRow { return slices.Delete(r, 3, 4) }, []int{3000021 / 16}},
		{"metadata updated", func(r []invRow) []invRow { r[10].etag = "bb"; return r }, []int{3000070 / 16}},
		{"new version", func(r []invRow) []invRow {
			return append(r, invRow{id: 3000014, ver: 2, etag: "cc"})
		}, []int{3000014 / 16}},
	}
	before := shardStamps(t, base, 16)
	if len(before) < 10 {
		t.Fatalf("%d shards, want the 40 articles spread over more", len(before))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := shardStamps(t, tc.change(slices.Clone(base)), 16)
			var changed []int
			for k := range after {
				if after[k] != before[k] {
					changed = append(changed, k)
				}
			}
			for k := range before {
				if _, ok := after[k]; !ok {
					changed = append(changed, k)
				}
			}
			slices.Sort(changed)
			if !slices.Equal(changed, tc.want) {
				t.Errorf("changed shards %v, want %v", changed, tc.want)
			}
		})
	}
}

// TestPlanShardedRuns: the sample mirror, planned as a run plans it.
func TestPlanShardedRuns(t *testing.T) {
	src, err := newSource(cloudParams(mirror, nil), ".")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := src.(ingest.ShardedPlanner).PlanSharded(context.Background(), 1000000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var idx []int
	for _, s := range sp.Shards() {
		idx = append(idx, s.Index)
		got = append(got, unitIDs(sp.Units(s.First, s.End))...)
	}
	if !slices.Equal(got, wantLatest) || !slices.Equal(idx, []int{1, 2, 3, 9}) {
		t.Errorf("planned %v in shards %v", got, idx)
	}
	pkgs, err := newSource(ingest.Params{"layout": LayoutPackages, "oa_list": "testdata/oa_file_list.csv"}, ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkgs.(ingest.ShardedPlanner).PlanSharded(context.Background(), 4); !errors.Is(err, errors.ErrUnsupported) {
		t.Error("layout packages planned sharded; want ErrUnsupported")
	}
}
