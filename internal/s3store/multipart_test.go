package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// client returns an AWS SDK client of a gofakes3 server over be, with
// bucket "bk".
func client(t *testing.T, be gofakes3.Backend) *s3.Client {
	t.Helper()
	if err := be.CreateBucket("bk"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: aws.AnonymousCredentials{}})
}

// code returns err's S3 error code, or "ok".
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// multipartScript runs the same multipart uploads through c and returns
// what the server answered, one line a step.
func multipartScript(t *testing.T, c *s3.Client) []string {
	ctx := context.Background()
	var out []string
	say := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	bk := aws.String("bk")
	ids := map[string][]string{}
	for _, key := range []string{"a/1", "a/1", "a/2", "b/3", "c"} {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bk, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		ids[key] = append(ids[key], *up.UploadId)
	}
	first := ids["a/1"][0]
	tags := map[int32]*string{}
	for n, body := range map[int32]string{1: "one-", 2: "two-two-", 3: "three"} {
		p, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bk, Key: aws.String("a/1"), UploadId: &first,
			PartNumber: aws.Int32(n), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		tags[n] = p.ETag
	}
	_, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bk, Key: aws.String("a/1"), UploadId: &first,
		PartNumber: aws.Int32(4), Body: strings.NewReader("four"), ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
	say("part with a wrong Content-MD5: %s", code(err))
	for _, l := range []struct {
		name string
		in   s3.ListMultipartUploadsInput
	}{
		{"all", s3.ListMultipartUploadsInput{}},
		{"prefix a/", s3.ListMultipartUploadsInput{Prefix: aws.String("a/")}},
		{"delimiter /", s3.ListMultipartUploadsInput{Delimiter: aws.String("/")}},
		{"2 a page", s3.ListMultipartUploadsInput{MaxUploads: aws.Int32(2)}},
		{"after key a/1", s3.ListMultipartUploadsInput{KeyMarker: aws.String("a/1")}},
		{"after a/1's first", s3.ListMultipartUploadsInput{KeyMarker: aws.String("a/1"), UploadIdMarker: &first}},
		{"after key a/2, 1 a page", s3.ListMultipartUploadsInput{KeyMarker: aws.String("a/2"), MaxUploads: aws.Int32(1)}},
	} {
		l.in.Bucket = bk
		r, err := c.ListMultipartUploads(ctx, &l.in)
		if err != nil {
			say("list uploads %s: %s", l.name, code(err))
			continue
		}
		var s []string
		for _, u := range r.Uploads {
			s = append(s, *u.Key+"#"+*u.UploadId)
		}
		for _, p := range r.CommonPrefixes {
			s = append(s, "prefix "+*p.Prefix)
		}
		say("list uploads %s: %v truncated %v", l.name, s, *r.IsTruncated)
	}
	for _, max := range []int32{2, 10} {
		r, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bk, Key: aws.String("a/1"), UploadId: &first, MaxParts: aws.Int32(max)})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, p := range r.Parts {
			s = append(s, fmt.Sprintf("%d:%d", *p.PartNumber, *p.Size))
		}
		say("list parts max %d: %v truncated %v", max, s, *r.IsTruncated)
	}
	complete := func(key, id string, parts ...types.CompletedPart) error {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bk, Key: aws.String(key),
			UploadId: &id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
		return err
	}
	part := func(n int32, tag *string) types.CompletedPart {
		return types.CompletedPart{PartNumber: aws.Int32(n), ETag: tag}
	}
	say("complete with a wrong ETag: %s", code(complete("a/1", first, part(1, tags[2]))))
	say("complete a missing part: %s", code(complete("a/1", first, part(4, tags[1]))))
	say("complete under another key: %s", code(complete("a/2", first, part(1, tags[1]))))
	say("complete parts 1 and 3: %s", code(complete("a/1", first, part(1, tags[1]), part(3, tags[3]))))
	for _, rng := range []string{"", "bytes=2-6", "bytes=4-", "bytes=-3", "bytes=3-3"} {
		in := &s3.GetObjectInput{Bucket: bk, Key: aws.String("a/1")}
		if rng != "" {
			in.Range = &rng
		}
		o, err := c.GetObject(ctx, in)
		if err != nil {
			say("get %q: %s", rng, code(err))
			continue
		}
		b, _ := io.ReadAll(o.Body)
		o.Body.Close()
		say("get %q: %q of %d", rng, b, *o.ContentLength)
	}
	say("parts after completion: %s", code(func() error {
		_, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bk, Key: aws.String("a/1"), UploadId: &first})
		return err
	}()))
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bk, Key: aws.String("c"), UploadId: &ids["c"][0]})
	say("abort: %s", code(err))
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: bk, Key: aws.String("c"), UploadId: &ids["c"][0]})
	say("abort again: %s", code(err))
	r, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: bk})
	if err != nil {
		t.Fatal(err)
	}
	say("left: %d", len(r.Uploads))
	return out
}

