package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/medmd/medmd/shards"
)

// FS is a bucket seen through shards.FS, so shard, manifest, plan and
// quarantine files are published to object storage by the same code
// (shards.Publish) that publishes them to a local folder.
//
// An object store has no rename, and needs none: Create spools a file to
// local temporary storage, and Rename uploads the complete spool file
// under its final key — a single PUT, or a multipart upload that S3
// completes atomically — then deletes the spool file. A reader therefore
// sees an object whole or not at all, and a process killed mid-upload
// leaves no object (an incomplete multipart upload is invisible to
// listings and reads; AbortIncompleteUploads removes its parts).
// SyncDir and MkdirAll do nothing: an upload is durable once it returns
// and keys need no folders.
//
// Paths are slash-separated keys below the bucket's root; "." and "" are
// the root itself, so a runner that joins paths onto the folder "." gets
// plain keys.
//
// FS keeps the context it was made with because shards.FS's methods take
// none: cancelling it aborts uploads in flight (gocloud discards a write
// whose context is cancelled before Close) and fails later calls.
type FS struct {
	ctx   context.Context
	b     *Bucket
	mu    sync.Mutex
	spool map[string]string // temp name given to Create → local spool file
}

var _ shards.FS = (*FS)(nil)

// NewFS returns the shards.FS view of b; ctx bounds every operation.
func NewFS(ctx context.Context, b *Bucket) *FS {
	return &FS{ctx: ctx, b: b, spool: map[string]string{}}
}

// key maps a path to its object key.
func key(name string) string {
	k := path.Clean(strings.ReplaceAll(name, "\\", "/"))
	if k == "." || k == "/" {
		return ""
	}
	return strings.TrimPrefix(k, "./")
}

// Create implements shards.FS: it creates a local spool file that Rename
// uploads. The name is a temp name (shards.StartPublish's), never read
// by anyone else.
func (f *FS) Create(name string) (shards.File, error) {
	if err := f.ctx.Err(); err != nil {
		return nil, err
	}
	sf, err := os.CreateTemp("", "medmd-spool-*")
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", f.url(name), err)
	}
	f.mu.Lock()
	if old, ok := f.spool[key(name)]; ok {
		os.Remove(old)
	}
	f.spool[key(name)] = sf.Name()
	f.mu.Unlock()
	return sf, nil
}

// Rename implements shards.FS: it uploads oldname's spool file under
// newname's key and drops the spool file. INVARIANT: the object appears
// only when the upload completes; a failed or cancelled upload leaves
// newname as it was.
func (f *FS) Rename(oldname, newname string) error {
	f.mu.Lock()
	local, ok := f.spool[key(oldname)]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("rename %s: object stores have no rename; only a file created through this FS can be published", f.url(oldname))
	}
	if err := f.upload(local, key(newname)); err != nil {
		return f.b.wrap("upload", key(newname), err)
	}
	return f.dropSpool(oldname)
}

// upload copies a local file to key. The context given to NewWriter is
// cancelled before Close on any error, which makes gocloud abort the
// upload instead of completing a short object.
func (f *FS) upload(local, k string) error {
	return f.b.retry(f.ctx, func() error {
		src, err := os.Open(local)
		if err != nil {
			return &permanent{err}
		}
		defer src.Close()
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		w, err := f.b.b.NewWriter(ctx, k, &blob.WriterOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, src); err != nil {
			cancel()
			w.Close()
			return err
		}
		return w.Close()
	})
}

func (f *FS) dropSpool(name string) error {
	f.mu.Lock()
	local, ok := f.spool[key(name)]
	delete(f.spool, key(name))
	f.mu.Unlock()
	if !ok {
		return nil
	}
	if err := os.Remove(local); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Open implements shards.FS: it reads the whole object (the files read
// back through an FS are small: stats, plans, counts, quarantine records).
// A missing object's error satisfies errors.Is(err, fs.ErrNotExist).
func (f *FS) Open(name string) (shards.File, error) {
	f.mu.Lock()
	local, ok := f.spool[key(name)]
	f.mu.Unlock()
	if ok {
		return os.Open(local)
	}
	data, err := f.b.ReadAll(f.ctx, key(name), 0)
	if err != nil {
		return nil, err
	}
	return &memFile{r: strings.NewReader(string(data)), name: f.url(name)}, nil
}

// Remove implements shards.FS: a spool file or an object; a missing one
// is not an error.
func (f *FS) Remove(name string) error {
	f.mu.Lock()
	_, ok := f.spool[key(name)]
	f.mu.Unlock()
	if ok {
		return f.dropSpool(name)
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
func (f *FS) url(name string) string {
	root, _, _ := strings.Cut(f.b.Root(), "?")
	return strings.TrimSuffix(root, "/") + "/" + key(name)
}

// memFile is a read-only shards.File over an object's bytes.
type memFile struct {
	r    *strings.Reader
	name string
}

func (m *memFile) Read(p []byte) (int, error) { return m.r.Read(p) }
func (m *memFile) Write([]byte) (int, error) {
	return 0, fmt.Errorf("write %s: opened for reading", m.name)
}
func (m *memFile) Close() error { return nil }
func (m *memFile) Sync() error  { return nil }
