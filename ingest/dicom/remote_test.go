package dicom

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
)

// remoteFixture is a folder in/ of real test files (every top-level
// testdata/*.dcm: several syntaxes, a truncated file) plus a synthetic
// 7-slice CT series, and the same files in a loopback S3 bucket under
// in/.
func remoteFixture(t testing.TB, slices int) (base string, srv *s3test.Server) {
	t.Helper()
	base = t.TempDir()
	in := filepath.Join(base, "in")
	if err := os.MkdirAll(filepath.Join(in, "series"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := t.(*testing.T); ok {
		copyFiles(t, "testdata/*.dcm", in)
	}
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthSeries(filepath.Join(in, "series"), tmpl, SynthOptions{Slices: slices, SeriesUID: "1.2.826.0.1.3680043.2.1125.7", SliceStep: 2}); err != nil {
		t.Fatal(err)
	}
	srv = s3test.Start(t, "dicom")
	srv.PutDir(t, "dicom", "in/", in)
	return base, srv
}

// TestSourceS3 plans and reads the same files from a folder and from a
// loopback S3 server (real S3 HTTP through gocloud's s3blob): the same
// units in the same order, each failing or succeeding alike, and the same
// samples but for the names of their files.
func TestSourceS3(t *testing.T) {
	base, srv := remoteFixture(t, 7)
	checkSameAsDisk(t, base, srv.URL("dicom", "in"), "s3://dicom/in/")
}

// TestSourceGCS: the same from a gs:// root on a GCS server, whose
// objects all carry their CRC-32C and MD5, as in GCS.
func TestSourceGCS(t *testing.T) {
	base, _ := remoteFixture(t, 7)
	srv := gcstest.Start(t, "medmd-dicom")
	srv.PutDir(t, "medmd-dicom", "in/", filepath.Join(base, "in"))
	checkSameAsDisk(t, base, srv.URL("medmd-dicom", "in"), "gs://medmd-dicom/in/")
}

// TestSourceAzure: the same from an azblob:// root on Azurite.
func TestSourceAzure(t *testing.T) {
	base, _ := remoteFixture(t, 7)
	srv := azuretest.Start(t, "medmd-dicom")
	srv.PutDir(t, "medmd-dicom", "in/", filepath.Join(base, "in"))
	checkSameAsDisk(t, base, srv.URL("medmd-dicom", "in"), "azblob://medmd-dicom/in/")
}

// checkSameAsDisk plans and reads the fixture under base from disk and
// from root (whose objects are named url + their path under in/): the
// same units, exclusions, errors and samples, the objects named by URL.
func checkSameAsDisk(t *testing.T, base, root, url string) {
	t.Helper()
	ctx := context.Background()
	local, remote, lu, ru := planBoth(t, base, "in", root)
	if len(lu) < 10 || len(ru) != len(lu) {
		t.Fatalf("%d units from the bucket, %d from disk", len(ru), len(lu))
	}
	if !reflect.DeepEqual(local.PlanExcluded(), remote.PlanExcluded()) {
		t.Errorf("excluded: bucket %v, disk %v", remote.PlanExcluded(), local.PlanExcluded())
	}
	rename := func(s string) string { return strings.ReplaceAll(s, url, "in/") }
	read := 0
	for i := range lu {
		if rename(ru[i].ID) != lu[i].ID || !reflect.DeepEqual(mapStrings(ru[i].Paths, rename), lu[i].Paths) || ru[i].Bytes != lu[i].Bytes {
			t.Errorf("unit %d: bucket %s %q %d, disk %s %q %d", i, ru[i].ID, ru[i].Paths, ru[i].Bytes, lu[i].ID, lu[i].Paths, lu[i].Bytes)
			continue
		}
		if !strings.HasPrefix(ru[i].Paths[0], url) {
			t.Errorf("unit %s: path %q does not name the object", ru[i].ID, ru[i].Paths[0])
		}
		rs, rerr := remote.Read(ctx, ru[i])
		ls, lerr := local.Read(ctx, lu[i])
		if (rerr == nil) != (lerr == nil) {
			t.Errorf("unit %s: bucket error %v, disk error %v", lu[i].ID, rerr, lerr)
			continue
		}
		if rerr != nil {
			if rename(rerr.Error()) != lerr.Error() {
				t.Errorf("unit %s: bucket error %q, disk error %q", lu[i].ID, rerr, lerr)
			}
			continue
		}
		read++
		for k := range rs {
			rs[k].Images[0].SourcePath = rename(rs[k].Images[0].SourcePath)
		}
		if !reflect.DeepEqual(rs, ls) {
			t.Errorf("unit %s: samples differ between bucket and disk", lu[i].ID)
		}
	}
	if read < 5 {
		t.Errorf("only %d units read", read)
	}
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// TestSourceS3Bad: an object deleted, truncated or replaced between
// planning and reading fails its series (the runner quarantines the unit)
// with an error naming the object's URL; the other series still read.
func TestSourceS3Bad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		change  func(t *testing.T, srv *s3test.Server, key string)
		wantErr error
	}{
		{"deleted", func(t *testing.T, srv *s3test.Server, key string) { srv.Delete(t, "dicom", key) }, storage.ErrNotExist},
		{"truncated", func(t *testing.T, srv *s3test.Server, key string) {
			srv.Put(t, "dicom", key, []byte("DICM"))
		}, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, srv := remoteFixture(t, 3)
			src := newTestSource(t, base, ingest.Params{"paths": []string{srv.URL("dicom", "in/series")}})
			units, err := src.Plan(ctx)
			if err != nil || len(units) != 1 || len(units[0].Paths) != 3 {
				t.Fatalf("plan: %v, %v", units, err)
			}
			obj := units[0].Paths[1]
			tc.change(t, srv, strings.TrimPrefix(obj, "s3://dicom/"))
			_, err = src.Read(ctx, units[0])
			if err == nil || !strings.Contains(err.Error(), obj) || !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v naming %s", err, tc.wantErr, obj)
			}
		})
	}
}