// afterMarker are the answers to listings that start after a marker, as
// S3's ListMultipartUploads documents them: a key-marker alone starts
// after every upload of that key, a key-marker and an upload-id-marker
// after that upload. gofakes3's own uploader includes the marker's key
// (and upload) in both cases.
var afterMarker = map[string]string{
	"list uploads after key a/1":           "list uploads after key a/1: [a/2#3 b/3#4 c#5] truncated false",
	"list uploads after a/1's first":       "list uploads after a/1's first: [a/1#2 a/2#3 b/3#4 c#5] truncated false",
	"list uploads after key a/2, 1 a page": "list uploads after key a/2, 1 a page: [b/3#4] truncated true",
}

// TestMultipartSameAsGofakes3: multipart uploads (listing uploads and
// parts with prefixes, delimiters and page sizes, completing, refusing a
// wrong completion, aborting) and ranged reads of the object they make,
// over real S3 HTTP, answer as gofakes3's own multipart uploader does;
// listings after a marker answer as S3 documents.
func TestMultipartSameAsGofakes3(t *testing.T) {
	want := multipartScript(t, client(t, s3mem.New()))
	got := multipartScript(t, client(t, New()))
	if len(want) != len(got) {
		t.Fatalf("gofakes3 answered %d steps, s3store %d", len(want), len(got))
	}
	for i := range want {
		name, _, _ := strings.Cut(got[i], ":")
		if doc, ok := afterMarker[name]; ok {
			want[i] = doc
		}
		if want[i] != got[i] {
			t.Errorf("want     %s\ns3store: %s", want[i], got[i])
		}
	}
}

// TestListUploadsPaging: listing uploads a page at a time returns each
// upload or common prefix once, also when the upload a page ended on is
// aborted before the next page is asked for (the cleanup loop of a client
// that lists and aborts).
func TestListUploadsPaging(t *testing.T) {
	be := New()
	be.CreateBucket("bk")
	for _, k := range []string{"a/1", "a/2", "k", "k", "k", "z"} {
		if _, err := be.CreateMultipartUpload("bk", k, nil); err != nil {
			t.Fatal(err)
		}
	}
	list := func(delim string, abort bool) []string {
		p := gofakes3.Prefix{HasDelimiter: delim != "", Delimiter: delim}
		var got []string
		var marker *gofakes3.UploadListMarker
		for range 10 {
			r, err := be.ListMultipartUploads("bk", marker, p, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range r.Uploads {
				got = append(got, u.Key+"#"+string(u.UploadID))
				if abort {
					be.AbortMultipartUpload("bk", u.Key, u.UploadID)
				}
			}
			for _, c := range r.CommonPrefixes {
				got = append(got, c.Prefix)
			}
			if !r.IsTruncated {
				break
			}
			marker = &gofakes3.UploadListMarker{Object: r.NextKeyMarker, UploadID: r.NextUploadIDMarker}
		}
		return got
	}
	if got, want := list("/", false), []string{"a/", "k#3", "k#4", "k#5", "z#6"}; !slices.Equal(got, want) {
		t.Errorf("pages of one by /: %v, want %v", got, want)
	}
	if got, want := list("", true), []string{"a/1#1", "a/2#2", "k#3", "k#4", "k#5", "z#6"}; !slices.Equal(got, want) {
		t.Errorf("pages of one, each aborted once listed: %v, want %v", got, want)
	}
}

// TestMultipartRefusals: what gofakes3's own uploader lets through and S3
// refuses: parts listed out of order, a declared length the body does not
// have, a part number out of range.
func TestMultipartRefusals(t *testing.T) {
	be := New()
	be.CreateBucket("bk")
	id, err := be.CreateMultipartUpload("bk", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for n := 1; n <= 2; n++ {
		tag, err := be.UploadPart("bk", "k", id, n, 3, strings.NewReader("abc"))
		if err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
	for _, c := range []struct {
		name string
		err  error
		want gofakes3.ErrorCode
	}{
		{"short body", second(be.UploadPart("bk", "k", id, 3, 4, strings.NewReader("abc"))), gofakes3.ErrIncompleteBody},
		{"long body", second(be.UploadPart("bk", "k", id, 3, 2, strings.NewReader("abc"))), gofakes3.ErrIncompleteBody},
		{"part 0", second(be.UploadPart("bk", "k", id, 0, 3, strings.NewReader("abc"))), gofakes3.ErrInvalidPart},
		{"huge part", second(be.UploadPart("bk", "k", id, 3, 1<<40, bytes.NewReader(nil))), gofakes3.ErrInvalidArgument},
		{"out of order", third(be.CompleteMultipartUpload("bk", "k", id, &gofakes3.CompleteMultipartUploadRequest{
			Parts: []gofakes3.CompletedPart{{PartNumber: 2, ETag: tags[1]}, {PartNumber: 1, ETag: tags[0]}}})), gofakes3.ErrInvalidPartOrder},
		{"other bucket", second(be.CreateMultipartUpload("nope", "k", nil)), gofakes3.ErrNoSuchBucket},
		{"reader's own error at its end", second(be.UploadPart("bk", "k", id, 3, 3, io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(gofakes3.ErrBadDigest)))), gofakes3.ErrBadDigest},
	} {
		if !gofakes3.HasErrorCode(c.err, c.want) {
			t.Errorf("%s: %v, want %s", c.name, c.err, c.want)
		}
	}
}

func second[A, B any](_ A, b B) B        { return b }
func third[A, B, C any](_ A, _ B, c C) C { return c }
