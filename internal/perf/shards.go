package perf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/shards"
)

// perfVolumes makes n int16 volumes of d×256×256 with varied bytes.
func perfVolumes(n, d int) []shards.Sample {
	out := make([]shards.Sample, n)
	for i := range out {
		im := shards.Image{Modality: "CT", DType: shards.Int16, Channels: 1, Depth: d, Height: 256, Width: 256, Affine: shards.IdentityAffine()}
		im.Voxels = make([]byte, im.NumVoxels()*2)
		for j := 0; j < len(im.Voxels); j += 4096 {
			im.Voxels[j] = byte(i + j>>12)
		}
		out[i] = shards.Sample{ID: shards.MakeID("perf", fmt.Sprint(i)), Source: "perf", Task: shards.TaskReport,
			Response: "synthetic volume", Images: []shards.Image{im}}
	}
	return out
}

// ctVolumes is the corpus the shards and storage groups write: 32 int16
// volumes of 64×256×256 (8 MiB each, 256 MiB in all), 8 of 16×256×256
// with --quick; key names it in results, voxBytes is its voxel bytes.
func ctVolumes(quick bool) (ss []shards.Sample, key string, voxBytes int64) {
	n, d := 32, 64
	if quick {
		n, d = 8, 16
	}
	ss = perfVolumes(n, d)
	for i := range ss {
		voxBytes += int64(len(ss[i].Images[0].Voxels))
	}
	return ss, fmt.Sprintf("%dx%dx256x256_int16", n, d), voxBytes
}