// TestSourceS3Unreadable: objects that are not read (a cut archive, a key
// that is not a clean relative path) become units that fail with their
// URL and reason, beside the series that plan normally.
func TestSourceS3Unreadable(t *testing.T) {
	ctx := context.Background()
	base, srv := remoteFixture(t, 3)
	srv.Put(t, "dicom", "in/series/more.zip", []byte("PK\x03\x04"))
	srv.Put(t, "dicom", "in/series/../up.dcm", []byte("x"))
	src := newTestSource(t, base, ingest.Params{"paths": []string{srv.URL("dicom", "in/series")}})
	units, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"file:s3://dicom/in/series/more.zip":  "archive not read",
		"file:s3://dicom/in/series/../up.dcm": "not a safe relative path",
	}
	series := 0
	for _, u := range units {
		if !strings.HasPrefix(u.ID, "file:") {
			series++
			continue
		}
		why, ok := want[u.ID]
		if !ok {
			t.Errorf("unexpected unit %s", u.ID)
			continue
		}
		delete(want, u.ID)
		if _, err := src.Read(ctx, u); err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), strings.TrimPrefix(u.ID, "file:")) {
			t.Errorf("unit %s: err = %v, want %q naming the object", u.ID, err, why)
		}
	}
	if series != 1 || len(want) != 0 {
		t.Errorf("%d series planned, units missing: %v", series, want)
	}
}

// TestPlanS3WritesNothing plans a bucket with the temporary folder made
// unusable (TMPDIR names a plain file): planning reads headers into memory
// and writes no local file per object, so it must still find every series
// (reading, which downloads, may use the folder).
func TestPlanS3WritesNothing(t *testing.T) {
	base, srv := remoteFixture(t, 3)
	notDir := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	local, err := newTestSource(t, base, ingest.Params{"paths": []string{"in"}}).Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src := newTestSource(t, base, ingest.Params{"paths": []string{srv.URL("dicom", "in")}})
	t.Setenv("TMPDIR", notDir)
	units, err := src.Plan(context.Background())
	if err != nil {
		t.Fatalf("plan wrote to the temporary folder: %v", err)
	}
	if len(units) < 10 || len(units) != len(local) {
		t.Errorf("%d units planned from the bucket, %d from disk", len(units), len(local))
	}
}

