// Package storage reads objects under one root — a local folder, a file://
// URL or an object-store bucket (s3://, gs://, azblob://) — through
// gocloud.dev/blob, so a source lists and reads the same way whatever holds
// its inputs.
//
// A root is opened once (Open) and used concurrently. Listing is paginated
// and streamed: a callback sees one object at a time and a million keys
// never sit in memory. Reads retry transient failures (5xx, throttling,
// dropped connections, truncated bodies) with exponential backoff, resume a
// broken body with a ranged read from the byte where it stopped, and at
// most Options.Concurrency of them are in flight.
//
// Root syntax (gocloud's URL syntax, see https://gocloud.dev/howto/blob/):
//
//	/data/mirror, ./mirror, file:///data/mirror   a local folder
//	s3://bucket?region=us-east-1&anonymous=true   an S3 bucket, unsigned requests
//	s3://bucket/prefix?endpoint=http://127.0.0.1:9000&use_path_style=true
//	                                              an S3-compatible server
//	https://bucket.s3.amazonaws.com/              a public S3 bucket's HTTPS address
//	                                              (read as s3://bucket?anonymous=true&region=us-east-1)
//	gs://bucket, azblob://container               Google Cloud Storage, Azure Blob Storage
//	                                              (drivers linked in drivers.go)
//
// A path after the bucket name becomes a key prefix. Credentials come from
// the standard environment and configuration files of each cloud (AWS_*,
// GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*), never from a pipelines
// file.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	// The s3:// driver (opened by s3Opener); gs:// and azblob:// are
	// registered in drivers.go.
	"gocloud.dev/blob/s3blob"
)

// ErrNotExist is returned (wrapped) for a key that is not under the root.
// It wraps fs.ErrNotExist, so code written for files (os.IsNotExist aside)
// treats a missing object as a missing file.
var ErrNotExist = fmt.Errorf("storage: object does not exist: %w", fs.ErrNotExist)

// Store is what a source needs of its inputs' root. *Bucket implements it;
// tests may wrap one to inject faults.
type Store interface {
	// List calls fn for every object whose key starts with prefix, in
	// ascending key order, one page at a time. An error from fn stops the
	// listing and is returned.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// ReadAll returns an object's bytes; objects larger than limit fail
	// (limit <= 0: no limit).
	ReadAll(ctx context.Context, key string, limit int64) ([]byte, error)
	// ReadRange returns length bytes from offset (fewer at the end).
	ReadRange(ctx context.Context, key string, offset, length int64) ([]byte, error)
	// NewReader streams an object. The caller closes it. Streams are not
	// retried: use ReadAll where a retry should be invisible.
	NewReader(ctx context.Context, key string) (io.ReadCloser, error)
	// Root names the store in errors and provenance.
	Root() string
}

// Object is one listed object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
	// MD5 is the content's MD5 in hex when the store knows it (S3's ETag of
	// a single-part upload); "" otherwise.
	MD5 string
	// Dir marks a subfolder in a ListDir listing (Key ends in "/").
	Dir bool
}

// Options tune a Bucket. Zero values take the defaults.
type Options struct {
	// Concurrency bounds the requests in flight at once: reads, and the
	// requests of uploads through FS (default 16).
	Concurrency int
	// Retries after the first attempt of a transient failure (default 5).
	Retries int
	// Backoff is the first retry delay; it doubles per retry, with jitter,
	// up to MaxBackoff (defaults 200ms and 30s).
	Backoff, MaxBackoff time.Duration
	// PageSize is the number of keys one list request asks for (default 1000,
	// S3's maximum).
	PageSize int
	// PartSize is the size of one part of a multipart upload written
	// through FS, and UploadConcurrency the parts of one file in flight
	// at once (defaults 8 MiB and 2). A file shorter than one part goes
	// up in one PUT. An upload to S3 holds at most
	// (UploadConcurrency+1)×PartSize of part buffers, taken from a pool
	// that all uploads share.
	PartSize, UploadConcurrency int
}

