package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

// TestS3WriterMultipart publishes files around the part size through FS
// on a loopback S3 server: each reads back byte for byte; a publish whose
// writer fails after several parts leaves neither an object nor an
// incomplete multipart upload.
func TestS3WriterMultipart(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()
	const part = 5 << 20 // S3's smallest part
	b, err := Open(ctx, srv.URL("corpus", "run"), Options{PartSize: part, UploadConcurrency: 2, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.s3 == nil {
		t.Fatal("an s3:// root has no S3 client for uploads")
	}
	fsys := NewFS(ctx, b)
	data := make([]byte, 3*part+123)
	for i := range data {
		data[i] = byte(i * 31)
	}
	tests := []struct {
		name string
		size int
	}{{"empty", 0}, {"one-byte", 1}, {"one-part", part}, {"part-and-a-byte", part + 1}, {"three-parts-and-some", len(data)}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "shard-" + tc.name + ".arrow"
			// Small writes, as the shard writer's buffer makes them.
			err := shards.Publish(fsys, name, func(w io.Writer) error {
				for off := 0; off < tc.size; off += 64 << 10 {
					if _, err := w.Write(data[off:min(off+64<<10, tc.size)]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := b.ReadAll(ctx, name, 0)
			if err != nil || !bytes.Equal(got, data[:tc.size]) {
				t.Errorf("read back %d bytes (%v), want %d", len(got), err, tc.size)
			}
		})
	}

	err = shards.Publish(fsys, "failed.arrow", func(w io.Writer) error {
		w.Write(data)
		return errors.New("encoder failed")
	})
	if err == nil {
		t.Fatal("a failed writer published")
	}
	if _, err := b.ReadAll(ctx, "failed.arrow", 0); !errors.Is(err, ErrNotExist) {
		t.Errorf("after a failed publish: %v, want no object", err)
	}
	ups, err := b.s3.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &b.s3.bucket})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left behind", len(ups.Uploads))
	}
}

// TestS3WriterMissingBucket publishes into a bucket that does not exist
// with the default retries: S3's 404 is not retried with backoff, and the
// error names the root.
func TestS3WriterMissingBucket(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()
	b, err := Open(ctx, srv.URL("no-such-bucket", "run"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := NewFS(ctx, b)
	big := make([]byte, b.opt.PartSize+1)
	for _, size := range []int{10, len(big)} {
		start := time.Now()
		err := shards.PublishBytes(fsys, "shard.arrow", big[:size])
		if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket/run") {
			t.Errorf("%d bytes into a missing bucket: %v, want an error naming it", size, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%d bytes into a missing bucket failed after %v: retried a permanent error", size, d)
		}
	}
}

// TestS3WriterIntegrity checks what protects an upload's bytes, as the
// store would see it, for a single PUT and a multipart upload: by default
// each body carries its own CRC-32C in x-amz-checksum-crc32c (checked
// here against the bytes received) with an unsigned payload, the
// multipart upload is created with the algorithm and completed with each
// part's checksum; with request_checksum_calculation=when_required no
// checksum header is sent and the payload's SHA-256 is signed instead.
func TestS3WriterIntegrity(t *testing.T) {
	const part = 5 << 20
	data := make([]byte, 2*part+77)
	for i := range data {
		data[i] = byte(i*131 + i>>9)
	}
	tests := []struct {
		name   string
		params string // appended to the root's URL
		size   int
		signed bool // payload SHA-256 signed instead of a CRC-32C
	}{
		{"put", "", 1000, false},
		{"multipart", "", len(data), false},
		{"put/when_required", "&request_checksum_calculation=when_required", 1000, true},
		{"multipart/when_required", "&request_checksum_calculation=when_required", len(data), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var problems []string
			bodies, completeParts, created := 0, 0, ""
			wrap := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					q := r.URL.Query()
					mu.Lock()
					defer mu.Unlock()
					switch {
					case r.Method == http.MethodPut:
						body, err := io.ReadAll(r.Body)
						if err != nil {
							t.Error(err)
						}
						r.Body = io.NopCloser(bytes.NewReader(body))
						bodies++
						sha := r.Header.Get("X-Amz-Content-Sha256")
						crc := r.Header.Get("X-Amz-Checksum-Crc32c")
						sum := sha256.Sum256(body)
						if tc.signed {
							if sha != hex.EncodeToString(sum[:]) || crc != "" {
								problems = append(problems, fmt.Sprintf("PUT %s: x-amz-content-sha256 %q, crc32c %q; want the body's SHA-256 and no CRC-32C", q.Encode(), sha, crc))
							}
						} else if sha != "UNSIGNED-PAYLOAD" || crc != *crc32cBase64(body) {
							problems = append(problems, fmt.Sprintf("PUT %s: x-amz-content-sha256 %q, crc32c %q; want UNSIGNED-PAYLOAD and %s", q.Encode(), sha, crc, *crc32cBase64(body)))
						}
					case r.Method == http.MethodPost && q.Has("uploads"):
						created = r.Header.Get("X-Amz-Checksum-Algorithm")
					case r.Method == http.MethodPost && q.Has("uploadId"):
						body, err := io.ReadAll(r.Body)
						if err != nil {
							t.Error(err)
						}
						r.Body = io.NopCloser(bytes.NewReader(body))
						completeParts = strings.Count(string(body), "<ChecksumCRC32C>")
					}
					h.ServeHTTP(w, r)
				})
			}
			srv := s3test.StartWrapped(t, wrap, "corpus")
			ctx := context.Background()
			b, err := Open(ctx, srv.URL("corpus", "run")+tc.params, Options{PartSize: part})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := shards.PublishBytes(NewFS(ctx, b), "shard.arrow", data[:tc.size]); err != nil {
				t.Fatal(err)
			}
			if got, err := b.ReadAll(ctx, "shard.arrow", 0); err != nil || !bytes.Equal(got, data[:tc.size]) {
				t.Errorf("read back %d bytes (%v), want %d", len(got), err, tc.size)
			}
			// gofakes3 returns the checksum stored with the object with
			// any GET; S3 never with a range, whose bytes it cannot match.
			if got, err := b.ReadRange(ctx, "shard.arrow", 10, 100); err != nil || !bytes.Equal(got, data[10:110]) {
				t.Errorf("ranged read: %d bytes (%v)", len(got), err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Error(p)
			}
			wantBodies := (tc.size + part - 1) / part
			if bodies != wantBodies {
				t.Errorf("%d upload requests, want %d", bodies, wantBodies)
			}
			if wantBodies > 1 {
				wantAlg, wantParts := "CRC32C", wantBodies
				if tc.signed {
					wantAlg, wantParts = "", 0
				}
				if created != wantAlg || completeParts != wantParts {
					t.Errorf("multipart upload created with checksum algorithm %q and completed with %d part checksums, want %q and %d", created, completeParts, wantAlg, wantParts)
				}
			}
		})
	}
}

