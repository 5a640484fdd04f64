package shards

import (
	"bytes"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// countingReaderAt counts the reads and bytes read through it.
type countingReaderAt struct {
	r            io.ReaderAt
	reads, bytes atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.r.ReadAt(p, off)
}

// TestPartIDs: the ids PartIDs reads from an Arrow part are the shard
// reader's, in order, for batches gathered from small samples and for
// volumes written alone; it reads a small fraction of a part of volumes,
// in at most two reads a batch beside the footer's, and stops when told.
func TestPartIDs(t *testing.T) {
	ss := testSamples(40)
	for i := range 4 {
		ss = append(ss, testSample(100+i, 1, 32, 128, 128, Int16)) // 1 MiB: written alone
	}
	for i := 0; i < 300; i++ {
		ss = append(ss, testSample(200+i, 0, 0, 0, 0, Uint8)) // a batch of many rows
	}
	dir := t.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{Parquet: ParquetNone, BatchSamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	path := m.ArrowPaths()[0]
	sh, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	var want []string
	for i := range sh.Len() {
		id, err := sh.ID(i)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	cr := &countingReaderAt{r: f}
	var got []string
	if err := PartIDs(cr, fi.Size(), func(id string) bool { got = append(got, id); return true }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || len(got) != len(ss) {
		t.Fatalf("PartIDs read %d ids, the shard holds %d (%d samples written)", len(got), len(want), len(ss))
	}
	blocks, _ := partBlocks(f, fi.Size())
	t.Logf("%d reads of %d bytes for %d batches in a %d-byte part", cr.reads.Load(), cr.bytes.Load(), len(blocks), fi.Size())
	if reads := cr.reads.Load(); reads > 2+2*int64(len(blocks)) || cr.bytes.Load() > fi.Size()/10 {
		t.Errorf("%d reads of %d bytes for %d batches in a %d-byte part", reads, cr.bytes.Load(), len(blocks), fi.Size())
	}

	var first []string
	if err := PartIDs(f, fi.Size(), func(id string) bool { first = append(first, id); return len(first) < 3 }); err != nil || !slices.Equal(first, want[:3]) {
		t.Errorf("stopping after 3: %v, %v", first, err)
	}

	data, _ := os.ReadFile(path)
	for _, cut := range []int{len(data) - 1, len(data) / 2, 20} {
		if err := PartIDs(bytes.NewReader(data[:cut]), int64(cut), func(string) bool { return true }); err == nil {
			t.Errorf("a part cut to %d bytes read without error", cut)
		}
	}
}

// TestPartIDsEmptyBatch: a batch of no rows, whose id column arrow-go
// writes without even an offsets buffer, holds no ids; the batches around
// it are read.
func TestPartIDsEmptyBatch(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(sc))
	if err != nil {
		t.Fatal(err)
	}
	empty := array.NewStringData(array.NewData(arrow.BinaryTypes.String, 0, []*memory.Buffer{nil, nil, nil}, nil, 0, 0))
	for _, ids := range [][]string{{"a", "b"}, nil, {"c"}} {
		col := arrow.Array(empty)
		if ids != nil {
			b := array.NewStringBuilder(memory.DefaultAllocator)
			b.AppendValues(ids, nil)
			col = b.NewArray()
		}
		if err := w.Write(array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len()))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = PartIDs(bytes.NewReader(buf.Bytes()), int64(buf.Len()), func(id string) bool { got = append(got, id); return true })
	if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ids %v, %v", got, err)
	}
}
