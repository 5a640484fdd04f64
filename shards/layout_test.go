package shards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestParquetLayouts writes one corpus per layout and compression and
// checks what each Parquet part holds: in "metadata" every image's
// recorded location (file, row, image, offset, length, SHA-256) leads to
// exactly its voxel bytes, through the Arrow reader and through a plain
// read of the file at the offset.
func TestParquetLayouts(t *testing.T) {
	ss := testSamples(11)
	// A sample big enough for the by-reference path (a batch of its own,
	// written from the caller's slice).
	big := testSample(100, 1, 4, 64, 64, Int16)
	ss = append(ss[:5], append([]Sample{big}, ss[5:]...)...)
	for _, tc := range []struct {
		layout      ParquetLayout
		compression ParquetCompression
	}{
		{"", ""}, // defaults: metadata, zstd
		{ParquetMetadata, "lz4"},
		{ParquetMetadata, "none"},
		{ParquetFull, "zstd-fast"},
		{ParquetFull, "snappy"},
		{ParquetNone, ""},
	} {
		t.Run(string(tc.layout)+"/"+string(tc.compression), func(t *testing.T) {
			dir := t.TempDir()
			opts := WriteOptions{MaxSamples: 5, BatchSamples: 3, RefBytes: 16 << 10, Parquet: tc.layout, ParquetCompression: tc.compression}
			m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), opts)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.layout
			if want == "" {
				want = ParquetMetadata
			}
			m2, err := ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Parquet != want || m2.ParquetLayout() != want {
				t.Fatalf("manifest layout %q, want %q", m2.Parquet, want)
			}
			if err := m2.Verify(); err != nil {
				t.Fatal(err)
			}
			parts := len(m.ArrowPaths())
			wantFiles := 2 * parts
			if want == ParquetNone {
				wantFiles = parts
			}
			if got := len(m.Files()); got != wantFiles {
				t.Fatalf("%d files listed, want %d", got, wantFiles)
			}
			names, _ := os.ReadDir(dir)
			for _, n := range names {
				if want == ParquetNone && strings.HasSuffix(n.Name(), ".parquet") {
					t.Fatalf("layout none wrote %s", n.Name())
				}
			}
			i := 0
			for s, err := range m2.Iter(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				equalSample(t, ss[i], s)
				i++
			}
			var ids []string
			for _, p := range m2.ParquetPaths() {
				ids = append(ids, readParquetIDs(t, p, want)...)
			}
			if want == ParquetNone {
				return
			}
			for i, id := range ids {
				if id != ss[i].ID {
					t.Fatalf("parquet row %d is %s, want %s", i, id, ss[i].ID)
				}
			}
			if want == ParquetMetadata {
				checkLocations(t, m2, ss)
			}
		})
	}
}

