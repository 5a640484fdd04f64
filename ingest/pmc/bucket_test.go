package pmc

import (
	"reflect"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/normalize"
)

// TestPackagesFromBucket: with base_url and oa_list in a loopback S3
// bucket (a mirror of the packages layout), the packages source plans and
// reads the same articles and samples as over HTTP, and a second run
// takes every file from its cache.
func TestPackagesFromBucket(t *testing.T) {
	s3 := s3test.Start(t, "pmc")
	checkPackagesFromBucket(t, func(key string, data []byte) { s3.Put(t, "pmc", key, data) },
		func(prefix string) string { return s3.URL("pmc", prefix) })
}

// TestPackagesFromGCS and TestPackagesFromAzure: the same with the mirror
// in gs:// and azblob:// roots, on a GCS server and on Azurite.
func TestPackagesFromGCS(t *testing.T) {
	srv := gcstest.Start(t, "medmd-pmc")
	checkPackagesFromBucket(t, func(key string, data []byte) { srv.Put(t, "medmd-pmc", key, data) },
		func(prefix string) string { return srv.URL("medmd-pmc", prefix) })
}

func TestPackagesFromAzure(t *testing.T) {
	srv := azuretest.Start(t, "medmd-pmc")
	checkPackagesFromBucket(t, func(key string, data []byte) { srv.Put(t, "medmd-pmc", key, data) },
		func(prefix string) string { return srv.URL("medmd-pmc", prefix) })
}

// checkPackagesFromBucket puts the fake PMC's files under pub/pmc/ with
// put and reads them back through rootURL's roots.
func checkPackagesFromBucket(t *testing.T, put func(key string, data []byte), rootURL func(prefix string) string) {
	t.Helper()
	fake, srv := newFakePMC(t)
	fake.behave = map[string][]string{} // the HTTP side's faults are another test's
	for p, data := range fake.files {
		put("pub/pmc/"+p, data)
	}
	base := rootURL("pub/pmc")
	list := rootURL("pub/pmc/oa_file_list.csv")
	opts := SampleOptions{OA: true, Inline: true, CaseReport: true, MaxImagesInline: 3, MaxImagesCase: 8, Image: normalize.Image2DOptions{MaxPixels: 1 << 20}}
	bucketSource := func(cache string) *Source {
		f := &Fetcher{Base: base, CacheDir: cache, Concurrency: 3, Timeout: 10 * time.Second}
		return NewSource(list, Filter{Licences: DefaultLicences}, f, opts)
	}

	wantUnits, want := readAll(t, newTestSource(srv, t.TempDir(), Filter{Licences: DefaultLicences}))
	cache := t.TempDir()
	src := bucketSource(cache)
	units, got := readAll(t, src)
	if len(units) != len(wantUnits) || len(got) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d units and %d articles' samples from the bucket, %d and %d over HTTP, not equal", len(units), len(got), len(wantUnits), len(want))
	}
	for i := range units {
		if units[i].ID != wantUnits[i].ID {
			t.Errorf("unit %d: %s from the bucket, %s over HTTP", i, units[i].ID, wantUnits[i].ID)
		}
	}
	if n := src.fetcher.Downloads.Load(); n != int64(len(units))+1 {
		t.Errorf("%d downloads, want the list and %d packages", n, len(units))
	}

	again := bucketSource(cache)
	readAll(t, again)
	if d, h := again.fetcher.Downloads.Load(), again.fetcher.CacheHits.Load(); d != 0 || h != int64(len(units))+1 {
		t.Errorf("second run: %d downloads, %d cache hits; want every file from the cache", d, h)
	}
}
