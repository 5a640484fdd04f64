package storage

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/medmd/medmd/shards"
)

// FS is a bucket seen through shards.FS, so shard, manifest, plan and
// quarantine files are published to object storage by the same code
// (shards.Publish) that publishes them to a local folder.
//
// An object store has no rename, and needs none: Create of a publish's
// temp name (shards.StartPublish's "name.<tag>.tmp") starts an upload to
// the final key at once, and the bytes stream to the store while the
// file is being written — parts of Options.PartSize, at most
// Options.UploadConcurrency of them in flight per file — so writing a
// shard and uploading it overlap, and nothing is staged on local disk
// and read back. The object appears only at Rename, which completes the
// upload (a single PUT for a small file, or CompleteMultipartUpload,
// which S3 makes atomic); Remove of the temp name, a failed write or a
// cancelled context aborts it. A reader therefore sees an object whole or
// not at all, and a process killed mid-upload leaves no object (an
// incomplete multipart upload is invisible to listings and reads; the
// bucket's lifecycle rule removes its parts). SyncDir and MkdirAll do
// nothing: an upload is durable once it completes and keys need no
// folders. A transient failure of one part is retried by the S3 client
// (the part is in memory); a file that fails as a whole is not published,
// and the caller's retry (a rerun of the shard) starts it again.
//
// Paths are slash-separated keys below the bucket's root; "." and "" are
// the root itself, so a runner that joins paths onto the folder "." gets
// plain keys.
//
// FS keeps the context it was made with because shards.FS's methods take
// none: cancelling it aborts uploads in flight (gocloud discards a write
// whose context is cancelled before Close) and fails later calls.
type FS struct {
	ctx     context.Context
	b       *Bucket
	made    time.Time // uploads started before are AbortUploads' to abort
	mu      sync.Mutex
	pending map[string]*upload // temp key given to Create → its upload
}

var _ shards.FS = (*FS)(nil)

// NewFS returns the shards.FS view of b; ctx bounds every operation.
func NewFS(ctx context.Context, b *Bucket) *FS {
	return &FS{ctx: ctx, b: b, made: time.Now(), pending: map[string]*upload{}}
}

// key maps a path to its object key.
func key(name string) string {
	k := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if k == "." || k == "/" {
		return ""
	}
	return strings.TrimPrefix(k, "./")
}

// Create implements shards.FS. For a temp name of shards.StartPublish it
// starts the upload of the final key, completed by Rename; any other name
// is uploaded under its own key when the file is closed.
func (f *FS) Create(name string) (shards.File, error) {
	if err := f.ctx.Err(); err != nil {
		return nil, err
	}
	target, temp := shards.TempTarget(name)
	u, err := f.startUpload(key(target))
	if err != nil {
		return nil, err
	}
	if !temp {
		u.closeCompletes = true
		return u, nil
	}
	f.mu.Lock()
	old := f.pending[key(name)]
	f.pending[key(name)] = u
	f.mu.Unlock()
	if old != nil {
		old.abort()
	}
	return u, nil
}

// startUpload opens a streaming writer for k: the S3 client itself on an
// s3:// root (s3Writer), gocloud's writer otherwise.
func (f *FS) startUpload(k string) (*upload, error) {
	ctx, cancel := context.WithCancel(f.ctx)
	if f.b.s3 != nil && s3SafeKey(k) {
		return &upload{f: f, key: k, w: f.b.newS3Writer(ctx, k), cancel: cancel}, nil
	}
	w, err := f.b.b.NewWriter(ctx, k, &blob.WriterOptions{
		// A content type given up front spares gocloud sniffing (and
		// buffering) the first bytes.
		ContentType:    "application/octet-stream",
		BufferSize:     f.b.opt.PartSize,
		MaxConcurrency: f.b.opt.UploadConcurrency,
	})
	if err != nil {
		cancel()
		return nil, f.b.wrap("upload", k, err)
	}
	return &upload{f: f, key: k, w: blobWriter{w}, cancel: cancel}, nil
}

// streamWriter is an upload in progress: complete makes the object
// visible, abort drops it.
type streamWriter interface {
	Write(p []byte) (int, error)
	complete() error
	abort()
}

// blobWriter is gocloud's writer as a streamWriter. Its context is
// cancelled before Close on abort, which makes gocloud abort the upload
// instead of completing a short object.
type blobWriter struct{ w *blob.Writer }

func (b blobWriter) Write(p []byte) (int, error) { return b.w.Write(p) }
func (b blobWriter) complete() error             { return b.w.Close() }
func (b blobWriter) abort()                      { b.w.Close() }

