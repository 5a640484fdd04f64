package pmc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestFetchResume drops the connection in the middle of a package's body
// and checks that the retry asks for the rest with Range (guarded by
// If-Range) and that the cached package is byte-exact, with its .ok mark
// naming the right size and SHA-256. The server is a real HTTP server; the
// drop is a closed TCP connection after a declared Content-Length, which
// the client sees as an unexpected EOF.
func TestFetchResume(t *testing.T) {
	pkgA := buildPackage(t, testArticles[2])
	pkgB := buildPackage(t, testArticles[1])
	third := int64(len(pkgA) / 3)
	tests := []struct {
		name string
		// dropAfter[i]: request i is cut after this many body bytes.
		dropAfter []int64
		// ignoreRange: the server answers every request with the whole file.
		ignoreRange bool
		// changeAfterFirst: the file (and its ETag) changes after the first
		// request, so If-Range fails and the whole new file comes back.
		changeAfterFirst bool
		wantRanges       []string
		want             []byte
	}{
		{name: "one drop", dropAfter: []int64{third}, wantRanges: []string{"", "bytes=" + strconv.FormatInt(third, 10) + "-"}, want: pkgA},
		{name: "two drops", dropAfter: []int64{third, third},
			wantRanges: []string{"", "bytes=" + strconv.FormatInt(third, 10) + "-", "bytes=" + strconv.FormatInt(2*third, 10) + "-"}, want: pkgA},
		{name: "drop after one byte", dropAfter: []int64{1}, wantRanges: []string{"", "bytes=1-"}, want: pkgA},
		{name: "server ignores Range", dropAfter: []int64{third}, ignoreRange: true,
			wantRanges: []string{"", "bytes=" + strconv.FormatInt(third, 10) + "-"}, want: pkgA},
		{name: "file changed on the server", dropAfter: []int64{third}, changeAfterFirst: true,
			wantRanges: []string{"", "bytes=" + strconv.FormatInt(third, 10) + "-"}, want: pkgB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var ranges, ifRanges []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := len(ranges)
				ranges = append(ranges, r.Header.Get("Range"))
				ifRanges = append(ifRanges, r.Header.Get("If-Range"))
				mu.Unlock()
				body, etag := pkgA, `"a"`
				if tc.changeAfterFirst && i > 0 {
					body, etag = pkgB, `"b"`
				}
				start, status := int64(0), http.StatusOK
				var first, total int64
				if n, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &first); n == 1 && err == nil &&
					!tc.ignoreRange && r.Header.Get("If-Range") == etag && first < int64(len(body)) {
					start, status = first, http.StatusPartialContent
				}
				total = int64(len(body))
				if i >= len(tc.dropAfter) {
					w.Header().Set("ETag", etag)
					w.Header().Set("Content-Length", strconv.FormatInt(total-start, 10))
					if status == http.StatusPartialContent {
						w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, total-1, total))
					}
					w.WriteHeader(status)
					w.Write(body[start:])
					return
				}
				// Declare the whole rest, send part of it, close the socket.
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nETag: %s\r\nContent-Length: %d\r\n", status, http.StatusText(status), etag, total-start)
				if status == http.StatusPartialContent {
					fmt.Fprintf(buf, "Content-Range: bytes %d-%d/%d\r\n", start, total-1, total)
				}
				buf.WriteString("\r\n")
				buf.Write(body[start:min(total, start+tc.dropAfter[i])])
				buf.Flush()
			}))
			defer srv.Close()
			f := &Fetcher{Base: srv.URL, CacheDir: t.TempDir(), Retries: 4, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
			p, err := f.Package(context.Background(), "oa_package/00/01/PMC0000001.tar.gz")
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("cached package differs: %d bytes, want %d", len(got), len(tc.want))
			}
			if fmt.Sprint(ranges) != fmt.Sprint(tc.wantRanges) {
				t.Errorf("Range headers = %q, want %q", ranges, tc.wantRanges)
			}
			for i, ir := range ifRanges {
				if ranges[i] != "" && ir != `"a"` {
					t.Errorf("request %d: If-Range = %q, want the first response's ETag", i, ir)
				}
			}
			var mark doneMark
			b, err := os.ReadFile(p + ".ok")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &mark); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(tc.want)
			if mark.Bytes != int64(len(tc.want)) || mark.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf(".ok mark = %+v, want %d bytes, sha256 %x", mark, len(tc.want), sum)
			}
		})
	}
}

// TestParseContentRange covers the forms of RFC 9110 §14.4.
func TestParseContentRange(t *testing.T) {
	tests := []struct {
		v            string
		first, total int64
		ok           bool
	}{
		{"bytes 100-999/1000", 100, 1000, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */1000", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"bytes -1-2/3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		first, total, ok := parseContentRange(tc.v)
		if ok != tc.ok || ok && (first != tc.first || total != tc.total) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tc.v, first, total, ok, tc.first, tc.total, tc.ok)
		}
	}
}
