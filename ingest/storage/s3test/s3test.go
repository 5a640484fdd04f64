// Package s3test starts an S3-compatible server (gofakes3, in memory) on
// the loopback interface for tests, so code under test talks real S3 HTTP
// through the AWS SDK that gocloud uses, never a fake of the blob API.
package s3test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
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
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
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
