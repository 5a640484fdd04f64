// Package gcstest starts a Google Cloud Storage server (fake-gcs-server:
// the JSON API, resumable uploads and the XML API's downloads) on the
// loopback interface for tests, and points the GCS client at it the way
// Google's own emulators are used (STORAGE_EMULATOR_HOST), so gs:// roots
// talk real GCS HTTP through the client gocloud uses.
package gcstest

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/medmd/medmd/internal/testtree"
)

// Server is a running loopback GCS server.
type Server struct {
	*fakestorage.Server
}

// Start starts a server with the given buckets and sets
// STORAGE_EMULATOR_HOST for the test; the server stops when the test
// ends. Tests that call it cannot run in parallel (t.Setenv).
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	// The client downloads from the emulator's host with the XML API's
	// paths (/BUCKET/OBJECT), which the server serves on its public host:
	// that must be its own address, so the port is chosen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	host := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: uint16(port),
		PublicHost: host, Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	return &Server{srv}
}

// URL returns the gs:// root of bucket/prefix.
func (s *Server) URL(bucket, prefix string) string {
	if prefix == "" {
		return "gs://" + bucket
	}
	return "gs://" + bucket + "/" + prefix
}

// Put stores data under bucket/key (the server records its CRC-32C and
// MD5, as GCS does for every object).
func (s *Server) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	s.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: key}, Content: data})
}

// PutDir stores every regular file under dir in bucket, each under
// prefix + its slash-separated path relative to dir (prefix "" or ending
// in "/").
func (s *Server) PutDir(t testing.TB, bucket, prefix, dir string) {
	t.Helper()
	testtree.Each(t, dir, func(rel string, data []byte) { s.Put(t, bucket, prefix+rel, data) })
}
