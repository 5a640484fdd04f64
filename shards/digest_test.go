package shards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// digestSamples mixes the batch shapes the writer produces: gathered
// small images (several per batch, two per sample), text-only samples and
// large samples written alone from the caller's slice.
func digestSamples() []Sample {
	ss := testSamples(12)
	for _, i := range []int{4, 9} {
		ss[i] = testSample(i, 1, 16, 64, 64, Int16) // 128 KiB: alone (RefBytes below)
	}
	return ss
}

var digestOpts = WriteOptions{MaxSamples: 5, BatchSamples: 3, RefBytes: 64 << 10}

// TestTreeDigestFromLocations recomputes every Arrow part's digest as
// the format documents it, from the file's bytes and the metadata
// Parquet's voxel_offset, voxel_bytes and voxel_sha256 alone (no Arrow
// reader): the images' SHA-256s stand in for their bytes.
func TestTreeDigestFromLocations(t *testing.T) {
	ss := digestSamples()
	m, err := WriteCorpus(t.TempDir(), "p", "h", SamplesOf(ss), digestOpts)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 3 {
		t.Fatalf("schema version %d", m.SchemaVersion)
	}
	checked := 0
	for _, sh := range m.Shards {
		for _, part := range sh.Parts {
			if part.Arrow.Digest != DigestVoxelTree || part.Parquet.Digest != "" {
				t.Fatalf("%s: digests %q / %q", part.Arrow.File, part.Arrow.Digest, part.Parquet.Digest)
			}
			raw, err := os.ReadFile(m.Path(part.Arrow.File))
			if err != nil {
				t.Fatal(err)
			}
			runs := locationRuns(t, m.Path(part.Parquet.File))
			h := sha256.New()
			at := int64(0)
			for _, r := range runs {
				if r.off < at || r.off+r.n > int64(len(raw)) {
					t.Fatalf("%s: run %+v out of order or outside the file", part.Arrow.File, r)
				}
				sum := sha256.Sum256(raw[r.off : r.off+r.n])
				if hex.EncodeToString(sum[:]) != r.sha {
					t.Fatalf("%s: voxel_sha256 at %d is not the SHA-256 of its bytes", part.Arrow.File, r.off)
				}
				h.Write(raw[at:r.off])
				h.Write(sum[:])
				at = r.off + r.n
			}
			h.Write(raw[at:])
			if got := hex.EncodeToString(h.Sum(nil)); got != part.Arrow.SHA256 {
				t.Fatalf("%s: recomputed %s, stats say %s", part.Arrow.File, got, part.Arrow.SHA256)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Fatalf("only %d parts", checked)
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
}

type locRun struct {
	off, n int64
	sha    string
}

// locationRuns reads the voxel locations of a metadata Parquet part in
// file order.
func locationRuns(t *testing.T, path string) []locRun {
	t.Helper()
	tbl := readParquet(t, path)
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 0)
	defer tr.Release()
	var runs []locRun
	for tr.Next() {
		st := tr.RecordBatch().Column(colImages).(*array.List).ListValues().(*array.Struct)
		off := st.Field(locImageType.FieldIndices("voxel_offset")[0]).(*array.Int64)
		n := st.Field(locImageType.FieldIndices("voxel_bytes")[0]).(*array.Int64)
		sha := st.Field(locImageType.FieldIndices("voxel_sha256")[0]).(*array.String)
		for j := 0; j < st.Len(); j++ {
			runs = append(runs, locRun{off.Value(j), n.Value(j), sha.Value(j)})
		}
	}
	slices.SortFunc(runs, func(a, b locRun) int { return int(a.off - b.off) })
	return runs
}

// TestTreeDigestDetects damages a part in the places the digest covers
// differently (voxel bytes, IPC metadata, the footer, the length) and
// expects Verify, CheckShard and the loader to refuse it.
func TestTreeDigestDetects(t *testing.T) {
	cases := []struct {
		name   string
		damage func(raw []byte, voxelAt int64) []byte
	}{
		{"voxel byte", func(raw []byte, at int64) []byte { raw[at+5] ^= 1; return raw }},
		{"schema byte", func(raw []byte, _ int64) []byte { raw[100] ^= 1; return raw }},
		{"footer byte", func(raw []byte, _ int64) []byte { raw[len(raw)-40] ^= 1; return raw }},
		{"truncated", func(raw []byte, _ int64) []byte { return raw[:len(raw)-1] }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ss := digestSamples()
			m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), digestOpts)
			if err != nil {
				t.Fatal(err)
			}
			part := m.Shards[0].Parts[0]
			path := m.Path(part.Arrow.File)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			at := locationRuns(t, m.Path(part.Parquet.File))[0].off
			if err := os.WriteFile(path, tc.damage(raw, at), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := m.Verify(); !errors.Is(err, ErrChecksum) {
				t.Fatalf("Verify: %v, want ErrChecksum", err)
			}
			errs := CheckShard(dir, &m.Shards[0], true)
			if len(errs) != 1 || !errors.Is(errs[0], ErrChecksum) {
				t.Fatalf("CheckShard: %v", errs)
			}
			if tc.name == "truncated" {
				return // the loader refuses to open it at all
			}
			l, err := NewLoader([]*Manifest{m}, LoaderConfig{Epochs: 1}, nil)
			if err != nil {
				return // refused while opening: also fine
			}
			defer l.Close()
			for {
				b, err := l.Next(context.Background())
				if errors.Is(err, io.EOF) {
					t.Fatal("the loader served a damaged part")
				}
				if err != nil {
					if !errors.Is(err, ErrChecksum) {
						t.Fatalf("loader: %v, want ErrChecksum", err)
					}
					return
				}
				b.Release()
			}
		})
	}
}

