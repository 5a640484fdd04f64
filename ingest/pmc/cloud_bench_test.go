package pmc

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest"
)

// writeInventory writes a synthetic S3 Inventory of n metadata keys in
// PMC's format (every 30th article also has a second version) under dir.
func writeInventory(tb testing.TB, dir string, n int) {
	tb.Helper()
	data := filepath.Join(dir, InventoryPrefix, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(filepath.Join(data, "bench.csv.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	for i := 0; i < n; i++ {
		id, ver := 1000000+i, 1
		if i%31 == 30 {
			id, ver = 1000000+i-1, 2
		}
		fmt.Fprintf(zw, "\"pmc-oa-opendata\",\"metadata/PMC%d.%d.json\",\"2026-02-12T02:59:59.000Z\",\"%032x\"\n", id, ver, i)
	}
	zw.Close()
	f.Close()
	man := filepath.Join(dir, InventoryPrefix, "2026-09-01T01-00Z")
	os.MkdirAll(man, 0o755)
	js := `{"sourceBucket":"pmc-oa-opendata","fileFormat":"CSV","fileSchema":"Bucket, Key, LastModifiedDate, ETag","files":[{"key":"` + InventoryPrefix + `data/bench.csv.gz"}]}`
	if err := os.WriteFile(filepath.Join(man, "manifest.json"), []byte(js), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPlanInventory plans a pipeline over a synthetic inventory of
// MEDMD_PMC_INVENTORY_KEYS metadata keys (default 200000; PMC's holds
// about 8 million) the way `medmd run` does: ingest.MakePlan (the source's
// sharded plan) and the plan record a run compares with the last one,
// which makes every shard's units once. It reports the peak live heap:
// the CSV is streamed and the plan keeps 16 bytes per article, so the
// peak follows the number of articles, not the inventory's bytes. For
// the process's peak RSS run the test binary under /usr/bin/time -v.
func BenchmarkPlanInventory(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("MEDMD_PMC_INVENTORY_KEYS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	t0 := time.Now()
	writeInventory(b, dir, n)
	b.Logf("wrote an inventory of %d keys in %v", n, time.Since(t0).Round(time.Millisecond))
	b.ReportAllocs()
	b.ResetTimer()
	var peak atomic.Uint64
	shardCount := 0
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		params := ingest.Params{"layout": LayoutCloud, "root": dir, "plan_from": PlanInventory, "licences": DefaultLicences}
		src, err := newSource(params, ".")
		if err != nil {
			b.Fatal(err)
		}
		p := &ingest.Pipeline{Name: "plan-bench", Source: ingest.ComponentConfig{Type: SourceName, Params: params},
			Output: ingest.OutputConfig{Dir: filepath.Join(b.TempDir(), "out"), ShardUnits: ingest.DefaultShardUnits,
				ShardInputBytes: 1 << 40, MaxShardBytes: 1 << 30, MaxShardSamples: 1 << 20}}
		plan, err := ingest.MakePlan(context.Background(), p, src)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := plan.Changes(); err != nil {
			b.Fatal(err)
		}
		close(stop)
		<-done
		if want := n - n/31; plan.UnitCount() != want {
			b.Fatalf("%d units, want %d", plan.UnitCount(), want)
		}
		shardCount = len(plan.Shards)
	}
	b.ReportMetric(float64(n), "keys")
	b.ReportMetric(float64(shardCount), "shards")
	b.ReportMetric(float64(peak.Load())/1e6, "peak-heap-MB")
}