// Bucket is an opened root. It is safe for concurrent use.
type Bucket struct {
	b    *blob.Bucket
	root string
	opt  Options
	sem  chan struct{}
	s3   *s3Target // an s3:// root's client, for FS's uploads; nil otherwise
}

var _ Store = (*Bucket)(nil)

// Open opens root (see the package documentation for the syntax). Opening
// does no I/O for object stores: a wrong bucket or credentials show up on
// the first List or read, as an error naming the root.
func Open(ctx context.Context, root string, opt Options) (*Bucket, error) {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 16
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	} else if opt.Retries == 0 {
		opt.Retries = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 200 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 1000
	}
	if opt.PartSize <= 0 {
		opt.PartSize = 8 << 20
	}
	if opt.UploadConcurrency <= 0 {
		opt.UploadConcurrency = 2
	}
	u, local, err := ParseRoot(root)
	if err != nil {
		return nil, err
	}
	var b *blob.Bucket
	switch {
	case local != "":
		b, err = fileblob.OpenBucket(local, nil)
	case strings.HasPrefix(u, s3blob.Scheme+"://"):
		b, err = s3Mux.OpenBucket(context.WithValue(ctx, retryOptionsKey{}, opt), u)
	default:
		b, err = blob.OpenBucket(ctx, u)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", root, err)
	}
	bk := &Bucket{b: b, root: root, opt: opt, sem: make(chan struct{}, opt.Concurrency)}
	if strings.HasPrefix(u, s3blob.Scheme+"://") {
		bk.s3 = newS3Target(b, u)
	}
	return bk, nil
}