// TestOverlapIdentical: hashing a sample's voxels after Add returns
// (WriteOptions.Overlap) changes when the work is done, never the bytes.
func TestOverlapIdentical(t *testing.T) {
	for _, layout := range []ParquetLayout{ParquetMetadata, ParquetNone, ParquetFull} {
		t.Run(string(layout), func(t *testing.T) {
			var dirs [2]string
			for i, overlap := range []bool{false, true} {
				dirs[i] = t.TempDir()
				o := digestOpts
				o.Parquet, o.Overlap = layout, overlap
				m, err := WriteCorpus(dirs[i], "p", "h", SamplesOf(digestSamples()), o)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Verify(); err != nil {
					t.Fatal(err)
				}
			}
			names, _ := os.ReadDir(dirs[0])
			if len(names) < 4 {
				t.Fatalf("%d files", len(names))
			}
			for _, e := range names {
				a, _ := os.ReadFile(filepath.Join(dirs[0], e.Name()))
				b, err := os.ReadFile(filepath.Join(dirs[1], e.Name()))
				if err != nil || !bytes.Equal(a, b) {
					t.Fatalf("%s differs with Overlap (%v)", e.Name(), err)
				}
			}
		})
	}
}

// TestVerifyUnknownDigest: a digest name this version does not know is
// an error naming it, not a silent pass.
func TestVerifyUnknownDigest(t *testing.T) {
	m, err := WriteCorpus(t.TempDir(), "p", "h", SamplesOf(testSamples(2)), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.Shards[0].Parts[0].Arrow.Digest = "blake3"
	if err := m.Verify(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"blake3"`)) {
		t.Fatalf("Verify: %v", err)
	}
}

// TestOverlapPromise: with Overlap the writer reads a sample's voxels
// until overlapWindow more Adds have returned, and never after; a sample
// whose buffer the caller then scribbles over is still written as it was.
// The stream mixes images hashed in pairs (alone in their batch, of equal
// and of unequal sizes), gathered batches, a refused sample and part
// rolls; the race detector sees any late read.
func TestOverlapPromise(t *testing.T) {
	var ss []Sample
	for i := range 11 {
		switch {
		case i == 6:
			ss = append(ss, testSample(i, 1, 2, 8, 8, Int16)) // gathered with the next
		case i%4 == 3:
			ss = append(ss, testSample(i, 1, 24, 64, 64, Int16)) // 192 KiB: an unequal pair
		default:
			ss = append(ss, testSample(i, 1, 16, 64, 64, Int16)) // 128 KiB: alone in its batch
		}
	}
	bad := testSample(99, 1, 16, 64, 64, Int16)
	bad.Images[0].Depth = 3 // refused: dims disagree with the bytes
	opts := WriteOptions{MaxSamples: 5, BatchSamples: 3, RefBytes: 64 << 10}

	ref := t.TempDir()
	rw, err := CreateShard(ref, "shard-00000", opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		if err := rw.Add(&ss[i]); err != nil {
			t.Fatal(err)
		}
	}
	want, err := rw.Close()
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	opts.Overlap = true
	w, err := CreateShard(dir, "shard-00000", opts)
	if err != nil {
		t.Fatal(err)
	}
	var added []*Sample
	for i := range ss {
		s := ss[i]
		s.Images = slices.Clone(s.Images)
		s.Images[0].Voxels = slices.Clone(s.Images[0].Voxels)
		if err := w.Add(&s); err != nil {
			t.Fatal(err)
		}
		added = append(added, &s)
		if i == 7 {
			if err := w.Add(&bad); err == nil {
				t.Fatal("a sample whose dims disagree with its bytes was added")
			}
			// A refused Add ends the promise for every earlier sample.
			for _, a := range added {
				clear(a.Images[0].Voxels)
			}
			added = nil
		}
		if k := len(added) - 1 - overlapWindow; k >= 0 {
			clear(added[k].Images[0].Voxels)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}

	got, done, err := ReadShardStats(dir, "shard-00000")
	if err != nil || !done {
		t.Fatalf("stats: %v", err)
	}
	if len(got.Parts) != len(want.Parts) || len(want.Parts) < 3 {
		t.Fatalf("%d parts, reference %d", len(got.Parts), len(want.Parts))
	}
	for i := range want.Parts {
		if got.Parts[i].Arrow.SHA256 != want.Parts[i].Arrow.SHA256 || got.Parts[i].Parquet.SHA256 != want.Parts[i].Parquet.SHA256 {
			t.Fatalf("part %d differs from the reference written without Overlap", i)
		}
	}
}