// TestReadChecksumMismatch: an object whose bytes no longer match the
// CRC-32C the store returns with them (the store's copy went bad) fails
// its read with the SDK's checksum error, naming the key, once the whole
// body came: no ranged GET is sent past its end to resume it.
func TestReadChecksumMismatch(t *testing.T) {
	var mu sync.Mutex
	var ranged []string
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if rg := r.Header.Get("Range"); r.Method == http.MethodGet && rg != "" {
				mu.Lock()
				ranged = append(ranged, rg)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	srv := s3test.StartWrapped(t, wrap, "corpus")
	ctx := context.Background()
	b, err := Open(ctx, srv.URL("corpus", "run"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data := bytes.Repeat([]byte("voxels"), 1000)
	if err := shards.PublishBytes(NewFS(ctx, b), "shard.arrow", data); err != nil {
		t.Fatal(err)
	}
	// The in-memory backend keeps the object's metadata, its CRC-32C
	// among it, when the object is overwritten in it directly, behind
	// the server's back: the store's copy went bad.
	bad := bytes.Clone(data)
	bad[100] ^= 1
	if _, err := srv.Backend.PutObject("corpus", "run/shard.arrow", map[string]string{}, bytes.NewReader(bad), int64(len(bad)), nil); err != nil {
		t.Fatal(err)
	}
	f, err := NewFS(ctx, b).Open("shard.arrow")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = io.ReadAll(f)
	if err == nil || !strings.Contains(err.Error(), "shard.arrow") || !strings.Contains(strings.ToLower(err.Error()), "checksum") {
		t.Fatalf("read of a corrupted object: %v, want a checksum error naming it", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranged) != 0 {
		t.Errorf("ranged GETs after the whole body came: %v", ranged)
	}
}