// ParseRoot classifies a root: a local folder (returned as local, made
// absolute) or a gocloud bucket URL (returned as url). HTTPS addresses of
// public S3 buckets map to anonymous s3:// URLs.
func ParseRoot(root string) (bucketURL, local string, err error) {
	if root == "" {
		return "", "", errors.New("storage: empty root")
	}
	if !strings.Contains(root, "://") {
		abs, err := filepath.Abs(root)
		return "", abs, err
	}
	if err := NoCredentials(root); err != nil {
		return "", "", err
	}
	u, err := url.Parse(root)
	if err != nil {
		return "", "", fmt.Errorf("storage: root %q: %w", root, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return "", "", fmt.Errorf("storage: root %q: file URLs name a local path (file:///abs/path)", root)
		}
		return "", filepath.FromSlash(u.Path), nil
	case "https", "http":
		bucket, prefix, ok := s3HTTPS(u)
		if !ok {
			return "", "", fmt.Errorf("storage: root %q: only the https://BUCKET.s3.amazonaws.com/ address of a public S3 bucket is read over HTTPS; use s3://BUCKET?endpoint=… for other S3-compatible servers", root)
		}
		q := url.Values{"anonymous": {"true"}, "region": {"us-east-1"}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		return "s3://" + bucket + "?" + q.Encode(), "", nil
	case "s3", "gs", "azblob":
		// A path after the bucket is a key prefix (gocloud's prefix= parameter).
		if p := strings.TrimPrefix(u.Path, "/"); p != "" {
			q := u.Query()
			q.Set("prefix", strings.TrimSuffix(p, "/")+"/")
			u.Path = ""
			u.RawQuery = q.Encode()
		}
		return u.String(), "", nil
	default:
		return "", "", fmt.Errorf("storage: root %q: unsupported scheme %q (want a local path, file://, s3://, gs://, azblob:// or https://BUCKET.s3.amazonaws.com/)", root, u.Scheme)
	}
}

// NoCredentials refuses a root that carries a user name or password, in
// itself or in an endpoint= parameter: medmd takes credentials from each
// cloud's standard environment and configuration files only, so that
// none is written into a pipelines file, a plan, a log or a quarantine
// record. Other strings (local paths, URLs of schemes ParseRoot does not
// open) pass. A root that does not parse as a URL but has an "@" before
// its query is refused too: a secret key with a "/" in it breaks the
// parse. The error shows the root with what precedes the "@" masked and
// without its query; configuration checks call this first, so that no
// message repeats the credentials.
func NoCredentials(root string) error {
	scheme, rest, ok := strings.Cut(root, "://")
	if !ok || !slices.Contains(rootSchemes, strings.ToLower(scheme)) {
		return nil
	}
	head, query, _ := strings.Cut(rest, "?")
	inRoot := strings.Contains(head, "@")
	if u, err := url.Parse(root); err == nil {
		inRoot = u.User != nil
	}
	inEndpoint := false
	q, _ := url.ParseQuery(query) // the pairs that parse
	for _, ep := range q["endpoint"] {
		_, after, found := strings.Cut(ep, "://")
		if !found {
			after = ep
		}
		host, _, _ := strings.Cut(after, "/")
		inEndpoint = inEndpoint || strings.Contains(host, "@")
	}
	if strings.Contains(query, "@") && len(q["endpoint"]) == 0 && strings.Contains(query, "endpoint") {
		inEndpoint = true // an endpoint parameter that does not parse
	}
	if !inRoot && !inEndpoint {
		return nil
	}
	shown := scheme + "://" + head
	if inRoot {
		shown = scheme + "://xxxxx" + head[strings.LastIndex(head, "@"):]
	}
	if query != "" {
		shown += "?…"
	}
	return fmt.Errorf("storage: root %s: credentials in a URL are not read; give them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY) or the cloud's configuration files", shown)
}

// rootSchemes are the URL schemes ParseRoot opens.
var rootSchemes = []string{"file", "s3", "gs", "azblob", "http", "https"}

// s3HTTPS recognises virtual-hosted (https://b.s3.amazonaws.com/p,
// https://b.s3.us-east-1.amazonaws.com/p) and path-style
// (https://s3.amazonaws.com/b/p) addresses.
func s3HTTPS(u *url.URL) (bucket, prefix string, ok bool) {
	host := strings.ToLower(u.Hostname())
	p := strings.Trim(u.Path, "/")
	if !strings.HasSuffix(host, ".amazonaws.com") {
		return "", "", false
	}
	if i := strings.Index(host, ".s3."); i > 0 {
		bucket = host[:i]
	} else if strings.HasPrefix(host, "s3.") || strings.HasPrefix(host, "s3-") {
		bucket, p, _ = strings.Cut(p, "/")
	}
	if bucket == "" {
		return "", "", false
	}
	if p != "" {
		p += "/"
	}
	return bucket, p, true
}

// Root returns the root as given to Open.
func (b *Bucket) Root() string { return b.root }

// Close releases the bucket's connections.
func (b *Bucket) Close() error { return b.b.Close() }

// List implements Store. Each page is requested with retries; between
// pages only the continuation token is kept.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(Object) error) error {
	return b.listPages(ctx, &blob.ListOptions{Prefix: prefix}, func(o *blob.ListObject) error {
		if o.IsDir {
			return nil
		}
		obj := Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime}
		if len(o.MD5) == 16 {
			obj.MD5 = fmt.Sprintf("%x", o.MD5)
		}
		return fn(obj)
	})
}

// ListDir calls fn for what a folder listing of prefix (which ends in "/"
// or is "") shows, in ascending key order: each object directly under it,
// and each "subfolder" (a key prefix ending in "/", Object.Dir set, Size
// 0) under which objects lie.
func (b *Bucket) ListDir(ctx context.Context, prefix string, fn func(Object) error) error {
	return b.listPages(ctx, &blob.ListOptions{Prefix: prefix, Delimiter: "/"}, func(o *blob.ListObject) error {
		return fn(Object{Key: o.Key, Size: o.Size, ModTime: o.ModTime, Dir: o.IsDir})
	})
}

