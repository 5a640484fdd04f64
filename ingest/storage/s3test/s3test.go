// Package s3test starts an S3-compatible server (gofakes3, in memory) on
// the loopback interface for tests, so code under test talks real S3 HTTP
// through the AWS SDK that gocloud uses, never a fake of the blob API.
package s3test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/medmd/medmd/internal/testtree"
)

// Server is a running loopback S3 server.
type Server struct {
	// Backend holds the objects; tests use it to plant or delete objects
	// behind the code's back.
	Backend *s3mem.Backend
	// Endpoint is the server's http://127.0.0.1:PORT address.
	Endpoint string
}

// Start starts a server with the given buckets; it stops when the test
// ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	return StartWrapped(t, nil, buckets...)
}

// StartWrapped is Start with the server's handler passed through wrap (if
// not nil), so a test can see or alter the requests the code sends.
func StartWrapped(t testing.TB, wrap func(http.Handler) http.Handler, buckets ...string) *Server {
	t.Helper()
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	h := gofakes3.New(be).Server()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Server{Backend: be, Endpoint: srv.URL}
}

// URL returns the s3:// root of bucket/prefix on the server, with the
// parameters gocloud's s3blob needs for it (path-style addressing, plain
// HTTP, unsigned requests).
func (s *Server) URL(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {"us-east-1"}, "use_path_style": {"true"},
		"anonymous": {"true"}, "disable_https": {"true"}}
	u := "s3://" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?" + q.Encode()
}

// Put uploads data to bucket/key with an HTTP PUT that carries the
// bytes' CRC-32C (x-amz-checksum-crc32c), as current S3 clients do (the
// AWS CLI adds a checksum to every upload): the server keeps it with the
// object, and some servers (this one) send it back with every GET, byte
// ranges included, which a reader has to cope with.
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	u := s.Endpoint + "/" + url.PathEscape(bucket)
	for _, seg := range strings.Split(key, "/") {
		u += "/" + url.PathEscape(seg)
	}
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	req.Header.Set("x-amz-checksum-crc32c", base64.StdEncoding.EncodeToString(sum[:]))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put %s/%s: %s: %s", bucket, key, resp.Status, body)
	}
}

// PutDir uploads every regular file under dir to bucket, each under
// prefix + its slash-separated path relative to dir (prefix "" or ending
// in "/"), so a test can read the same files from a folder and a bucket.
func (s *Server) PutDir(t testing.TB, bucket, prefix, dir string) {
	t.Helper()
	testtree.Each(t, dir, func(rel string, data []byte) { s.Put(t, bucket, prefix+rel, data) })
}

// Delete removes bucket/key behind the code's back.
func (s *Server) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.Backend.DeleteObject(bucket, key); err != nil {
		t.Fatalf("delete %s/%s: %v", bucket, key, err)
	}
}
