package datasets

import (
	"context"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
)

// TestBucketRoots reads every dataset fixture (testdata/pipelines.yaml)
// twice: from its folder, and with root the same tree in a loopback S3
// bucket. The plans hold the same unit ids, the samples are equal (ids,
// text, images, source paths relative to the root, SHA-256s), the units
// the same sizes (so shards are packed alike), and the same units fail
// with the same reasons, naming the object's URL instead of the file's
// path.
func TestBucketRoots(t *testing.T) {
	srv := s3test.Start(t, "ds")
	srv.PutDir(t, "ds", "testdata/", "testdata")
	checkBucketRoots(t, func(prefix string) string { return srv.URL("ds", prefix) }, "s3://ds/")
}

// TestBucketRootsGCS and TestBucketRootsAzure: the same from gs:// and
// azblob:// roots, on a GCS server and on Azurite.
func TestBucketRootsGCS(t *testing.T) {
	srv := gcstest.Start(t, "ds")
	srv.PutDir(t, "ds", "testdata/", "testdata")
	checkBucketRoots(t, func(prefix string) string { return srv.URL("ds", prefix) }, "gs://ds/")
}

func TestBucketRootsAzure(t *testing.T) {
	srv := azuretest.Start(t, "medmd-ds") // container names have 3 to 63 characters
	srv.PutDir(t, "medmd-ds", "testdata/", "testdata")
	checkBucketRoots(t, func(prefix string) string { return srv.URL("medmd-ds", prefix) }, "azblob://medmd-ds/")
}

// checkBucketRoots compares every dataset fixture read from its folder
// and from the bucket that holds testdata/ (rootURL gives the root of a
// key prefix; objects are named name + key).
func checkBucketRoots(t *testing.T, rootURL func(prefix string) string, name string) {
	t.Helper()
	data, err := os.ReadFile("testdata/pipelines.yaml")
	if err != nil {
		t.Fatal(err)
	}
	local, err := ingest.ParseConfig("testdata/pipelines.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	rootRe := regexp.MustCompile(`root: ([^,}]+)`)
	remoteText := rootRe.ReplaceAllStringFunc(string(data), func(m string) string {
		return `root: "` + rootURL("testdata/"+strings.TrimSpace(strings.TrimPrefix(m, "root: "))) + `"`
	})
	remote, err := ingest.ParseConfig("testdata/pipelines.yaml", []byte(remoteText))
	if err != nil {
		t.Fatal(err)
	}
	abs, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range local.Pipelines {
		if p.Source.Type == "labelled-mix" {
			continue // its roots are the ones above
		}
		t.Run(p.Name, func(t *testing.T) {
			rp, err := remote.Pipeline(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			lsrc, _, err := p.Build(local.BaseDir)
			if err != nil {
				t.Fatal(err)
			}
			rsrc, _, err := rp.Build(remote.BaseDir)
			if err != nil {
				t.Fatal(err)
			}
			l, r := readAll(t, lsrc), readAll(t, rsrc)
			if len(l.units) == 0 || len(l.units) != len(r.units) {
				t.Fatalf("%d units from the folder, %d from the bucket", len(l.units), len(r.units))
			}
			for i := range l.units {
				if l.units[i].ID != r.units[i].ID || l.units[i].Bytes != r.units[i].Bytes {
					t.Errorf("unit %d: %s of %d bytes from the folder, %s of %d from the bucket", i, l.units[i].ID, l.units[i].Bytes, r.units[i].ID, r.units[i].Bytes)
				}
				for _, path := range r.units[i].Paths {
					if !strings.HasPrefix(path, name+"testdata/") {
						t.Errorf("unit %s from the bucket reads %s", r.units[i].ID, path)
					}
				}
			}
			if !reflect.DeepEqual(l.samples, r.samples) {
				t.Errorf("%d samples from the folder, %d from the bucket, not equal", len(l.samples), len(r.samples))
				for i := range min(len(l.samples), len(r.samples)) {
					if !reflect.DeepEqual(l.samples[i], r.samples[i]) {
						t.Errorf("first difference: sample %s / %s", l.samples[i].ID, r.samples[i].ID)
						break
					}
				}
			}
			if len(l.failed) != len(r.failed) {
				t.Errorf("%d units failed from the folder, %d from the bucket", len(l.failed), len(r.failed))
			}
			for id, lerr := range l.failed {
				rerr := r.failed[id]
				want := strings.ReplaceAll(lerr.Error(), abs+"/testdata/", name+"testdata/")
				if rerr == nil || rerr.Error() != want {
					t.Errorf("unit %s: from the bucket %v, want %s", id, rerr, want)
				}
			}
		})
	}
}

// TestBucketRootWhole: a dataset may fill a bucket, its root the bucket
// itself.
func TestBucketRootWhole(t *testing.T) {
	srv := s3test.Start(t, "vqa-rad", "chestxray14")
	for _, typ := range []string{"vqa-rad", "chestxray14"} {
		srv.PutDir(t, typ, "", "testdata/"+typ)
		l, r := runAt(t, typ, "testdata/"+typ), runAt(t, typ, srv.URL(typ, ""))
		if len(l.samples) == 0 || !reflect.DeepEqual(l.samples, r.samples) {
			t.Errorf("%s: %d samples from the folder, %d from the bucket, not equal", typ, len(l.samples), len(r.samples))
		}
	}
}

// TestBucketRootErrors: a root in a bucket that does not exist, or with
// no objects under it, fails the plan with an error naming it.
func TestBucketRootErrors(t *testing.T) {
	srv := s3test.Start(t, "ds")
	srv.Put(t, "ds", "other/x.txt", []byte("x"))
	for _, c := range []struct{ root, want string }{
		{srv.URL("no-such-bucket", "vqa-rad"), "s3://no-such-bucket"},
		{srv.URL("ds", "vqa-rad"), "s3://ds/vqa-rad: no objects under this root"},
	} {
		src := sourceAt(t, "vqa-rad", c.root)
		if _, err := src.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("root %s: plan error %v, want one containing %q", c.root, err, c.want)
		}
	}
}

// TestBucketIndex: planning from a bucket costs a few listings, not a
// request per row: CheXpert looks for each row's image in up to three
// places, MIMIC-CXR lists each study's folder.
func TestBucketIndex(t *testing.T) {
	for _, c := range []struct{ typ, dir, root string }{
		{"chexpert", "chexpert", "CheXpert-v1.0-small"},
		{"mimic-cxr", "mimic-cxr", "physionet.org/files/mimic-cxr-jpg/2.1.0"},
	} {
		var heads, lists atomic.Int64
		srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodHead:
					heads.Add(1)
				case r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
					lists.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		}, "ds")
		srv.PutDir(t, "ds", "", "testdata/"+c.dir)
		units, err := sourceAt(t, c.typ, srv.URL("ds", c.root)).Plan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(units) < 3 || heads.Load() != 0 || lists.Load() > 5 {
			t.Errorf("%s: %d units planned with %d HEAD and %d LIST requests, want no HEAD and a few LISTs", c.typ, len(units), heads.Load(), lists.Load())
		}
	}
}
