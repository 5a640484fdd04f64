package shards

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// loaderCorpus writes n samples of mixed kinds over several shards.
func loaderCorpus(t testing.TB, n int) *Manifest {
	t.Helper()
	dir := t.TempDir()
	ss := make([]Sample, n)
	for i := range ss {
		switch i % 5 {
		case 0, 1:
			ss[i] = testSample(i, 1, 1, 8, 8, Uint8) // 2D 8×8
		case 2:
			ss[i] = testSample(i, 1, 4, 8, 8, Int16) // 3D 4×8×8
		case 3:
			ss[i] = testSample(i, 2, 1, 8, 8, Uint8) // two 2D 8×8
		default:
			ss[i] = testSample(i, 1, 1, 16, 8, Uint8) // 2D 16×8
		}
	}
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: 23, BatchSamples: 7})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type served struct {
	Epoch, Index int
	IDs          []string
}

// drain takes k batches and records them.
func drain(t *testing.T, l *Loader, k int) []served {
	t.Helper()
	var out []served
	for i := 0; i < k; i++ {
		b, err := l.Next(context.Background())
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		out = append(out, record(t, b))
	}
	return out
}

// drainAll takes batches until the loader's epochs end, and records them.
func drainAll(t *testing.T, l *Loader) []served {
	t.Helper()
	var out []served
	for {
		b, err := l.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("batch %d: %v", len(out), err)
		}
		out = append(out, record(t, b))
	}
}

// record checks and releases a batch, keeping what identifies it.
func record(t *testing.T, b *Batch) served {
	t.Helper()
	// Strings are views valid until Release (readable until Close):
	// clone what outlives the batch.
	ids := make([]string, len(b.IDs))
	for i, id := range b.IDs {
		ids[i] = strings.Clone(id)
	}
	checkBatch(t, b)
	s := served{b.Epoch, b.Index, ids}
	b.Release()
	return s
}

// checkBatch checks shape, mask and that Voxels matches the views.
func checkBatch(t *testing.T, b *Batch) {
	t.Helper()
	if b.Kind == KindText || b.Kind == KindMixed {
		return
	}
	B, N := b.Shape[0], b.Shape[1]
	img := b.Shape[2] * b.Shape[3] * b.Shape[4] * b.Shape[5] * b.DType.Size()
	if B != len(b.IDs) || len(b.Voxels) != B*N*img || len(b.Mask) != B*N {
		t.Fatalf("batch %d: shape %v, %d voxel bytes, %d ids", b.Index, b.Shape, len(b.Voxels), len(b.IDs))
	}
	if (b.Kind == Kind3D) != (b.Shape[3] > 1) {
		t.Fatalf("batch %d mixes kinds: %s with shape %v", b.Index, b.Kind, b.Shape)
	}
	for i, views := range b.Views {
		for k := 0; k < N; k++ {
			slot := b.Voxels[(i*N+k)*img : (i*N+k+1)*img]
			if k < len(views) {
				if !b.Mask[i*N+k] || string(slot) != string(views[k]) {
					t.Fatalf("batch %d sample %d image %d: slot differs from view", b.Index, i, k)
				}
			} else if b.Mask[i*N+k] {
				t.Fatalf("batch %d: mask set for a missing image", b.Index)
			}
		}
	}
}

func TestLoaderOrderIndependentOfWorkers(t *testing.T) {
	m := loaderCorpus(t, 97)
	var ref []served
	for _, workers := range []int{1, 2, 4} {
		l, err := NewLoader([]*Manifest{m}, LoaderConfig{Seed: 7, Shuffle: true, Workers: workers, Prefetch: 16, BlockSize: 8, Window: 16}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, l, 2*l.Len()+3) // crosses two epoch boundaries
		l.Close()
		if ref == nil {
			ref = got
			continue
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("workers=%d serve a different order", workers)
		}
	}
	// The seed matters, and epochs differ.
	l, _ := NewLoader([]*Manifest{m}, LoaderConfig{Seed: 8, Shuffle: true, BlockSize: 8, Window: 16}, nil)
	defer l.Close()
	if reflect.DeepEqual(l.GlobalOrder(0), l.GlobalOrder(1)) {
		t.Fatal("epochs 0 and 1 have the same order")
	}
	if got := drain(t, l, 5); reflect.DeepEqual(got, ref[:5]) {
		t.Fatal("seed does not change the order")
	}
}

