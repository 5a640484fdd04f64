package pmc

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// DefaultBaseURL is where PMC serves OA packages (the File column of the OA
// list is relative to it).
const DefaultBaseURL = "https://ftp.ncbi.nlm.nih.gov/pub/pmc/"

// Fetcher downloads files politely and resumably. Base is an http(s) URL,
// an object-store URL (s3://bucket/prefix?…, gs://…, azblob://…, read
// through ingest/storage with its retries and resumption), a file:// URL
// or a local directory; for the latter two nothing is copied.
//
// Downloads go to a temporary file beside the destination and are renamed
// into place only after the body was complete and verified; a sidecar
// "<file>.ok" (size and SHA-256) then marks the file done, so a later run
// skips it and a partial file is never taken for a finished one. A body
// cut short (a dropped connection, a timeout) is resumed by the retry with
// "Range: bytes=N-" guarded by If-Range, so the bytes already received are
// not fetched again; the result is checked against the size the server
// declared and, for packages, against the gzip stream's CRC-32 and length
// as the package is read through.
//
// A Fetcher is safe for concurrent use; Concurrency bounds the requests in
// flight and RPS the rate at which they start.
type Fetcher struct {
	Base        string
	CacheDir    string
	Client      *http.Client
	Concurrency int
	RPS         float64
	// Timeout bounds one attempt (headers and body).
	Timeout time.Duration
	// Retries is the number of retries after the first attempt, on
	// timeouts, connection errors, truncated bodies, 408, 429 and 5xx.
	Retries int
	// Backoff is the first retry delay; it doubles per retry (with jitter:
	// each delay is uniform in [d/2, d]) up to MaxBackoff. A Retry-After
	// header overrides it (capped at MaxRetryAfter).
	Backoff, MaxBackoff, MaxRetryAfter time.Duration
	Limits                             Limits
	UserAgent                          string

	once sync.Once
	sem  chan struct{}
	lim  *limiter

	bucketsMu sync.Mutex
	buckets   map[string]*storage.Bucket // object-store roots opened, by root URL

	// Counters, for logs and tests.
	Downloads, CacheHits, RetryCount atomic.Int64
}

func (f *Fetcher) init() {
	f.once.Do(func() {
		if f.Concurrency <= 0 {
			f.Concurrency = 4
		}
		f.sem = make(chan struct{}, f.Concurrency)
		if f.RPS > 0 {
			f.lim = &limiter{interval: time.Duration(float64(time.Second) / f.RPS)}
		}
		if f.Client == nil {
			f.Client = &http.Client{}
		}
		if f.Timeout <= 0 {
			f.Timeout = 2 * time.Minute
		}
		if f.Backoff <= 0 {
			f.Backoff = time.Second
		}
		if f.MaxBackoff <= 0 {
			f.MaxBackoff = time.Minute
		}
		if f.MaxRetryAfter <= 0 {
			f.MaxRetryAfter = 10 * time.Minute
		}
		if f.UserAgent == "" {
			f.UserAgent = "medmd-pmc/1 (+https://github.com/medmd/medmd)"
		}
	})
}

// localBase returns the directory Base names, if it is not an http(s) or
// object-store URL.
func localBase(base string) (string, bool) {
	if strings.HasPrefix(base, "http://") || strings.HasPrefix(base, "https://") || objectStore(base) {
		return "", false
	}
	if strings.HasPrefix(base, "file://") {
		u, err := url.Parse(base)
		if err == nil {
			return filepath.FromSlash(u.Path), true
		}
	}
	return base, true
}

// safeRel checks that a relative path from the OA list stays below its
// base: no absolute path, no "..".
func safeRel(rel string) (string, error) {
	if rel == "" || strings.HasPrefix(rel, "/") || strings.ContainsRune(rel, '\\') || strings.Contains(rel, ":") {
		return "", fmt.Errorf("unsafe package path %q", rel)
	}
	for _, p := range strings.Split(rel, "/") {
		if p == ".." {
			return "", fmt.Errorf("unsafe package path %q", rel)
		}
	}
	return path.Clean(rel), nil
}

// Package returns the local path of a verified copy of the package rel
// (relative to Base), downloading it unless a verified copy is cached.
func (f *Fetcher) Package(ctx context.Context, rel string) (string, error) {
	f.init()
	rel, err := safeRel(rel)
	if err != nil {
		return "", err
	}
	if dir, ok := localBase(f.Base); ok {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("package %s: %w", rel, err)
		}
		return p, nil
	}
	dest := filepath.Join(f.CacheDir, filepath.FromSlash(rel))
	if objectStore(f.Base) {
		return f.fromBucket(ctx, f.Base, rel, dest, f.verifyPackage)
	}
	return f.download(ctx, joinURL(f.Base, rel), dest, f.verifyPackage)
}

