package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// keys are stored in both backends of TestSameAsS3mem: nested "folders",
// a key that is a prefix of others, and keys that sort around "/".
var keys = []string{"a", "a/b", "a/b/c", "a/d", "a-b", "a.b", "b/x", "b/y/z", "c"}

// both returns s3mem and s3store with bucket "bk" holding keys, each
// object's body its key repeated.
func both(t *testing.T) map[string]gofakes3.Backend {
	t.Helper()
	out := map[string]gofakes3.Backend{"s3mem": s3mem.New(), "s3store": New()}
	for _, be := range out {
		if err := be.CreateBucket("bk"); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			body := bytes.Repeat([]byte(k), 3)
			if _, err := be.PutObject("bk", k, map[string]string{}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// TestSameAsS3mem: listings (prefix, delimiter, marker, page size), ranged
// reads, deletes and conditional puts answer as gofakes3's own in-memory
// backend does, ETags aside.
func TestSameAsS3mem(t *testing.T) {
	str := func(s string) *string { return &s }
	lists := []struct {
		prefix, delim *string
		marker        string
		max           int64
	}{
		{}, {prefix: str("a")}, {prefix: str("a/")}, {delim: str("/")}, {prefix: str("a"), delim: str("/")},
		{prefix: str("b/"), delim: str("/")}, {marker: "a/b"}, {max: 2}, {marker: "a-b", max: 3},
		{delim: str("/"), max: 2}, {marker: "b/x", max: 2}, {prefix: str("zz")}, {marker: "zz"},
	}
	bes := both(t)
	list := func(be gofakes3.Backend, i int) string {
		l := lists[i]
		p := gofakes3.NewPrefix(l.prefix, l.delim)
		ol, err := be.ListBucket("bk", &p, gofakes3.ListBucketPage{Marker: l.marker, HasMarker: l.marker != "", MaxKeys: l.max})
		if err != nil {
			return err.Error()
		}
		var s []string
		for _, c := range ol.Contents {
			s = append(s, fmt.Sprintf("%s:%d", c.Key, c.Size))
		}
		for _, c := range ol.CommonPrefixes {
			s = append(s, "prefix "+c.Prefix)
		}
		if !ol.IsTruncated {
			ol.NextMarker = "" // meaningless then; s3mem may set it
		}
		return fmt.Sprint(s, ol.IsTruncated, ol.NextMarker)
	}
	for i := range lists {
		if a, b := list(bes["s3mem"], i), list(bes["s3store"], i); a != b {
			t.Errorf("list %+v: s3mem %s, s3store %s", lists[i], a, b)
		}
	}

	get := func(be gofakes3.Backend, key string, rng *gofakes3.ObjectRangeRequest) string {
		o, err := be.GetObject("bk", key, rng)
		if err != nil {
			return "error " + err.Error()
		}
		defer o.Contents.Close()
		b, _ := io.ReadAll(o.Contents)
		return fmt.Sprintf("%q %d %+v", b, o.Size, o.Range)
	}
	for _, g := range []struct {
		key string
		rng *gofakes3.ObjectRangeRequest
	}{
		{"a/b", nil}, {"a/b", &gofakes3.ObjectRangeRequest{Start: 1, End: 4}},
		{"a/b/c", &gofakes3.ObjectRangeRequest{Start: 2, End: gofakes3.RangeNoEnd}},
		{"a/b/c", &gofakes3.ObjectRangeRequest{FromEnd: true, End: 3}}, {"nope", nil},
	} {
		if a, b := get(bes["s3mem"], g.key, g.rng), get(bes["s3store"], g.key, g.rng); a != b {
			t.Errorf("get %s %+v: s3mem %s, s3store %s", g.key, g.rng, a, b)
		}
	}

	for name, be := range bes {
		if _, err := be.DeleteMulti("bk", "a", "c", "never"); err != nil {
			t.Fatal(err)
		}
		if _, err := be.DeleteObject("bk", "a/d"); err != nil {
			t.Fatal(err)
		}
		if err := be.DeleteBucket("bk"); !gofakes3.HasErrorCode(err, gofakes3.ErrBucketNotEmpty) {
			t.Errorf("%s: deleting a bucket with objects: %v", name, err)
		}
		exists := &gofakes3.PutConditions{IfNoneMatch: str("*")}
		_, errOld := be.PutObject("bk", "a/b", nil, bytes.NewReader(nil), 0, exists)
		_, errNew := be.PutObject("bk", "new", nil, bytes.NewReader(nil), 0, exists)
		if !gofakes3.HasErrorCode(errOld, gofakes3.ErrPreconditionFailed) || errNew != nil {
			t.Errorf("%s: If-None-Match on an existing key: %v, on a new one: %v", name, errOld, errNew)
		}
	}
	if a, b := list(bes["s3mem"], 0), list(bes["s3store"], 0); a != b {
		t.Errorf("after deletes: s3mem %s, s3store %s", a, b)
	}
}

// TestListPagesWithDelimiter: a listing by delimiter in pages of one
// returns each key or common prefix once, as S3 does: a key that rolls up
// into a prefix an earlier page returned is not listed again (gofakes3's
// own backend lists the prefix again on every page).
func TestListPagesWithDelimiter(t *testing.T) {
	be := New()
	be.CreateBucket("bk")
	for _, k := range []string{"a/1", "a/2", "a/3", "b", "c/1", "d"} {
		be.PutObject("bk", k, nil, bytes.NewReader(nil), 0, nil)
	}
	slash := "/"
	p := gofakes3.NewPrefix(nil, &slash)
	var got []string
	page := gofakes3.ListBucketPage{MaxKeys: 1}
	for range 10 {
		ol, err := be.ListBucket("bk", &p, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ol.Contents {
			got = append(got, c.Key)
		}
		for _, c := range ol.CommonPrefixes {
			got = append(got, c.Prefix)
		}
		if !ol.IsTruncated {
			break
		}
		page.Marker, page.HasMarker = ol.NextMarker, true
	}
	if want := []string{"a/", "b", "c/", "d"}; !slices.Equal(got, want) {
		t.Fatalf("pages of one by /: %v, want %v", got, want)
	}
}

// TestETagChangesOnWrite: an object written again, even with the same
// bytes, gets a new ETag, so If-Match sees the change.
func TestETagChangesOnWrite(t *testing.T) {
	be := New()
	be.CreateBucket("bk")
	var tags []string
	for range 2 {
		if _, err := be.PutObject("bk", "k", nil, bytes.NewReader([]byte("same")), 4, nil); err != nil {
			t.Fatal(err)
		}
		o, err := be.HeadObject("bk", "k")
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Hash) == 16 {
			t.Fatal("a 16-byte ETag would be taken for an MD5")
		}
		tags = append(tags, gofakes3.FormatETag(o.Hash))
	}
	if tags[0] == tags[1] {
		t.Fatalf("ETag %s unchanged by a second write", tags[0])
	}
	stale := &gofakes3.PutConditions{IfMatch: &tags[0]}
	if _, err := be.PutObject("bk", "k", nil, bytes.NewReader(nil), 0, stale); !gofakes3.HasErrorCode(err, gofakes3.ErrPreconditionFailed) {
		t.Fatalf("If-Match with the old ETag: %v", err)
	}
}

// TestCorpusThroughS3: a corpus written through the AWS SDK (multipart
// uploads included) into gofakes3 over this store checks out, and a
// listing in pages of 3 returns every key once, in order.
func TestCorpusThroughS3(t *testing.T) {
	be := New()
	be.CreateBucket("corpus")
	srv := httptest.NewServer(gofakes3.New(be).Server())
	defer srv.Close()
	q := url.Values{"endpoint": {srv.URL}, "region": {"us-east-1"}, "use_path_style": {"true"},
		"anonymous": {"true"}, "disable_https": {"true"}}
	ctx := context.Background()
	b, err := storage.Open(ctx, "s3://corpus/c?"+q.Encode(), storage.Options{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fs := storage.NewFS(ctx, b)

	var ss []shards.Sample
	for i := range 6 {
		im := shards.Image{Modality: "CT", DType: shards.Int16, Channels: 1, Depth: 40, Height: 256, Width: 256, Affine: shards.IdentityAffine()}
		im.Voxels = make([]byte, im.NumVoxels()*2) // 5 MiB: more than one upload part
		for j := range im.Voxels {
			im.Voxels[j] = byte(i*7 + j/4096)
		}
		ss = append(ss, shards.Sample{ID: shards.MakeID("t", fmt.Sprint(i)), Source: "t", Task: shards.TaskReport, Response: "r", Images: []shards.Image{im}})
	}
	m, err := shards.WriteCorpus(".", "p", "h", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 2, FS: fs, Overlap: true})
	if err != nil {
		t.Fatal(err)
	}
	read, err := shards.ReadManifestFS(fs, "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if probs := read.ProblemsFS(fs); len(probs) > 0 || len(read.Shards) != 3 || read.Samples != m.Samples {
		t.Fatalf("corpus in the bucket: %d shards, %d samples, problems %v", len(read.Shards), read.Samples, probs)
	}
	var listed []string
	if err := b.List(ctx, "", func(o storage.Object) error { listed = append(listed, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(listed) || len(slices.Compact(slices.Clone(listed))) != len(listed) || len(listed) < 10 {
		t.Fatalf("listing: %v", listed)
	}
}