func TestLoaderRanksUnionIsGlobalOrder(t *testing.T) {
	m := loaderCorpus(t, 101)
	for _, pad := range []bool{false, true} {
		cfg := LoaderConfig{Seed: 3, Shuffle: true, BlockSize: 4, Window: 8, PadTail: pad}
		single, _ := NewLoader([]*Manifest{m}, cfg, nil)
		global := single.GlobalOrder(0)
		single.Close()
		const world = 3
		perRank := make([][]served, world)
		lens := map[int]bool{}
		for r := 0; r < world; r++ {
			c := cfg
			c.Rank, c.World = r, world
			l, err := NewLoader([]*Manifest{m}, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			perRank[r] = drain(t, l, l.Len())
			lens[l.Len()] = true
			l.Close()
		}
		if len(lens) != 1 {
			t.Fatalf("pad=%v: ranks get different batch counts %v", pad, lens)
		}
		var union [][]string
		for i := 0; i < len(perRank[0]); i++ {
			for r := 0; r < world; r++ {
				union = append(union, perRank[r][i].IDs)
			}
		}
		n := len(global) / world * world
		if pad {
			n = len(union)
		}
		want := make([][]string, 0, n)
		for g := 0; g < n; g++ {
			want = append(want, global[g%len(global)])
		}
		if !reflect.DeepEqual(union, want) {
			t.Fatalf("pad=%v: union over ranks is not the global order (%d vs %d batches)", pad, len(union), len(want))
		}
	}
}

func TestLoaderResumeExact(t *testing.T) {
	m := loaderCorpus(t, 60)
	cfg := LoaderConfig{Seed: 11, Shuffle: true, BlockSize: 4, Window: 8, Workers: 3, Prefetch: 12}
	l, _ := NewLoader([]*Manifest{m}, cfg, nil)
	want := drain(t, l, 40)
	l.Close()
	// Resume twice: 13 batches, then 9, then the rest.
	var got []served
	var st *LoaderState
	for _, k := range []int{13, 9, 18} {
		l, err := NewLoader([]*Manifest{m}, cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, drain(t, l, k)...)
		s := l.State()
		st = &s
		l.Close()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("resumed stream differs from the uninterrupted one")
	}
	// Refuse another manifest or seed.
	other := loaderCorpus(t, 61)
	if _, err := NewLoader([]*Manifest{other}, cfg, st); err == nil {
		t.Fatal("resume accepted a different manifest")
	}
	c2 := cfg
	c2.Seed = 12
	if _, err := NewLoader([]*Manifest{m}, c2, st); err == nil {
		t.Fatal("resume accepted a different seed")
	}
}

func TestLoaderViewsAliasMapping(t *testing.T) {
	m := loaderCorpus(t, 40)
	// Sequential, 2D batches of adjacent same-shape samples: views.
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{BatchSize2D: 2, Epochs: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	contiguous, gathered := 0, 0
	for {
		b, err := l.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		checkBatch(t, b)
		for i, views := range b.Views {
			for _, v := range views {
				ok := false
				for _, p := range l.parts {
					ok = ok || inside(v, p.shard.Mapping())
				}
				if !ok {
					t.Fatalf("batch %d sample %d: view is not inside a mapping", b.Index, i)
				}
			}
		}
		if b.Contiguous {
			contiguous++
			if !inside(b.Voxels, l.parts[0].shard.Mapping()) && !func() bool {
				for _, p := range l.parts {
					if inside(b.Voxels, p.shard.Mapping()) {
						return true
					}
				}
				return false
			}() {
				t.Fatal("contiguous batch is not a view of a mapping")
			}
		} else if len(b.Voxels) > 0 {
			gathered++
		}
		b.Release()
	}
	if contiguous == 0 || gathered == 0 {
		t.Fatalf("want both kinds of batch; contiguous=%d gathered=%d", contiguous, gathered)
	}
}

type wordCount struct{}

func (wordCount) Encode(s string) []int { return []int{len(s)} }

func TestLoaderTokenizerAndWeights(t *testing.T) {
	m := loaderCorpus(t, 30)
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{Tokenizer: wordCount{}, Epochs: 1,
		SourceWeights: map[string]float64{"nifti": 2, "pmc-oa": 0}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	counts := map[string]int{}
	for {
		b, err := l.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.IDs {
			counts[b.Sources[i]]++
			if b.InstructionTokens[i][0] != len(b.Instructions[i]) {
				t.Fatal("tokenizer output missing")
			}
		}
		b.Release()
	}
	if counts["nifti"] != 20 || counts["pmc-oa"] != 0 || counts["vqa-rad"] != 10 {
		t.Fatalf("weighted counts %v", counts)
	}
}

func TestLoaderRefusesCorruptShard(t *testing.T) {
	m := loaderCorpus(t, 30)
	path := m.ArrowPaths()[0]
	b, _ := os.ReadFile(path)
	// Flip a voxel byte: only the checksum can notice it.
	sh, err := OpenShard(path)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sh.Image(0, 0)
	off := int(uintptr(unsafe.Pointer(&v.Voxels[0])) - uintptr(unsafe.Pointer(&sh.Mapping()[0])))
	sh.Close()
	b[off] ^= 1
	os.WriteFile(path, b, 0o644)
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{}, nil)
	if err != nil {
		t.Fatalf("metadata scan rejected a voxel-byte flip: %v", err)
	}
	defer l.Close()
	_, err = l.Next(context.Background())
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("loader served a corrupt shard: %v", err)
	}
	if _, err2 := l.Next(context.Background()); err2 == nil {
		t.Fatal("error is not sticky")
	}
}
