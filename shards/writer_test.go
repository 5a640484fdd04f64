package shards

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func equalSample(t *testing.T, want, got Sample) {
	t.Helper()
	if len(want.Images) == 0 {
		want.Images = nil
	}
	if len(want.Placements) == 0 {
		want.Placements = nil
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("sample %s differs:\nwant %+v\n got %+v", want.ID, want, got)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		opts WriteOptions
		// parts is the number of part files expected in the shard.
		parts int
	}{
		{"one part", 10, WriteOptions{}, 1},
		{"roll on samples", 10, WriteOptions{MaxSamples: 4}, 3},
		{"roll on bytes", 8, WriteOptions{MaxBytes: 5000}, 6},
		{"tiny batches", 9, WriteOptions{BatchBytes: 1, BatchSamples: 2}, 1},
		{"empty", 0, WriteOptions{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ss := testSamples(tc.n)
			w, err := CreateShard(dir, "shard-00003", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ss {
				if err := w.Add(&ss[i]); err != nil {
					t.Fatal(err)
				}
			}
			st, err := w.Close()
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Parts) != tc.parts || st.Samples != tc.n {
				t.Fatalf("parts=%d samples=%d, want %d, %d", len(st.Parts), st.Samples, tc.parts, tc.n)
			}
			got, done, err := ReadShardStats(dir, "shard-00003")
			if err != nil || !done || !reflect.DeepEqual(got, st) {
				t.Fatalf("ReadShardStats = %+v %v %v", got, done, err)
			}
			m, err := BuildManifest(dir, "p", "h")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Write(filepath.Join(dir, ManifestFile)); err != nil {
				t.Fatal(err)
			}
			if err := Verify(filepath.Join(dir, ManifestFile)); err != nil {
				t.Fatal(err)
			}
			i := 0
			for s, err := range m.Iter(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				equalSample(t, ss[i], s)
				i++
			}
			if i != tc.n {
				t.Fatalf("iterated %d samples, want %d", i, tc.n)
			}
			// Parquet reads back with the same ids and voxels.
			var ids []string
			for _, p := range m.ParquetPaths() {
				ids = append(ids, readParquetIDs(t, p, ParquetMetadata)...)
			}
			if len(ids) != tc.n {
				t.Fatalf("parquet has %d rows, want %d", len(ids), tc.n)
			}
			for i, id := range ids {
				if id != ss[i].ID {
					t.Fatalf("parquet row %d id %s, want %s", i, id, ss[i].ID)
				}
			}
		})
	}
}

// readParquet reads a whole Parquet part with arrow-go (the caller
// releases the table).
func readParquet(t *testing.T, path string) arrow.Table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// readParquetIDs reads a Parquet part of layout l, checks its schema
// and returns its ids.
func readParquetIDs(t *testing.T, path string, l ParquetLayout) []string {
	t.Helper()
	tbl := readParquet(t, path)
	defer tbl.Release()
	want := ParquetSchema(l)
	if got := tbl.Schema(); got.NumFields() != want.NumFields() || !func() bool {
		for i, f := range want.Fields() {
			if g := got.Field(i); g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
				return false
			}
		}
		return true
	}() {
		t.Fatalf("parquet schema:\n%s\nwant\n%s", tbl.Schema(), want)
	}
	var ids []string
	for _, ch := range tbl.Column(0).Data().Chunks() {
		for i := 0; i < ch.Len(); i++ {
			ids = append(ids, ch.ValueStr(i))
		}
	}
	return ids
}

func TestDeterministic(t *testing.T) {
	ss := testSamples(13)
	write := func() string {
		dir := t.TempDir()
		if _, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: 5, BatchSamples: 3}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b := write(), write()
	names, _ := OSFS.List(a)
	if len(names) < 7 {
		t.Fatalf("only %v written", names)
	}
	for _, n := range names {
		x, _ := os.ReadFile(filepath.Join(a, n))
		y, err := os.ReadFile(filepath.Join(b, n))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two identical writes", n)
		}
	}
}

func TestVerifyDetectsFlip(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(6)), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, ManifestFile)
	for _, path := range append(m.ArrowPaths(), m.ParquetPaths()...) {
		b, _ := os.ReadFile(path)
		b[len(b)/2] ^= 1
		os.WriteFile(path, b, 0o644)
		err := Verify(mp)
		if !errors.Is(err, ErrChecksum) || !bytes.Contains([]byte(err.Error()), []byte(filepath.Base(path))) {
			t.Fatalf("Verify after flip in %s: %v", path, err)
		}
		b[len(b)/2] ^= 1
		os.WriteFile(path, b, 0o644)
		if err := Verify(mp); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMergeManifests(t *testing.T) {
	dir := t.TempDir()
	ss := testSamples(9)
	// Three "tasks" write shards 0..2 into one folder.
	var ms []*Manifest
	for task := 0; task < 3; task++ {
		w, err := CreateShard(dir, ShardName(task), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := task * 3; i < task*3+3; i++ {
			w.Add(&ss[i])
		}
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		m, err := BuildManifest(dir, "p", "h")
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	merged, err := MergeManifests(ms[2], ms[0], ms[1])
	if err != nil {
		t.Fatal(err)
	}
	full, _ := BuildManifest(dir, "p", "h")
	if merged.Hash() != full.Hash() || merged.Samples != 9 || merged.Sources["nifti"] != 3 {
		t.Fatalf("merged %+v\nfull %+v", merged, full)
	}
	other := *ms[0]
	other.ConfigHash = "x"
	if _, err := MergeManifests(ms[0], &other); err == nil {
		t.Fatal("merge accepted a different config hash")
	}
	other = *ms[0]
	other.SchemaVersion = 99
	if _, err := MergeManifests(ms[0], &other); err == nil {
		t.Fatal("merge accepted a different schema version")
	}
	other = *ms[0]
	other.Parquet = ParquetNone
	if _, err := MergeManifests(ms[0], &other); err == nil {
		t.Fatal("merge accepted a different parquet layout")
	}
}

func TestAddRejectsBadSamples(t *testing.T) {
	good := testSample(1, 1, 2, 4, 4, Uint8)
	for _, tc := range []struct {
		name string
		mut  func(*Sample)
	}{
		{"no id", func(s *Sample) { s.ID = "" }},
		{"short voxels", func(s *Sample) { s.Images[0].Voxels = s.Images[0].Voxels[1:] }},
		{"bad dtype", func(s *Sample) { s.Images[0].DType = "complex" }},
		{"zero dim", func(s *Sample) { s.Images[0].Depth = 0 }},
		{"placement out of range", func(s *Sample) { s.Placements[0].Image = 3 }},
		{"placement field", func(s *Sample) { s.Placements[0].Field = "title" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			s.Images = append([]Image(nil), good.Images...)
			s.Placements = append([]Placement(nil), good.Placements...)
			tc.mut(&s)
			w, err := CreateShard(t.TempDir(), "shard-00000", WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Add(&s); err == nil {
				t.Fatal("Add accepted a bad sample")
			}
		})
	}
}