// checkLocations follows every location of the "metadata" Parquet parts
// to the voxels and compares them with the samples written.
func checkLocations(t *testing.T, m *Manifest, ss []Sample) {
	t.Helper()
	byID := map[string]*Sample{}
	for i := range ss {
		byID[ss[i].ID] = &ss[i]
	}
	seen := 0
	for _, p := range m.ParquetPaths() {
		tbl := readParquet(t, p)
		tr := array.NewTableReader(tbl, 0)
		for tr.Next() {
			rec := tr.RecordBatch()
			ids := rec.Column(colID).(*array.String)
			images := rec.Column(colImages).(*array.List)
			st := images.ListValues().(*array.Struct)
			field := func(name string) int {
				idx, ok := locImageType.FieldIdx(name)
				if !ok {
					t.Fatalf("no field %s", name)
				}
				return idx
			}
			file := st.Field(field("voxel_file")).(*array.String)
			row := st.Field(field("voxel_row")).(*array.Int64)
			img := st.Field(field("voxel_image")).(*array.Int32)
			off := st.Field(field("voxel_offset")).(*array.Int64)
			n := st.Field(field("voxel_bytes")).(*array.Int64)
			sha := st.Field(field("voxel_sha256")).(*array.String)
			for r := 0; r < int(rec.NumRows()); r++ {
				s := byID[ids.Value(r)]
				b, e := images.ValueOffsets(r)
				if int(e-b) != len(s.Images) {
					t.Fatalf("sample %s: %d images in parquet, %d written", s.ID, e-b, len(s.Images))
				}
				for j := int(b); j < int(e); j++ {
					k := int(img.Value(j))
					want := s.Images[k].Voxels
					sum := sha256.Sum256(want)
					if k != j-int(b) || n.Value(j) != int64(len(want)) || sha.Value(j) != hex.EncodeToString(sum[:]) {
						t.Fatalf("sample %s image %d: location %d/%d/%s", s.ID, k, img.Value(j), n.Value(j), sha.Value(j))
					}
					path := m.Path(file.Value(j))
					sh, err := OpenShard(path)
					if err != nil {
						t.Fatal(err)
					}
					if id, _ := sh.ID(int(row.Value(j))); id != s.ID {
						t.Fatalf("%s row %d is %s, want %s", file.Value(j), row.Value(j), id, s.ID)
					}
					v, err := sh.Image(int(row.Value(j)), k)
					if err != nil || !bytes.Equal(v.Voxels, want) {
						t.Fatalf("%s row %d image %d: voxels differ (%v)", file.Value(j), row.Value(j), k, err)
					}
					sh.Close()
					raw, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					o := off.Value(j)
					if o < 0 || o+int64(len(want)) > int64(len(raw)) || !bytes.Equal(raw[o:o+int64(len(want))], want) {
						t.Fatalf("%s: bytes at offset %d are not sample %s image %d", filepath.Base(path), o, s.ID, k)
					}
					seen++
				}
			}
		}
		tr.Release()
		tbl.Release()
	}
	total := 0
	for i := range ss {
		total += len(ss[i].Images)
	}
	if seen != total {
		t.Fatalf("followed %d locations, wrote %d images", seen, total)
	}
}

func TestWriteOptionsRejectUnknownNames(t *testing.T) {
	for _, o := range []WriteOptions{{Parquet: "partial"}, {ParquetCompression: "brotli"}} {
		if _, err := CreateShard(t.TempDir(), "shard-00000", o); err == nil {
			t.Errorf("CreateShard accepted %+v", o)
		}
	}
}

// recordFS is the real filesystem, remembering the slices written to
// files whose name contains ".arrow".
type recordFS struct {
	FS
	writes *[][]byte
}

func (r recordFS) Create(name string) (File, error) {
	f, err := r.FS.Create(name)
	if err != nil || !strings.Contains(filepath.Base(name), ".arrow") {
		return f, err
	}
	return recordFile{f, r.writes}, nil
}

type recordFile struct {
	File
	writes *[][]byte
}

func (f recordFile) Write(p []byte) (int, error) {
	*f.writes = append(*f.writes, p)
	return f.File.Write(p)
}

// TestWriteVoxelsUncopied: a sample that fills a record batch alone
// reaches the file's Write as the caller's own slice, in every layout:
// no copy between the sample and the file.
func TestWriteVoxelsUncopied(t *testing.T) {
	s := testSample(7, 1, 16, 128, 128, Int16) // 512 KiB of voxels, above the write buffer
	vox := s.Images[0].Voxels
	for _, l := range ParquetLayouts {
		t.Run(string(l), func(t *testing.T) {
			var writes [][]byte
			w, err := CreateShard(t.TempDir(), "shard-00000", WriteOptions{RefBytes: 1024, Parquet: l, FS: recordFS{OSFS, &writes}})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(&s); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range writes {
				if len(p) == len(vox) && &p[0] == &vox[0] {
					return
				}
			}
			t.Fatalf("the voxels never reached the Arrow file as the caller's slice (%d writes)", len(writes))
		})
	}
}

// TestManifestLayoutMismatch: a manifest whose layout disagrees with its
// parts (a Parquet file listed under "none", or missing under "metadata")
// is refused when read.
func TestManifestLayoutMismatch(t *testing.T) {
	for _, tc := range []struct{ written, claimed ParquetLayout }{
		{ParquetNone, ParquetMetadata},
		{ParquetMetadata, ParquetNone},
	} {
		dir := t.TempDir()
		m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(2)), WriteOptions{Parquet: tc.written})
		if err != nil {
			t.Fatal(err)
		}
		m.Parquet = tc.claimed
		if err := m.Write(filepath.Join(dir, ManifestFile)); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "Parquet file") {
			t.Errorf("written %s, claimed %s: ReadManifest = %v", tc.written, tc.claimed, err)
		}
	}
}

