package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

// s3Error answers a request as S3 does when it refuses one.
func s3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+code+`</Message><RequestId>r</RequestId></Error>`)
}

// faultyServer starts a loopback S3 server with bucket "corpus" whose
// requests go through fault first: a request fault answers (returning
// true) never reaches the server. It returns the server and the count of
// requests seen.
func faultyServer(t *testing.T, fault func(w http.ResponseWriter, r *http.Request, n int64) bool) (*s3test.Server, *atomic.Int64) {
	var seen atomic.Int64
	srv := s3test.StartWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fault != nil && fault(w, r, seen.Add(1)) {
				return
			}
			h.ServeHTTP(w, r)
		})
	}, "corpus")
	return srv, &seen
}

// TestS3Storm: with two requests in three answered 503 SlowDown, a
// multipart upload, a single PUT, a listing, a whole read and ranged reads
// all succeed, retried, and the bytes are the ones written. Under a storm
// that does not stop, a listing gives up after its retries with an error
// naming the root, in bounded time.
func TestS3Storm(t *testing.T) {
	ctx := context.Background()
	var storm atomic.Bool
	srv, seen := faultyServer(t, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if storm.Load() && n%3 != 0 {
			s3Error(w, http.StatusServiceUnavailable, "SlowDown")
			return true
		}
		return false
	})
	opt := storage.Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Retries: 10, PartSize: 5 << 20}
	b, err := storage.Open(ctx, srv.URL("corpus", "storm"), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := storage.NewFS(ctx, b)
	big := bytes.Repeat([]byte("0123456789abcdef"), 13<<16) // 13 MiB: three parts
	storm.Store(true)
	if err := shards.PublishBytes(fsys, "big.arrow", big); err != nil {
		t.Fatalf("multipart upload through the storm: %v", err)
	}
	if err := shards.PublishBytes(fsys, "small.json", []byte(`{"a":1}`)); err != nil {
		t.Fatalf("PUT through the storm: %v", err)
	}
	// A key gocloud escapes goes up through gocloud's writer, which only
	// the S3 client's own retries cover.
	if err := shards.PublishBytes(fsys, "odd../x.json", []byte(`{}`)); err != nil {
		t.Fatalf("PUT of an escaped key through the storm: %v", err)
	}
	var keys []string
	if err := b.List(ctx, "", func(o storage.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatalf("listing through the storm: %v", err)
	}
	if strings.Join(keys, ",") != "big.arrow,odd../x.json,small.json" {
		t.Errorf("listed %v", keys)
	}
	got, err := b.ReadAll(ctx, "big.arrow", 0)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read through the storm: %d bytes, %v", len(got), err)
	}
	ra := b.NewExactReaderAt(ctx, "big.arrow", "big.arrow", int64(len(big)))
	for _, off := range []int64{0, 5<<20 - 3, int64(len(big)) - 10} {
		p := make([]byte, 10)
		if _, err := ra.ReadAt(p, off); err != nil || !bytes.Equal(p, big[off:off+10]) {
			t.Errorf("ranged read at %d through the storm: %q, %v", off, p, err)
		}
	}
	if seen.Load() < 30 {
		t.Errorf("only %d requests: the storm was not met", seen.Load())
	}

	srv2, _ := faultyServer(t, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		s3Error(w, http.StatusServiceUnavailable, "SlowDown")
		return true
	})
	b2, err := storage.Open(ctx, srv2.URL("corpus", "down"), storage.Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	start := time.Now()
	err = b2.List(ctx, "", func(storage.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "s3://corpus/down") || !strings.Contains(err.Error(), "gave up after 4 attempts") {
		t.Errorf("listing a bucket that only answers 503: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("giving up took %v", d)
	}
}

// TestS3WrongCredentials: a store that refuses the credentials fails the
// first listing, read and upload with S3's own error code and the root's
// URL, at once: no retry can fix it.
func TestS3WrongCredentials(t *testing.T) {
	ctx := context.Background()
	srv, seen := faultyServer(t, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		s3Error(w, http.StatusForbidden, "InvalidAccessKeyId")
		return true
	})
	b, err := storage.Open(ctx, srv.URL("corpus", "secret"), storage.Options{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := storage.NewFS(ctx, b)
	for name, op := range map[string]func() error{
		"list": func() error { return b.List(ctx, "", func(storage.Object) error { return nil }) },
		"read": func() error { _, err := b.ReadAll(ctx, "k", 0); return err },
		"put":  func() error { return shards.PublishBytes(fsys, "k", []byte("x")) },
	} {
		before := seen.Load()
		err := op()
		if err == nil || !strings.Contains(err.Error(), "InvalidAccessKeyId") || !strings.Contains(err.Error(), "corpus") {
			t.Errorf("%s with refused credentials: %v", name, err)
		}
		if n := seen.Load() - before; n > 3 {
			t.Errorf("%s: %d requests for a refusal no retry can fix", name, n)
		}
	}
}

// TestTransient: which failures are worth a retry. An S3 4xx answer is
// final unless its code says to try again (throttling, timeouts, a clock
// skew, an aborted conflicting operation); a body cut short is retried
// whatever its status.
func TestTransient(t *testing.T) {
	answer := func(status int, code string) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      &smithy.GenericAPIError{Code: code}}}
	}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"503 SlowDown", answer(503, "SlowDown"), true},
		{"500", answer(500, "InternalError"), true},
		{"429", answer(429, "TooManyRequests"), true},
		{"400 Throttling", answer(400, "Throttling"), true},
		{"400 RequestTimeout", answer(400, "RequestTimeout"), true},
		{"403 RequestTimeTooSkewed", answer(403, "RequestTimeTooSkewed"), true},
		{"409 OperationAborted", answer(409, "OperationAborted"), true},
		{"a 400 cut short", fmt.Errorf("read: %w", errors.Join(answer(400, ""), io.ErrUnexpectedEOF)), true},
		{"403 InvalidAccessKeyId", answer(403, "InvalidAccessKeyId"), false},
		{"403 AccessDenied", answer(403, "AccessDenied"), false},
		{"400 InvalidRequest", answer(400, "InvalidRequest"), false},
		{"412 PreconditionFailed", answer(412, "PreconditionFailed"), false},
		{"cancelled", context.Canceled, false},
		{"a dropped connection", io.ErrUnexpectedEOF, true},
	} {
		if got := storage.Transient(c.err); got != c.want {
			t.Errorf("%s: Transient %v, want %v", c.name, got, c.want)
		}
	}
}