// listPages lists page by page, each page requested with retries, and
// calls fn for each entry; an error from fn stops the listing.
func (b *Bucket) listPages(ctx context.Context, opts *blob.ListOptions, fn func(*blob.ListObject) error) error {
	token := blob.FirstPageToken
	for {
		var page []*blob.ListObject
		var next []byte
		err := b.retry(ctx, func() error {
			var err error
			page, next, err = b.b.ListPage(ctx, token, b.opt.PageSize, opts)
			return err
		})
		if err != nil {
			return b.wrap("list", opts.Prefix, err)
		}
		for _, o := range page {
			if err := fn(o); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			return nil
		}
		token = next
	}
}

// Stat returns what the store holds of one object; a missing object is an
// error wrapping ErrNotExist.
func (b *Bucket) Stat(ctx context.Context, key string) (Object, error) {
	var a *blob.Attributes
	err := b.retry(ctx, func() error {
		var err error
		a, err = b.b.Attributes(ctx, key)
		return err
	})
	if err != nil {
		return Object{}, b.wrap("stat", key, err)
	}
	o := Object{Key: key, Size: a.Size, ModTime: a.ModTime}
	if len(a.MD5) == 16 {
		o.MD5 = fmt.Sprintf("%x", a.MD5)
	}
	return o, nil
}