// shardsGroup times the Arrow IPC shard writer and whole shards of each
// Parquet layout against plain writes of the same voxel bytes, the heap a
// zero-copy read allocates against a 1 MiB budget, and native-resolution
// ingest of a CT series against dcm2niix with the bytes it leaves on disk
// (nativeIngest).
func shardsGroup(ctx context.Context, o Options) ([]Result, error) {
	// Each timing is a tenth of a second of writing to memory, and on a
	// shared virtual machine either side's repeats vary by a fifth: at
	// least seven each keep one slow repeat from deciding a ratio (three
	// put the same code at 0.49 and 0.62 of its baseline).
	reps := max(o.Repeats, 7)
	if o.Quick {
		reps = 3
	}
	ss, key, voxBytes := ctVolumes(o.Quick)
	// Both writers target tmpfs where there is one: the goal compares the
	// CPU-side cost of the Arrow IPC writer with plain writes, and on a
	// disk the writeback throttling of whichever runs second dominates.
	// Every timed write ends with fsync, as a shard's publish does (on
	// tmpfs it costs nothing; on a disk both sides pay it).
	scratch := o.TempDir
	if d, err := os.MkdirTemp("/dev/shm", "medmd-perf-"); err == nil {
		scratch = d
		defer os.RemoveAll(d)
	}
	path := filepath.Join(scratch, "perf-shard.arrow")

	timeIt := func(f func() error) (float64, error) {
		t := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		return time.Since(t).Seconds(), nil
	}
	// plainRate times the baseline once: the voxel bytes written to a
	// new file in dir, fsynced, closed, removed. lastPlainCPU is its CPU
	// time.
	var lastPlainCPU float64
	plainRate := func(dir string) (float64, error) {
		plain := filepath.Join(dir, "perf-plain.bin")
		c0 := cpuTime()
		defer func() { lastPlainCPU = (cpuTime() - c0).Seconds() }()
		t, err := timeIt(func() error {
			f, err := os.Create(plain)
			if err != nil {
				return err
			}
			for i := range ss {
				if _, err := f.Write(ss[i].Images[0].Voxels); err != nil {
					f.Close()
					return err
				}
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
		os.Remove(plain)
		return float64(voxBytes) / t / 1e6, err
	}
	var ours, base []float64
	for r := 0; r < reps; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Alternate so page-cache state and the load of whatever else
		// runs on the machine favour neither.
		b, err := plainRate(scratch)
		if err != nil {
			return nil, err
		}
		to, err := timeIt(func() error {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if _, err := shards.WriteIPC(f, shards.SamplesOf(ss), shards.WriteOptions{}); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
		if err != nil {
			return nil, err
		}
		os.Remove(path)
		base = append(base, b)
		ours = append(ours, float64(voxBytes)/to/1e6)
	}
	write := Result{Name: "shards/ipc_write/" + key, Unit: "MB/s", Value: stats.Median(ours),
		BaselineName: "os.File.Write+fsync of the same voxel bytes", BaselineValue: stats.Median(base), Goal: 0.70}
	write.Finish(true)

	// Whole shards, per Parquet layout: Arrow IPC hashed while written,
	// per-image SHA-256 ("metadata"), Parquet, fsync/rename publish,
	// stats and manifest. "metadata" (the default) has a goal: voxels are
	// stored once, so creating a shard should run near write speed.
	// The others are informational: "full" compresses every voxel, and
	// "metadata" on the output disk (o.TempDir, baseline written there
	// too) is what a run writing to a local disk sees.
	var creates []Result
	for _, c := range []struct {
		layout shards.ParquetLayout
		codec  shards.ParquetCompression
		goal   float64
		dir    string
		suffix string
	}{
		{shards.ParquetMetadata, "zstd", 0.5, scratch, ""},
		{shards.ParquetNone, "", 0, scratch, ""},
		{shards.ParquetFull, "zstd", 0, scratch, ""},
		{shards.ParquetFull, "zstd-fast", 0, scratch, ""},
		{shards.ParquetMetadata, "zstd", 0, o.TempDir, "_disk"},
	} {
		// Each row times its own baseline, alternating with its runs. CPU
		// seconds (every thread's) go beside the wall-clock rates: on a
		// shared machine the wall time includes waiting for a core.
		var rates, baseRates, cpus, baseCPUs []float64
		var disk, arrowBytes int64
		for r := 0; r < reps; r++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := plainRate(c.dir)
			if err != nil {
				return nil, err
			}
			baseRates = append(baseRates, b)
			baseCPUs = append(baseCPUs, lastPlainCPU)
			dir := filepath.Join(c.dir, "perf-corpus")
			var m *shards.Manifest
			c0 := cpuTime()
			t, err := timeIt(func() error {
				var err error
				m, err = shards.WriteCorpus(dir, "perf", "perf", shards.SamplesOf(ss), shards.WriteOptions{Parquet: c.layout, ParquetCompression: c.codec, Overlap: true})
				return err
			})
			if err != nil {
				return nil, err
			}
			cpus = append(cpus, (cpuTime() - c0).Seconds())
			disk, arrowBytes = m.Bytes, 0
			for _, sh := range m.Shards {
				for _, p := range sh.Parts {
					arrowBytes += p.Arrow.Bytes
				}
			}
			os.RemoveAll(dir)
			rates = append(rates, float64(voxBytes)/t/1e6)
		}
		name := "create_shard_" + string(c.layout)
		if c.codec != "" && c.layout != shards.ParquetMetadata {
			name += "_" + string(c.codec)
		}
		name += c.suffix
		res := Result{Name: "shards/" + name + "/" + key, Unit: "MB/s", Value: stats.Median(rates),
			BaselineName: "os.File.Write+fsync of the same voxel bytes", BaselineValue: stats.Median(baseRates), Goal: c.goal,
			Extra: map[string]float64{"shard_bytes_over_arrow_bytes": float64(disk) / float64(arrowBytes),
				"cpu_s": stats.Median(cpus), "baseline_cpu_s": stats.Median(baseCPUs)}}
		res.Finish(true)
		creates = append(creates, res)
	}

	// Zero-copy read: heap allocated while opening the shard and touching
	// every voxel byte, against the 1 MiB budget.
	dir := filepath.Join(scratch, "perf-read")
	defer os.RemoveAll(dir)
	m, err := shards.WriteCorpus(dir, "perf", "perf", shards.SamplesOf(ss), shards.WriteOptions{})
	if err != nil {
		return nil, err
	}
	ss = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var sum byte
	t0 := time.Now()
	sh, err := shards.OpenShard(m.ArrowPaths()[0])
	if err != nil {
		return nil, err
	}
	for i := 0; i < sh.Len(); i++ {
		v, err := sh.Image(i, 0)
		if err != nil {
			sh.Close()
			return nil, err
		}
		for j := 0; j < len(v.Voxels); j += 64 {
			sum += v.Voxels[j]
		}
	}
	elapsed := time.Since(t0)
	runtime.ReadMemStats(&after)
	sh.Close()
	heap := float64(after.TotalAlloc - before.TotalAlloc)
	zc := Result{Name: "shards/zero_copy_read_heap/" + key, Unit: "bytes", Value: heap,
		BaselineName: "1 MiB budget", BaselineValue: 1 << 20, Goal: 1,
		Extra: map[string]float64{"voxel_bytes": float64(voxBytes), "touch_GBps": float64(voxBytes) / elapsed.Seconds() / 1e9, "checksum": float64(sum)}}
	if heap == 0 {
		zc.Value = 1 // Finish treats 0 as "no measurement"
	}
	zc.Finish(false)
	ingestResults, err := nativeIngest(ctx, o)
	if err != nil {
		return nil, err
	}
	return slices.Concat([]Result{write}, creates, []Result{zc}, ingestResults), nil
}