// TestManifestBadNames: a manifest (one read from a bucket, say) whose
// shard or file names would reach outside its folder is refused when
// read.
func TestManifestBadNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *Manifest)
	}{
		{"shard ..", func(m *Manifest) { m.Shards[0].Name = "../x" }},
		{"shard slash", func(m *Manifest) { m.Shards[0].Name = "a/b" }},
		{"shard empty", func(m *Manifest) { m.Shards[0].Name = "" }},
		{"file ..", func(m *Manifest) { m.Shards[0].Parts[0].Arrow.File = "../x.arrow" }},
		{"file absolute", func(m *Manifest) { m.Shards[0].Parts[0].Arrow.File = "/etc/x.arrow" }},
	} {
		dir := t.TempDir()
		m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(2)), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tc.edit(m)
		if err := m.Write(filepath.Join(dir, ManifestFile)); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "bad") {
			t.Errorf("%s: ReadManifest = %v", tc.name, err)
		}
	}
}

// TestStatsBadNames: a stats file (read back from a bucket by a rerun or
// a merge, say) whose file names would reach outside its folder is
// refused, not taken as a done shard.
func TestStatsBadNames(t *testing.T) {
	for _, bad := range []string{"../x.arrow", "/etc/x.arrow", `a\b.arrow`, ""} {
		dir := t.TempDir()
		m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(2)), WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := m.Shards[0]
		st.Parts[0].Arrow.File = bad
		data, _ := json.Marshal(st)
		if err := os.WriteFile(filepath.Join(dir, StatsFile(st.Name)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, done, err := ReadShardStats(dir, st.Name); done || !errors.Is(err, ErrBadStats) || !strings.Contains(err.Error(), "bad file name") {
			t.Errorf("file %q: done %v, %v", bad, done, err)
		}
	}
}

// TestStatsBad: a stats file that cannot be the shard's record is
// ErrBadStats (to be rebuilt); one of a newer schema is another error (a
// newer medmd wrote it); one of the current schema is read.
func TestStatsBad(t *testing.T) {
	dir := t.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(testSamples(2)), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := m.Shards[0]
	edit := func(f func(*ShardStats)) string {
		st := good
		f(&st)
		data, _ := json.Marshal(st)
		return string(data)
	}
	for _, c := range []struct {
		name, data string
		bad, done  bool
	}{
		{"as written", edit(func(*ShardStats) {}), false, true},
		{"truncated", edit(func(*ShardStats) {})[:40], true, false},
		{"not JSON", "\x00\x00garbage", true, false},
		{"empty", "", true, false},
		{"another shard's", edit(func(st *ShardStats) { st.Name = "shard-99999" }), true, false},
		{"unknown layout", edit(func(st *ShardStats) { st.Parquet = "sometimes" }), true, false},
		{"version 0", edit(func(st *ShardStats) { st.SchemaVersion = 0 }), true, false},
		{"newer schema", edit(func(st *ShardStats) { st.SchemaVersion = SchemaVersion + 1 }), false, false},
		{"newer schema, fields changed", `{"schema_version": 99, "name": "shard-00000", "samples": "many"}`, false, false},
		{"newer schema, a file in a folder", edit(func(st *ShardStats) {
			st.SchemaVersion = SchemaVersion + 1
			st.Parts[0].Arrow.File = "sub/x.arrow"
		}), false, false},
	} {
		if err := os.WriteFile(filepath.Join(dir, StatsFile(good.Name)), []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, done, err := ReadShardStats(dir, good.Name)
		if errors.Is(err, ErrBadStats) != c.bad || done != c.done || (err == nil) != c.done {
			t.Errorf("%s: done %v, err %v; want done %v, ErrBadStats %v", c.name, done, err, c.done, c.bad)
		}
	}
}