// planBoth plans the same files from the folder dir under base and from
// the bucket root url.
func planBoth(t *testing.T, base, dir, url string) (local, remote *Source, lu, ru []ingest.Unit) {
	t.Helper()
	local = newTestSource(t, base, ingest.Params{"paths": []string{dir}})
	remote = newTestSource(t, base, ingest.Params{"paths": []string{url}})
	var err error
	if lu, err = local.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ru, err = remote.Plan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return local, remote, lu, ru
}

// putArchive stores an archive under key both in the bucket "dicom" and
// as a file under base.
func putArchive(t *testing.T, srv *s3test.Server, base, key string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(base, filepath.Dir(key)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, key), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Put(t, "dicom", key, data)
}

// archiveOf packs the files of dir (in name order, under prefix/) as a
// zip (deflated), tar or gzipped tar, the three kinds a local walk reads.
func archiveOf(t testing.TB, kind, dir, prefix string) []byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var zw *zip.Writer
	var gw *gzip.Writer
	var tw *tar.Writer
	switch kind {
	case "zip":
		zw = zip.NewWriter(&buf)
	case "tar.gz":
		gw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(gw)
	default:
		tw = tar.NewWriter(&buf)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		name := prefix + "/" + e.Name()
		if zw != nil {
			w, err := zw.Create(name)
			if err == nil {
				_, err = w.Write(data)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	var closers []io.Closer
	if zw != nil {
		closers = append(closers, zw)
	} else {
		closers = append(closers, tw)
	}
	if gw != nil {
		closers = append(closers, gw)
	}
	for _, c := range closers {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestSourceS3Archives plans and reads a zip, a tar and a gzipped tar of
// a synthetic CT series (from a bundled slice) plus the bundled MR
// series, once from local disk and once from the loopback S3 server: the
// same units and the same samples but for the names of their files.
func TestSourceS3Archives(t *testing.T) {
	for _, kind := range []string{"zip", "tar", "tar.gz"} {
		t.Run(kind, func(t *testing.T) {
			base, srv := remoteFixture(t, 5)
			arch := studyArchive(t, base, kind)
			putArchive(t, srv, base, "arch/study."+kind, arch)
			checkArchiveSameAsDisk(t, base, kind, srv.URL("dicom", "arch"), "s3://dicom/arch/")
		})
	}
}

// TestSourceArchivesGCSAzure: the same from gs:// and azblob:// roots, on
// a GCS server and on Azurite (zip members by ranged reads, tars by ranges
// and streams).
func TestSourceArchivesGCSAzure(t *testing.T) {
	for _, kind := range []string{"zip", "tar", "tar.gz"} {
		t.Run(kind, func(t *testing.T) {
			base, _ := remoteFixture(t, 5)
			arch := studyArchive(t, base, kind)
			if err := os.MkdirAll(filepath.Join(base, "arch"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(base, "arch", "study."+kind), arch, 0o644); err != nil {
				t.Fatal(err)
			}
			gcs := gcstest.Start(t, "dicom")
			gcs.Put(t, "dicom", "arch/study."+kind, arch)
			checkArchiveSameAsDisk(t, base, kind, gcs.URL("dicom", "arch"), "gs://dicom/arch/")
			az := azuretest.Start(t, "dicom")
			az.Put(t, "dicom", "arch/study."+kind, arch)
			checkArchiveSameAsDisk(t, base, kind, az.URL("dicom", "arch"), "azblob://dicom/arch/")
		})
	}
}

// studyArchive adds the dcmtk MR series to the fixture's series folder and
// returns an archive (zip, tar or tar.gz) of that folder.
func studyArchive(t *testing.T, base, kind string) []byte {
	t.Helper()
	mr := filepath.Join(base, "in", "series")
	copyFiles(t, "testdata/dcmtk_mr_sv*.dcm", mr)
	return archiveOf(t, kind, mr, "study")
}

// copyFiles copies the files that match pattern into dir.
func copyFiles(t testing.TB, pattern, dir string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata %s: %v", pattern, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkArchiveSameAsDisk plans and reads base/arch (one archive of kind)
// from disk and from root, whose objects are named url + key: the same
// units, each member named by the archive's URL, the same samples.
func checkArchiveSameAsDisk(t *testing.T, base, kind, root, url string) {
	t.Helper()
	ctx := context.Background()
	local, remote, lu, ru := planBoth(t, base, "arch", root)
	if len(lu) == 0 || len(ru) != len(lu) {
		t.Fatalf("%d units from the bucket, %d from disk", len(ru), len(lu))
	}
	rename := func(s string) string { return strings.ReplaceAll(s, url, "arch/") }
	read := 0
	for i := range lu {
		if rename(ru[i].ID) != lu[i].ID || !reflect.DeepEqual(mapStrings(ru[i].Paths, rename), lu[i].Paths) || ru[i].Bytes != lu[i].Bytes {
			t.Errorf("unit %d: bucket %s %q %d, disk %s %q %d", i, ru[i].ID, ru[i].Paths, ru[i].Bytes, lu[i].ID, lu[i].Paths, lu[i].Bytes)
			continue
		}
		if !strings.HasPrefix(ru[i].Paths[0], url+"study."+kind+"!") {
			t.Errorf("unit %s: path %q does not name the archive member", ru[i].ID, ru[i].Paths[0])
		}
		rs, rerr := remote.Read(ctx, ru[i])
		ls, lerr := local.Read(ctx, lu[i])
		if rerr != nil || lerr != nil {
			t.Errorf("unit %s: bucket error %v, disk error %v", lu[i].ID, rerr, lerr)
			continue
		}
		read++
		for k := range rs {
			rs[k].Images[0].SourcePath = rename(rs[k].Images[0].SourcePath)
		}
		if len(rs) == 0 || !reflect.DeepEqual(rs, ls) {
			t.Errorf("unit %s: samples differ between bucket and disk", lu[i].ID)
		}
	}
	if read != len(lu) {
		t.Errorf("%d of %d units read", read, len(lu))
	}
}

// TestSourceS3ArchiveTruncated: an archive object cut short is one unit
// that fails naming its URL (none of its members are planned); one cut
// after planning fails the series that reads from it, naming the URL.
func TestSourceS3ArchiveTruncated(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"zip", "tar", "tar.gz"} {
		t.Run(kind, func(t *testing.T) {
			base, srv := remoteFixture(t, 5)
			arch := archiveOf(t, kind, filepath.Join(base, "in", "series"), "study")
			cut := arch[:len(arch)*2/3]
			srv.Put(t, "dicom", "cut/study."+kind, cut)
			src := newTestSource(t, base, ingest.Params{"paths": []string{srv.URL("dicom", "cut")}})
			units, err := src.Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			obj := "s3://dicom/cut/study." + kind
			if len(units) != 1 || units[0].ID != "file:"+obj {
				t.Fatalf("plan of a cut archive: %v", units)
			}
			if _, err := src.Read(ctx, units[0]); err == nil || !strings.Contains(err.Error(), obj) {
				t.Errorf("err = %v, want one naming %s", err, obj)
			}

			srv.Put(t, "dicom", "later/study."+kind, arch)
			src = newTestSource(t, base, ingest.Params{"paths": []string{srv.URL("dicom", "later")}})
			units, err = src.Plan(ctx)
			if err != nil || len(units) != 1 || strings.HasPrefix(units[0].ID, "file:") {
				t.Fatalf("plan: %v, %v", units, err)
			}
			srv.Put(t, "dicom", "later/study."+kind, cut)
			obj = "s3://dicom/later/study." + kind
			if _, err := src.Read(ctx, units[0]); err == nil || !strings.Contains(err.Error(), obj) {
				t.Errorf("read after the object was cut: err = %v, want one naming %s", err, obj)
			}
		})
	}
}

// TestSourceS3Tars: a series in a tar in a bucket is read without
// streaming the archive once per series, and its samples are those read
// from the same tar on disk. The archive holds CT series of 6 and 3 slices
// of 0.5 MB, all under a name too long for a ustar header, so each member
// has a PAX header before it.
//
// A plain tar is read by range: a series costs its members' bytes and
// headers and little else. A gzipped tar is downloaded once however many
// series read it, at the same time or one after the other, and its local
// copy is gone once the source is closed. An archive replaced after
// planning by one with the same members in the reverse order (each member
// now starts where another did) fails naming its URL.
func TestSourceS3Tars(t *testing.T) {
	ctx := context.Background()
	dir := twoSeries(t)
	prefix := "export/" + strings.Repeat("study-", 20)
	for _, kind := range []string{"tar", "tar.gz"} {
		t.Run(kind, func(t *testing.T) {
			var served atomic.Int64
			srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(countingWriter{w, &served}, r)
				})
			}, "dicom")
			base := t.TempDir()
			key := "arch/export." + kind
			arch := archiveOf(t, kind, dir, prefix)
			putArchive(t, srv, base, key, arch)
			local, remote, lu, ru := planBoth(t, base, "arch", srv.URL("dicom", "arch"))
			if len(lu) != 2 || len(ru) != 2 {
				t.Fatalf("%d units from disk, %d from the bucket, want the two series", len(lu), len(ru))
			}
			rename := func(s string) string { return strings.ReplaceAll(s, "s3://dicom/arch/", "arch/") }
			read := func(i int) {
				rs, err := remote.Read(ctx, ru[i])
				if err != nil {
					t.Errorf("unit %s: %v", ru[i].ID, err)
					return
				}
				ls, err := local.Read(ctx, lu[i])
				if err != nil {
					t.Errorf("unit %s from disk: %v", lu[i].ID, err)
					return
				}
				for k := range rs {
					rs[k].Images[0].SourcePath = rename(rs[k].Images[0].SourcePath)
				}
				if len(rs) == 0 || !reflect.DeepEqual(rs, ls) {
					t.Errorf("unit %s: samples differ between bucket and disk", lu[i].ID)
				}
			}
			served.Store(0)
			if kind == "tar" {
				for i := range ru {
					served.Store(0)
					read(i)
					// Each member costs its bytes, its PAX and ustar headers
					// (1.5 KiB) and its padding; a run may take in one gap
					// of under tarGap.
					limit := ru[i].Bytes + int64(len(ru[i].Paths))*2048 + tarGap
					if got := served.Load(); got > limit || got >= int64(len(arch))-ru[1-i].Bytes/2 {
						t.Errorf("unit %s (%d bytes of %d in the archive): %d bytes fetched, want at most %d", ru[i].ID, ru[i].Bytes, len(arch), got, limit)
					}
				}
			} else {
				var wg sync.WaitGroup
				for i := range ru {
					wg.Add(1)
					go func() { defer wg.Done(); read(i) }()
				}
				wg.Wait()
				read(1)
				read(0)
				if got := served.Load(); got != int64(len(arch)) {
					t.Errorf("%d bytes fetched for the series of a %d-byte archive, want the archive once", got, len(arch))
				}
				tmp := remote.tars.dir
				if err := remote.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(tmp); tmp == "" || !errors.Is(err, os.ErrNotExist) {
					t.Errorf("inflated archives in %q after Close: %v", tmp, err)
				}
			}

			_, remote, _, ru = planBoth(t, base, "arch", srv.URL("dicom", "arch"))
			srv.Put(t, "dicom", key, reversed(t, kind, arch))
			for _, u := range ru {
				if _, err := remote.Read(ctx, u); err == nil || !strings.Contains(err.Error(), "s3://dicom/"+key) {
					t.Errorf("unit %s of a replaced archive: err = %v, want one naming the archive", u.ID, err)
				}
			}
			remote.Close()
		})
	}
}

// twoSeries is a folder holding two synthetic CT series of 6 and 3 slices.
func twoSeries(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "series")
	small := filepath.Join(base, "small")
	for _, d := range []string{dir, small} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: 6, SeriesUID: "1.2.826.0.1.3680043.2.1125.8", SliceStep: 2}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthSeries(small, tmpl, SynthOptions{Slices: 3, SeriesUID: "1.2.826.0.1.3680043.2.1125.9", SliceStep: 3}); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(small)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(small, e.Name()), filepath.Join(dir, "small_"+e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// reversed is the tar (or gzipped tar) arch with its members in the
// reverse order.
func reversed(t *testing.T, kind string, arch []byte) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(arch)
	if kind == "tar.gz" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	type member struct {
		h    *tar.Header
		data []byte
	}
	var ms []member
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{h, data})
	}
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if kind == "tar.gz" {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for i := len(ms) - 1; i >= 0; i-- {
		if err := tw.WriteHeader(ms[i].h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(ms[i].data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// countingWriter counts the bytes of the responses it writes.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// TestLocalTarPlaced: a series in a plain tar on disk is read from where
// planning found its members, not by streaming the archive from its
// start: with every byte before the later series' members zeroed (which
// a streaming read takes for the archive's end), that series still reads
// to the same samples. An archive rewritten since planning with the same
// members in the reverse order fails naming a member.
func TestLocalTarPlaced(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	arch := archiveOf(t, "tar", twoSeries(t), "export/"+strings.Repeat("study-", 20))
	p := filepath.Join(base, "export.tar")
	if err := os.WriteFile(p, arch, 0o644); err != nil {
		t.Fatal(err)
	}
	src := newTestSource(t, base, ingest.Params{"paths": []string{"export.tar"}})
	units, err := src.Plan(ctx)
	if err != nil || len(units) != 2 {
		t.Fatalf("plan: %d units, %v", len(units), err)
	}
	// The unit whose members come later in the archive.
	first := func(u ingest.Unit) int64 {
		at := int64(-1)
		for _, r := range u.Data.(*Series).Refs() {
			if r.At <= 0 {
				t.Fatalf("%s not placed", r)
			}
			if at < 0 || r.Hdr < at {
				at = r.Hdr
			}
		}
		return at
	}
	later := units[0]
	if first(units[1]) > first(later) {
		later = units[1]
	}
	want, err := src.Read(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	damaged := append([]byte(nil), arch...)
	clear(damaged[:first(later)])
	if err := os.WriteFile(p, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := src.Read(ctx, later); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after the bytes before it were zeroed: err %v, samples equal %v", err, reflect.DeepEqual(got, want))
	}
	if err := os.WriteFile(p, reversed(t, "tar", arch), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(ctx, later); err == nil || !strings.Contains(err.Error(), "export.tar!export/") {
		t.Errorf("archive rewritten since planning: err = %v, want one naming a member", err)
	}
}

// TestLocalTarGz: the series of a gzipped tar on disk are read from one
// inflated copy, inflated only as far as the series read so far need,
// to the samples of the same archive uncompressed; the copy is gone after
// Close. An archive rewritten since planning with its members in the
// reverse order fails naming it.
func TestLocalTarGz(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := twoSeries(t)
	prefix := "export/" + strings.Repeat("study-", 20)
	gz := filepath.Join(base, "gz", "export.tar.gz")
	plain := filepath.Join(base, "plain", "export.tar")
	for p, kind := range map[string]string{gz: "tar.gz", plain: "tar"} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, archiveOf(t, kind, dir, prefix), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := newTestSource(t, base, ingest.Params{"paths": []string{"gz"}})
	ref := newTestSource(t, base, ingest.Params{"paths": []string{"plain"}})
	units, err := src.Plan(ctx)
	if err != nil || len(units) != 2 {
		t.Fatalf("plan: %d units, %v", len(units), err)
	}
	refUnits, err := ref.Plan(ctx)
	if err != nil || len(refUnits) != 2 {
		t.Fatalf("plan: %d units, %v", len(refUnits), err)
	}
	// Read the series nearer the archive's start first: the copy then
	// holds its members and not the other series'.
	end := func(u ingest.Unit) (e int64) {
		for _, r := range u.Data.(*Series).Refs() {
			e = max(e, r.At+r.Size)
		}
		return e
	}
	order := []int{0, 1}
	if end(units[1]) < end(units[0]) {
		order = []int{1, 0}
	}
	for k, i := range order {
		got, err := src.Read(ctx, units[i])
		if err != nil {
			t.Fatalf("unit %s: %v", units[i].ID, err)
		}
		want, err := ref.Read(ctx, refUnits[i])
		if err != nil {
			t.Fatal(err)
		}
		for j := range got {
			got[j].Images[0].SourcePath = strings.Replace(got[j].Images[0].SourcePath, "gz/export.tar.gz", "plain/export.tar", 1)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("unit %s: samples differ from the uncompressed archive's", units[i].ID)
		}
		if len(src.tars.entries) != 1 || src.tars.entries[0].grow.n != end(units[i]) {
			t.Errorf("after reading series %d: %d copies, inflated to %d, want one inflated to %d", k, len(src.tars.entries), src.tars.entries[0].grow.n, end(units[i]))
		}
	}
	tmp := src.tars.dir
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("inflated copies in %q after Close: %v", tmp, err)
	}

	// Both series at once, as a run's workers read them: one copy,
	// inflated as far as the later one needs.
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Read(ctx, u); err != nil {
				t.Errorf("unit %s read concurrently: %v", u.ID, err)
			}
		}()
	}
	wg.Wait()
	if len(src.tars.entries) != 1 || src.tars.entries[0].grow.n != max(end(units[0]), end(units[1])) {
		t.Errorf("after reading both at once: %d copies", len(src.tars.entries))
	}
	src.Close()

	if err := os.WriteFile(gz, reversed(t, "tar.gz", archiveOf(t, "tar.gz", dir, prefix)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if _, err := src.Read(ctx, u); err == nil || !strings.Contains(err.Error(), "export.tar.gz") || strings.Contains(err.Error(), "medmd-dicom-tars") {
			t.Errorf("unit %s of a rewritten archive: err = %v, want one naming the archive", u.ID, err)
		}
	}
	src.Close()
}

// TestReadImagesTarGz: ReadImages (dicom2nii, inspect) of a gzipped tar
// holding two series, which it reads from one inflated copy, gives the
// images of the same archive uncompressed, source paths naming the
// archive, not its copy, and leaves no copy behind.
func TestReadImagesTarGz(t *testing.T) {
	ctx := context.Background()
	dir := twoSeries(t)
	base := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	read := func(kind string) *Images {
		p := filepath.Join(base, "export."+kind)
		if err := os.WriteFile(p, archiveOf(t, kind, dir, "export/"), 0o644); err != nil {
			t.Fatal(err)
		}
		im, err := ReadImages(ctx, p, ImagesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return im
	}
	gz, plain := read("tar.gz"), read("tar")
	for _, v := range gz.Volumes {
		for _, im := range v {
			im.SourcePath = strings.Replace(im.SourcePath, "export.tar.gz", "export.tar", 1)
		}
	}
	if len(gz.Volumes) != 2 || !reflect.DeepEqual(gz.Volumes, plain.Volumes) {
		t.Errorf("images of the gzipped tar differ from the plain tar's (%d and %d series)", len(gz.Volumes), len(plain.Volumes))
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
}