// Rename implements shards.FS: it completes the upload Create started for
// oldname, which must be a temp name of newname. INVARIANT: the object
// appears only when the upload completes; a failed or cancelled upload
// leaves newname as it was.
func (f *FS) Rename(oldname, newname string) error {
	f.mu.Lock()
	u, ok := f.pending[key(oldname)]
	delete(f.pending, key(oldname))
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("rename %s: object stores have no rename; only a file created through this FS can be published", f.url(oldname))
	}
	if u.key != key(newname) {
		u.abort()
		return fmt.Errorf("rename %s to %s: object stores have no rename; a temp file is published only under the name it was created for", f.url(oldname), f.url(newname))
	}
	return u.complete()
}

// upload is a file being streamed to an object.
type upload struct {
	f      *FS
	key    string
	w      streamWriter
	cancel context.CancelFunc
	// closeCompletes: Close completes the upload (a file created under its
	// own name); otherwise Rename does.
	closeCompletes bool
	err            error // the first write error
	done           bool  // completed or aborted
}

func (u *upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.done {
		return 0, fmt.Errorf("write %s: upload already finished", u.f.url(u.key))
	}
	n, err := u.w.Write(p)
	if err != nil {
		u.err = u.f.b.wrap("upload", u.key, err)
		return n, u.err
	}
	return n, nil
}

func (u *upload) Read([]byte) (int, error) {
	return 0, fmt.Errorf("read %s: being uploaded; readable once published", u.f.url(u.key))
}

// Sync is a no-op: the bytes are durable when the upload completes.
func (u *upload) Sync() error { return u.err }

// Close completes a file created under its own name; a publish's temp
// file waits for Rename (or Remove).
func (u *upload) Close() error {
	if u.closeCompletes {
		return u.complete()
	}
	return nil
}

// complete makes the object visible, unless a write failed.
func (u *upload) complete() error {
	if u.done {
		return u.err
	}
	if u.err != nil {
		u.abort()
		return u.err
	}
	u.done = true
	defer u.cancel()
	if err := u.w.complete(); err != nil {
		u.err = u.f.b.wrap("upload", u.key, err)
	}
	return u.err
}

// abort drops the upload: no object appears.
func (u *upload) abort() {
	if u.done {
		return
	}
	u.done = true
	u.cancel()
	u.w.abort()
}

// Open implements shards.FS: it streams the object (Bucket.NewReader,
// resumed after a dropped connection), so checking a shard's parts holds
// none of them in memory. A missing object's error satisfies
// errors.Is(err, fs.ErrNotExist).
func (f *FS) Open(name string) (shards.File, error) {
	f.mu.Lock()
	u, ok := f.pending[key(name)]
	f.mu.Unlock()
	if ok {
		return nil, fmt.Errorf("open %s: being uploaded to %s; readable once published", f.url(name), f.url(u.key))
	}
	r, err := f.b.NewReader(f.ctx, key(name))
	if err != nil {
		return nil, err
	}
	return &objectFile{ReadCloser: r, name: f.url(name)}, nil
}

// Remove implements shards.FS: a pending upload (aborted) or an object;
// a missing one is not an error.
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	u, ok := f.pending[key(name)]
	delete(f.pending, key(name))
	f.mu.Unlock()
	if ok {
		u.abort()
		return nil
	}
	err := f.b.retry(f.ctx, func() error { return f.b.b.Delete(f.ctx, key(name)) })
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return f.b.wrap("delete", key(name), err)
	}
	return nil
}

// SyncDir implements shards.FS; an upload is durable when it returns.
func (f *FS) SyncDir(string) error { return nil }

// MkdirAll implements shards.FS; keys need no folders.
func (f *FS) MkdirAll(string) error { return nil }

// List implements shards.FS: the names directly under dir, sorted,
// streamed from a paginated listing.
func (f *FS) List(dir string) ([]string, error) {
	prefix := key(dir)
	if prefix != "" {
		prefix += "/"
	}
	var names []string
	err := f.b.List(f.ctx, prefix, func(o Object) error {
		if n := strings.TrimPrefix(o.Key, prefix); n != "" && !strings.Contains(n, "/") {
			names = append(names, n)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// Size returns an object's size from its attributes, without reading it
// (shards.CheckShardFS uses it for the cheap check of a done shard).
func (f *FS) Size(name string) (int64, error) {
	var a *blob.Attributes
	err := f.b.retry(f.ctx, func() error {
		var err error
		a, err = f.b.b.Attributes(f.ctx, key(name))
		return err
	})
	if err != nil {
		return 0, f.b.wrap("stat", key(name), err)
	}
	return a.Size, nil
}

// URL names a path in messages: the root and the key.
func (f *FS) url(name string) string { return ObjectURL(f.b.Root(), key(name)) }

// Name implements shards.Namer: a file's object URL, for messages.
func (f *FS) Name(name string) string { return f.url(name) }

// objectFile is a read-only shards.File over an object's stream.
type objectFile struct {
	io.ReadCloser
	name string
}

func (o *objectFile) Write([]byte) (int, error) {
	return 0, fmt.Errorf("write %s: opened for reading", o.name)
}
func (o *objectFile) Sync() error { return nil }
