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

// BenchmarkPlanInventory plans from a synthetic inventory of
// MEDMD_PMC_INVENTORY_KEYS metadata keys (default 200000; PMC's holds
// about 8 million) and reports the peak live heap: the CSV is streamed, so
// the peak follows the number of articles, not the inventory's bytes.
func BenchmarkPlanInventory(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("MEDMD_PMC_INVENTORY_KEYS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	writeInventory(b, dir, n)
	b.ReportAllocs()
	b.ResetTimer()
	var peak atomic.Uint64
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
		c := &Cloud{Root: dir}
		units, err := c.Plan(context.Background(), Filter{})
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if want := n - n/31; len(units) != want {
			b.Fatalf("%d units, want %d", len(units), want)
		}
	}
	b.ReportMetric(float64(n), "keys")
	b.ReportMetric(float64(peak.Load())/1e6, "peak-heap-MB")
}