// File returns a local copy of src: src itself when it is a local path,
// else a cached download (no content verification beyond its length).
func (f *Fetcher) File(ctx context.Context, src string) (string, error) {
	f.init()
	if dir, ok := localBase(src); ok {
		return dir, nil
	}
	u, err := url.Parse(src)
	if err != nil {
		return "", err
	}
	name := path.Base(u.Path)
	if name == "" || name == "/" || name == "." {
		name = "download"
	}
	dest := filepath.Join(f.CacheDir, "lists", u.Host, name)
	if objectStore(src) {
		// The object's key is the URL's path; the bucket is the rest.
		key := strings.TrimPrefix(u.Path, "/")
		u.Path, u.RawPath = "", ""
		return f.fromBucket(ctx, u.String(), key, dest, nil)
	}
	return f.download(ctx, src, dest, nil)
}

// objectStore reports an object-store URL, read through ingest/storage.
func objectStore(u string) bool {
	for _, s := range []string{"s3://", "gs://", "azblob://"} {
		if strings.HasPrefix(u, s) {
			return true
		}
	}
	return false
}

// fromBucket copies object key under the object-store root to dest, as
// download does an HTTP file: kept when a verified copy is there already,
// else streamed (storage resumes a broken body from where it stopped)
// into a file published only once complete and verified, then marked
// done.
func (f *Fetcher) fromBucket(ctx context.Context, root, key, dest string, verify func(string) error) (string, error) {
	if cached(dest) {
		f.CacheHits.Add(1)
		return dest, nil
	}
	name := storage.ObjectURL(root, key)
	b, err := f.bucket(ctx, root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	rc, err := b.NewReader(ctx, key)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	defer rc.Close()
	pend, err := shards.StartPublish(nil, dest)
	if err != nil {
		return "", err
	}
	defer pend.Abort()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(pend, h), rc)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if verify != nil {
		if err := verify(pend.TempPath()); err != nil {
			return "", fmt.Errorf("%s: verify: %w", name, err)
		}
	}
	if err := pend.Commit(); err != nil {
		return "", err
	}
	f.Downloads.Add(1)
	mark, _ := json.Marshal(doneMark{URL: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	return dest, shards.PublishBytes(nil, dest+".ok", mark)
}

// bucket opens an object-store root once.
func (f *Fetcher) bucket(ctx context.Context, root string) (*storage.Bucket, error) {
	f.bucketsMu.Lock()
	defer f.bucketsMu.Unlock()
	if b, ok := f.buckets[root]; ok {
		return b, nil
	}
	b, err := storage.Open(ctx, root, storage.Options{Concurrency: f.Concurrency})
	if err != nil {
		return nil, err
	}
	if f.buckets == nil {
		f.buckets = map[string]*storage.Bucket{}
	}
	f.buckets[root] = b
	return b, nil
}

func joinURL(base, rel string) string {
	return strings.TrimRight(base, "/") + "/" + rel
}

func (f *Fetcher) verifyPackage(p string) error {
	fh, err := os.Open(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	_, err = ReadPackage(fh, p, f.Limits, false)
	return err
}

// doneMark is the sidecar that marks a finished download.
type doneMark struct {
	URL    string `json:"url"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// cached reports whether dest is a finished, intact download.
func cached(dest string) bool {
	b, err := os.ReadFile(dest + ".ok")
	if err != nil {
		return false
	}
	var m doneMark
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	fh, err := os.Open(dest)
	if err != nil {
		return false
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	return err == nil && n == m.Bytes && hex.EncodeToString(h.Sum(nil)) == m.SHA256
}

// retryable marks an attempt error worth retrying, with the server's
// requested delay if it sent one.
type retryable struct {
	err        error
	retryAfter time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (f *Fetcher) download(ctx context.Context, src, dest string, verify func(string) error) (string, error) {
	if cached(dest) {
		f.CacheHits.Add(1)
		return dest, nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	// One partial download lives across the attempts, so a retry after a
	// dropped connection asks only for the bytes still missing.
	part := &partial{total: -1}
	defer part.reset()
	for attempt := 0; ; attempt++ {
		err := f.attempt(ctx, src, dest, verify, part)
		if err == nil {
			f.Downloads.Add(1)
			return dest, nil
		}
		var re *retryable
		if !errors.As(err, &re) || attempt >= f.Retries || ctx.Err() != nil {
			if re != nil {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return "", fmt.Errorf("GET %s: %w", src, err)
		}
		delay := f.backoff(attempt)
		if re.retryAfter > 0 {
			delay = min(re.retryAfter, f.MaxRetryAfter)
		}
		f.RetryCount.Add(1)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
	}
}

// partial is a download in progress: the temp file, the bytes written to
// it and their running SHA-256, the whole body's size as the server
// declared it, and the validator (a strong ETag, else Last-Modified) a
// resuming request sends as If-Range so that a file changed on the server
// is sent whole again instead of spliced onto the old bytes.
type partial struct {
	pend      *shards.Pending
	h         hash.Hash
	n         int64
	total     int64 // -1: unknown (no Content-Length)
	validator string
}

// reset drops the partial file: the next attempt starts from byte 0.
func (p *partial) reset() {
	if p.pend != nil {
		p.pend.Abort()
	}
	*p = partial{total: -1}
}

// validatorOf is the If-Range value for resp (RFC 9110 §13.1.5): a strong
// ETag, else Last-Modified, else "" (then a resume is not guarded and only
// the size and the package's own checksums catch a changed file).
func validatorOf(resp *http.Response) string {
	if e := resp.Header.Get("ETag"); e != "" && !strings.HasPrefix(e, "W/") {
		return e
	}
	return resp.Header.Get("Last-Modified")
}

// parseContentRange reads "bytes FIRST-LAST/TOTAL" (TOTAL may be "*",
// returned as -1), RFC 9110 §14.4.
func parseContentRange(v string) (first, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total < 0 {
			return 0, 0, false
		}
	}
	return first, total, true
}

// backoff is the delay before retry number attempt+1: Backoff·2^attempt,
// capped, with equal jitter so that many clients do not retry in step.
func (f *Fetcher) backoff(attempt int) time.Duration {
	d := f.Backoff << min(attempt, 30)
	if d <= 0 || d > f.MaxBackoff {
		d = f.MaxBackoff
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (f *Fetcher) attempt(ctx context.Context, src, dest string, verify func(string) error, part *partial) error {
	if err := f.lim.wait(ctx); err != nil {
		return err
	}
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-f.sem }()

	actx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, src, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", f.UserAgent)
	if part.n > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", part.n))
		if part.validator != "" {
			req.Header.Set("If-Range", part.validator)
		}
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &retryable{err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		// A first response, or a server that ignored Range, or a file that
		// changed since the partial bytes (If-Range failed): the body is
		// the whole file.
		part.reset()
		part.total = resp.ContentLength
		part.validator = validatorOf(resp)
	case resp.StatusCode == http.StatusPartialContent && part.n > 0:
		first, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || first != part.n || (part.total >= 0 && total >= 0 && total != part.total) {
			got := resp.Header.Get("Content-Range")
			part.reset()
			return &retryable{err: fmt.Errorf("resume: Content-Range %q does not continue %d bytes of a %d-byte file; starting over", got, first, total)}
		}
		if part.total < 0 {
			part.total = total
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && part.n > 0:
		// The file shrank under us: start over.
		part.reset()
		return &retryable{err: fmt.Errorf("HTTP %s for bytes=%d-; starting over", resp.Status, part.n)}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return &retryable{err: fmt.Errorf("HTTP %s", resp.Status), retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	default:
		return fmt.Errorf("HTTP %s", resp.Status)
	}

	if part.pend == nil {
		pend, err := shards.StartPublish(nil, dest)
		if err != nil {
			return err
		}
		part.pend, part.h = pend, sha256.New()
	}
	m, err := io.Copy(io.MultiWriter(part.pend, part.h), resp.Body)
	part.n += m
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The bytes that arrived stay in the partial file: the retry asks
		// for the rest with Range.
		return &retryable{err: fmt.Errorf("body after %d bytes: %w", part.n, err)}
	}
	if part.total >= 0 && part.n != part.total {
		return &retryable{err: fmt.Errorf("body of %d bytes, want %d: %w", part.n, part.total, io.ErrUnexpectedEOF)}
	}
	if verify != nil {
		if err := verify(part.pend.TempPath()); err != nil {
			// The bytes are bad somewhere: a retry must fetch them all.
			part.reset()
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) {
				return &retryable{err: fmt.Errorf("verify: %w", err)}
			}
			return fmt.Errorf("verify: %w", err)
		}
	}
	// INVARIANT: dest appears only complete (its declared size) and
	// verified, and is marked done only after it is in place.
	n, sum := part.n, hex.EncodeToString(part.h.Sum(nil))
	err = part.pend.Commit()
	part.pend = nil
	if err != nil {
		return err
	}
	mark, _ := json.Marshal(doneMark{URL: src, Bytes: n, SHA256: sum})
	return shards.PublishBytes(nil, dest+".ok", mark)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 §10.2.3). Zero when absent or unparseable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// limiter spaces request starts at least interval apart.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil || l.interval <= 0 {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	t := l.next
	if t.Before(now) {
		t = now
	}
	l.next = t.Add(l.interval)
	l.mu.Unlock()
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
