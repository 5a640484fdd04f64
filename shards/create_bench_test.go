package shards

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time so far. The benchmarks
// report it per op ("cpu-ns/op") beside wall time: on a machine shared
// with other work, wall time measures the neighbours, CPU time the code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreateShard times WriteCorpus per Parquet layout against
// plain writes (and fsync) of the same voxel bytes, as `medmd perf
// shards` does.
func BenchmarkCreateShard(b *testing.B) {
	ss := benchVolumes(32, 64) // 32 × 8 MiB
	var total int64
	for i := range ss {
		total += int64(len(ss[i].Images[0].Voxels))
	}
	dir := benchDir(b)
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(total)
		c0 := cpuTime()
		for b.Loop() {
			f, _ := os.Create(filepath.Join(dir, "plain"))
			for i := range ss {
				f.Write(ss[i].Images[0].Voxels)
			}
			f.Sync()
			f.Close()
			os.Remove(filepath.Join(dir, "plain"))
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	})
	for _, layout := range []ParquetLayout{ParquetMetadata, ParquetNone} {
		b.Run(string(layout), func(b *testing.B) {
			b.SetBytes(total)
			c0 := cpuTime()
			for b.Loop() {
				out := filepath.Join(dir, "corpus")
				if _, err := WriteCorpus(out, "bench", "bench", SamplesOf(ss), WriteOptions{Parquet: layout, Overlap: true}); err != nil {
					b.Fatal(err)
				}
				os.RemoveAll(out)
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
