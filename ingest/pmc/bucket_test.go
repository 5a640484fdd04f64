package pmc

import (
	"reflect"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/normalize"
)

// TestPackagesFromBucket: with base_url and oa_list in a loopback S3
// bucket (a mirror of the packages layout), the packages source plans and
// reads the same articles and samples as over HTTP, and a second run
// takes every file from its cache.
func TestPackagesFromBucket(t *testing.T) {
	fake, srv := newFakePMC(t)
	fake.behave = map[string][]string{} // the HTTP side's faults are another test's
	s3 := s3test.Start(t, "pmc")
	for p, data := range fake.files {
		s3.Put(t, "pmc", "pub/pmc/"+p, data)
	}
	base := s3.URL("pmc", "pub/pmc")
	list := s3.URL("pmc", "pub/pmc/oa_file_list.csv")
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
