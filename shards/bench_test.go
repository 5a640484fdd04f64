package shards

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func benchVolumes(n, d int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = testSample(i, 1, d, 256, 256, Int16)
	}
	return out
}

// BenchmarkWrite compares the Arrow IPC write path with plain writes of
// the same voxel bytes (sub-benchmark "plain").
func BenchmarkWrite(b *testing.B) {
	ss := benchVolumes(16, 64) // 16 × 8 MiB
	var total int64
	for i := range ss {
		total += int64(len(ss[i].Images[0].Voxels))
	}
	dir := benchDir(b)
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(total)
		for b.Loop() {
			f, _ := os.Create(filepath.Join(dir, "plain"))
			for i := range ss {
				f.Write(ss[i].Images[0].Voxels)
			}
			f.Close()
		}
	})
	b.Run("ipc", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for b.Loop() {
			f, _ := os.Create(filepath.Join(dir, "x.arrow"))
			if _, err := WriteIPC(f, SamplesOf(ss), WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("shard", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for k := 0; b.Loop(); k++ {
			w, _ := CreateShard(dir, fmt.Sprintf("shard-%05d", k%2), WriteOptions{})
			for i := range ss {
				w.Add(&ss[i])
			}
			if _, err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRead touches every voxel byte through zero-copy views.
func BenchmarkRead(b *testing.B) {
	ss := benchVolumes(16, 64)
	dir := b.TempDir()
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for i := range ss {
		total += int64(len(ss[i].Images[0].Voxels))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		sh, err := OpenShard(m.ArrowPaths()[0])
		if err != nil {
			b.Fatal(err)
		}
		var s byte
		for i := 0; i < sh.Len(); i++ {
			v, _ := sh.Image(i, 0)
			for j := 0; j < len(v.Voxels); j += 64 {
				s += v.Voxels[j]
			}
		}
		sh.Close()
	}
}

// benchDir is a scratch folder on tmpfs where there is one, so that the
// comparison measures CPU-side write cost, not the disk's writeback.
func benchDir(b *testing.B) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "medmd-bench-")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}

// BenchmarkLoader2D serves epochs of 64×64 uint8 images in batches of 4,
// shuffled (gather) and sequential (views).
func BenchmarkLoader2D(b *testing.B) {
	dir := benchDir(b)
	ss := make([]Sample, 4000)
	for i := range ss {
		ss[i] = testSample(i, 1, 1, 64, 64, Uint8)
	}
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: 400})
	if err != nil {
		b.Fatal(err)
	}
	for _, shuffle := range []bool{true, false} {
		b.Run(fmt.Sprintf("shuffle=%v", shuffle), func(b *testing.B) {
			l, err := NewLoader([]*Manifest{m}, LoaderConfig{Shuffle: shuffle, Workers: 1, Prefetch: 8}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetBytes(4 * 64 * 64)
			b.ReportAllocs()
			for b.Loop() {
				bt, err := l.Next(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				bt.Release()
			}
		})
	}
}

// BenchmarkLoader3D serves 3D batches of two 8 MiB volumes (gathers).
func BenchmarkLoader3D(b *testing.B) {
	dir := benchDir(b)
	m, err := WriteCorpus(dir, "p", "h", SamplesOf(benchVolumes(8, 64)), WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLoader([]*Manifest{m}, LoaderConfig{Shuffle: true, BatchSize3D: 2, Workers: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.SetBytes(2 * 64 * 256 * 256 * 2)
	b.ReportAllocs()
	for b.Loop() {
		bt, err := l.Next(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		bt.Release()
	}
}
