package shards

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestReadOldCorpora opens corpora written by earlier writers:
// testdata/v1corpus (schema version 1: voxels in both Arrow and Parquet,
// no layout in the manifest or stats) and testdata/v2corpus (version 2:
// metadata Parquet, plain SHA-256 of every file). Every reader must still
// take them.
func TestReadOldCorpora(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int
		layout  ParquetLayout
	}{{"v1corpus", 1, ParquetFull}, {"v2corpus", 2, ParquetMetadata}} {
		t.Run(tc.name, func(t *testing.T) { readOldCorpus(t, tc.name, tc.version, tc.layout) })
	}
}

func readOldCorpus(t *testing.T, name string, version int, layout ParquetLayout) {
	dir := filepath.Join("testdata", name)
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != version || m.ParquetLayout() != layout || len(m.ParquetPaths()) != 2 {
		t.Fatalf("manifest: version %d layout %s parquet parts %d", m.SchemaVersion, m.ParquetLayout(), len(m.ParquetPaths()))
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	if errs := m.Problems(); len(errs) > 0 {
		t.Fatal(errs)
	}
	// The head output (Summarize of every sample) matches what was
	// recorded when the corpus was written.
	f, err := os.Open(filepath.Join("testdata", name+".head.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []SampleSummary
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s SampleSummary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	var got []SampleSummary
	for s, err := range m.Iter(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		sum := Summarize(&s)
		// Round-trip through JSON as the golden did (nil vs empty).
		b, _ := json.Marshal(sum)
		var back SampleSummary
		json.Unmarshal(b, &back)
		got = append(got, back)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, golden has %d", len(got), len(want))
	}
	for i := range want {
		a, _ := json.Marshal(want[i])
		b, _ := json.Marshal(got[i])
		if string(a) != string(b) {
			t.Errorf("sample %d:\n got %s\nwant %s", i, b, a)
		}
	}
	// FindSample (shards export) copies the voxels out.
	s, err := m.FindSample(context.Background(), want[0].ID)
	if err != nil || len(s.Images) != 1 || Summarize(&s).Images[0].VoxelSHA256 != want[0].Images[0].VoxelSHA256 {
		t.Fatalf("FindSample: %v %+v", err, s)
	}
	// The Parquet parts still read (version 1: voxels included).
	for _, p := range m.ParquetPaths() {
		tbl := readParquet(t, p)
		if !sameFields(tbl.Schema(), ParquetSchema(layout)) {
			t.Errorf("%s: schema %s", p, tbl.Schema())
		}
		tbl.Release()
	}
	// The stats files still read, so an old folder still builds a manifest.
	bm, err := BuildManifest(dir, m.Pipeline, m.ConfigHash)
	if err != nil || bm.Samples != 3 || bm.ParquetLayout() != layout {
		t.Fatalf("BuildManifest over old stats: %v %+v", err, bm)
	}
	// The loader serves every sample.
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{Epochs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ids []string
	for _, b := range drainAll(t, l) {
		ids = append(ids, b.IDs...)
	}
	slices.Sort(ids)
	var wantIDs []string
	for _, w := range want {
		wantIDs = append(wantIDs, w.ID)
	}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("loader served %v, want %v", ids, wantIDs)
	}
}

// sameFields compares field names and types (Parquet adds field ids to
// the field metadata).
func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i, f := range b.Fields() {
		if g := a.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return false
		}
	}
	return true
}
