package shards

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestReadV1Corpus opens testdata/v1corpus, written by the schema
// version 1 writer (voxels in both Arrow and Parquet, no layout in the
// manifest or stats): every reader must still take it.
func TestReadV1Corpus(t *testing.T) {
	const dir = "testdata/v1corpus"
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 1 || m.ParquetLayout() != ParquetFull || len(m.ParquetPaths()) != 2 {
		t.Fatalf("v1 manifest: version %d layout %s parquet parts %d", m.SchemaVersion, m.ParquetLayout(), len(m.ParquetPaths()))
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	// The head output (Summarize of every sample) matches what was
	// recorded when the corpus was written.
	f, err := os.Open("testdata/v1corpus.head.jsonl")
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
	// The version 1 Parquet parts still read, voxels included.
	for _, p := range m.ParquetPaths() {
		tbl := readParquet(t, p)
		if !sameFields(tbl.Schema(), Schema()) {
			t.Errorf("%s: schema %s", p, tbl.Schema())
		}
		tbl.Release()
	}
	// The stats files still read, so a v1 folder still builds a manifest.
	bm, err := BuildManifest(dir, "v1", "v1cfg")
	if err != nil || bm.Samples != 3 || bm.ParquetLayout() != ParquetFull {
		t.Fatalf("BuildManifest over v1 stats: %v %+v", err, bm)
	}
	// The loader serves every sample.
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{Epochs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ids []string
	for {
		b, err := l.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.IDs...)
		b.Release()
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
