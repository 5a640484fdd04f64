package dicom

import (
	"context"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest"
)

// BenchmarkReadSeriesS3 reads one 200-file CT series (synthetic slices of
// a real CT file) through the source from local disk and from a loopback
// S3 server with the default concurrency, alternating within each
// iteration so that both see the same machine load. It reports each
// store's throughput and their ratio s3/local (larger is better; 1 means
// the bucket costs nothing). The loopback server runs in this process, so
// its CPU competes with the reader's: on a busy or small machine the ratio
// understates what a real S3 endpoint with its own CPUs would give.
func BenchmarkReadSeriesS3(b *testing.B) {
	ctx := context.Background()
	base, srv := remoteFixture(b, 200)
	local := benchSource(b, base, "in/series")
	remote := benchSource(b, base, srv.URL("dicom", "in/series"))
	lu, err := local.Plan(ctx)
	if err != nil || len(lu) != 1 {
		b.Fatalf("plan: %d units, %v", len(lu), err)
	}
	ru, err := remote.Plan(ctx)
	if err != nil || len(ru) != 1 {
		b.Fatalf("plan: %d units, %v", len(ru), err)
	}
	bytes := lu[0].Bytes
	b.SetBytes(2 * bytes)
	b.ReportAllocs()
	var tLocal, tS3 time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := local.Read(ctx, lu[0]); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := remote.Read(ctx, ru[0]); err != nil {
			b.Fatal(err)
		}
		tLocal += t1.Sub(t0)
		tS3 += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(bytes)*n/tLocal.Seconds()/1e6, "local-MB/s")
	b.ReportMetric(float64(bytes)*n/tS3.Seconds()/1e6, "s3-MB/s")
	b.ReportMetric(tLocal.Seconds()/tS3.Seconds(), "s3/local")
}

func benchSource(b *testing.B, base, path string) *Source {
	src, err := newSource(ingest.Params{"paths": []string{path}, "canonical": true, "max_voxels": DefaultMaxVoxels,
		"task": "modality", "instruction": "What imaging modality is shown in this image?"}, base)
	if err != nil {
		b.Fatal(err)
	}
	return src.(*Source)
}