// ReadAll implements Store. A body cut short is resumed from where it
// stopped with a ranged read, so a retry never downloads twice.
func (b *Bucket) ReadAll(ctx context.Context, key string, limit int64) ([]byte, error) {
	var buf []byte
	size := int64(-1)
	err := b.retry(ctx, func() error {
		r, err := b.b.NewRangeReader(ctx, key, int64(len(buf)), -1, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		if size < 0 {
			size = int64(len(buf)) + r.Size()
			if limit > 0 && size > limit {
				return &permanent{fmt.Errorf("object of %d bytes exceeds limit of %d", size, limit)}
			}
			if buf == nil {
				buf = make([]byte, 0, size)
			}
		}
		for {
			if int64(len(buf)) == size {
				// Read to EOF so the driver may check the body.
				var one [1]byte
				if n, err := r.Read(one[:]); n > 0 {
					return &permanent{fmt.Errorf("object longer than its declared %d bytes", size)}
				} else if err != nil && err != io.EOF {
					return err
				}
				return nil
			}
			n, err := r.Read(buf[len(buf):min(int64(cap(buf)), size)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				if int64(len(buf)) < size {
					return fmt.Errorf("body ended after %d of %d bytes: %w", len(buf), size, io.ErrUnexpectedEOF)
				}
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, b.wrap("read", key, err)
	}
	return buf, nil
}

// ReadRange implements Store.
func (b *Bucket) ReadRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	var out []byte
	err := b.retry(ctx, func() error {
		r, err := b.b.NewRangeReader(ctx, key, offset, length, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		out, err = io.ReadAll(r)
		return err
	})
	if err != nil {
		return nil, b.wrap("read range", key, err)
	}
	return out, nil
}

// NewReader implements Store. A body that breaks off with a transient
// error is reopened with a ranged read at the byte where it stopped (up to
// Options.Retries times), so a long stream survives a dropped connection.
func (b *Bucket) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	var r *blob.Reader
	err := b.retry(ctx, func() error {
		var err error
		r, err = b.b.NewReader(ctx, key, nil)
		return err
	})
	if err != nil {
		return nil, b.wrap("open", key, err)
	}
	return &resumingReader{ctx: ctx, b: b, key: key, r: r, size: r.Size()}, nil
}

// resumingReader reopens its object at off after a transient failure.
type resumingReader struct {
	ctx     context.Context
	b       *Bucket
	key     string
	r       *blob.Reader
	off     int64
	size    int64
	resumes int
}

func (rr *resumingReader) Read(p []byte) (int, error) {
	for {
		if rr.r == nil {
			if err := rr.reopen(); err != nil {
				return 0, rr.b.wrap("read", rr.key, err)
			}
		}
		n, err := rr.r.Read(p)
		rr.off += int64(n)
		if err == io.EOF && rr.off < rr.size {
			err = fmt.Errorf("body ended after %d of %d bytes: %w", rr.off, rr.size, io.ErrUnexpectedEOF)
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		// Every byte came (off == size) yet the body failed: a check at its
		// end, such as the SDK's response checksum, which reading nothing
		// again cannot fix.
		if !Transient(err) || rr.size >= 0 && rr.off >= rr.size || rr.resumes >= rr.b.opt.Retries || rr.ctx.Err() != nil {
			return n, rr.b.wrap("read", rr.key, err)
		}
		// Reopen at rr.off, now or on the next Read if bytes came back.
		rr.r.Close()
		rr.r = nil
		if n > 0 {
			return n, nil
		}
	}
}

func (rr *resumingReader) reopen() error {
	rr.resumes++
	return rr.b.retry(rr.ctx, func() error {
		r, err := rr.b.b.NewRangeReader(rr.ctx, rr.key, rr.off, -1, nil)
		if err != nil {
			return err
		}
		rr.r = r
		return nil
	})
}

func (rr *resumingReader) Close() error {
	if rr.r == nil {
		return nil
	}
	return rr.r.Close()
}

// permanent marks a failure no retry can fix.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Transient reports whether err is worth retrying: throttling, server
// errors, timeouts, dropped connections, truncated bodies. A missing
// object, a refused credential, any other 4xx answer (the request's own
// fault) or a cancelled context is not.
func Transient(err error) bool {
	var p *permanent
	if err == nil || errors.As(err, &p) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) { // a body cut short, whatever its status
		return true
	}
	if clientFault(err) {
		return false
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.InvalidArgument,
		gcerrors.Unimplemented, gcerrors.FailedPrecondition, gcerrors.Canceled, gcerrors.AlreadyExists:
		return false
	}
	return true
}

// clientFault reports an HTTP 4xx answer that no retry can fix: not a
// timeout (408), throttling (429), an error code the AWS SDK retries at
// any status (RequestTimeout, Throttling, SlowDown, …), a clock skew the
// client corrects from the answer (RequestTimeTooSkewed) or S3's
// OperationAborted ("try again").
func clientFault(err error) bool {
	var hs interface{ HTTPStatusCode() int }
	if !errors.As(err, &hs) {
		return false
	}
	c := hs.HTTPStatusCode()
	if c < 400 || c >= 500 || c == 408 || c == 429 {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		_, retryable := retry.DefaultRetryableErrorCodes[code]
		_, throttle := retry.DefaultThrottleErrorCodes[code]
		if retryable || throttle || code == "RequestTimeTooSkewed" || code == "OperationAborted" {
			return false
		}
	}
	return true
}

// retry runs op under the concurrency limit, retrying transient failures
// with exponential backoff and equal jitter.
func (b *Bucket) retry(ctx context.Context, op func() error) error {
	for attempt := 0; ; attempt++ {
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := op()
		<-b.sem
		if err == nil || !Transient(err) || attempt >= b.opt.Retries || ctx.Err() != nil {
			if err != nil && attempt > 0 && Transient(err) {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return err
		}
		d := b.opt.Backoff << min(attempt, 30)
		if d <= 0 || d > b.opt.MaxBackoff {
			d = b.opt.MaxBackoff
		}
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// wrap names the root and key in an error, and maps a missing object to
// ErrNotExist.
func (b *Bucket) wrap(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s %s: %s: %w", op, b.root, key, ErrNotExist)
	}
	return fmt.Errorf("%s %s: %s: %w", op, b.root, key, err)
}
