package datasets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/medmd/medmd/ingest/storage"
)

// A dataset's root is a local folder or an object-store prefix
// (s3://bucket/prefix?…, gs://…, azblob://…, the https:// address of a
// public S3 bucket; file:///abs/path is a local folder). Adapters name
// files by full path either way — a local path, or the object's URL
// without connection parameters (s3://bucket/prefix/images/x.png) — built
// with joinPath and dirPath, and read them through the root's tree, so one
// adapter serves both and unit ids and sample paths, relative to the root,
// are the same in both.
//
// The tree opens the whole bucket rather than the root's prefix: the
// publishers' layouts refer to folders beside the root (MIMIC-CXR's
// reports beside MIMIC-CXR-JPG), and those are objects of the same
// bucket.

// tree reads a dataset root's files.
type tree struct {
	root string // the root as configured, for opening

	once sync.Once
	err  error
	b    *storage.Bucket // the whole bucket; nil for a local root
	base string          // the bucket's URL, "s3://bucket/": names are base+key

	// probeErr is the first error of an exists that could not tell
	// (throttled past its retries, credentials expired): planning fails
	// with it rather than take the file for missing.
	probeMu  sync.Mutex
	probeErr error

	prefix string   // the root's key prefix, "" or ending in "/"
	index  keyIndex // the objects under prefix, listed when opened
}

// keyIndex is every object under a bucket root, listed once when the root
// is opened: the datasets' planning looks for each row's image in up to
// three places (CheXpert, Radiopaedia), lists a folder per study
// (MIMIC-CXR) and sizes every image, and a request for each would make
// planning a bucket cost round trips per row. From the listing, exists,
// size, readDir and walkFiles answer without a request, and units know
// their sizes as on disk. A root of more than maxIndexKeys objects is not
// indexed: then each asks the store.
type keyIndex struct {
	objs []indexed // sorted by key; nil when not indexed
}

type indexed struct {
	key  string
	size int64
}

// maxIndexKeys bounds the objects held: a million keys of 60 bytes hold
// about 120 MiB of heap.
const maxIndexKeys = 1 << 20

// build lists the objects under prefix; it reports whether there is any.
func (x *keyIndex) build(ctx context.Context, b *storage.Bucket, prefix string) (bool, error) {
	var objs []indexed
	err := b.List(ctx, prefix, func(o storage.Object) error {
		if len(objs) >= maxIndexKeys {
			return errStop
		}
		objs = append(objs, indexed{o.Key, o.Size})
		return nil
	})
	if errors.Is(err, errStop) {
		return true, nil // too many to hold: not indexed
	}
	if err != nil {
		return false, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	x.objs = objs
	return len(objs) > 0, nil
}

// covers reports whether the index can answer for key k.
func (x *keyIndex) covers(t *tree, k string) bool {
	return x.objs != nil && strings.HasPrefix(k, t.prefix)
}

// from is the position of the first key at or after k.
func (x *keyIndex) from(k string) int {
	return sort.Search(len(x.objs), func(i int) bool { return x.objs[i].key >= k })
}

// stat reports whether k is an object (and its size) or a folder.
func (x *keyIndex) stat(k string) (size int64, file, dir bool) {
	if i := x.from(k); i < len(x.objs) && x.objs[i].key == k {
		return x.objs[i].size, true, false
	}
	d := dirKey(k)
	i := x.from(d)
	return 0, false, i < len(x.objs) && strings.HasPrefix(x.objs[i].key, d)
}

// children lists folder k's entries in key order, each subfolder once.
func (x *keyIndex) children(k string) []dirEntry {
	d := dirKey(k)
	var out []dirEntry
	for i := x.from(d); i < len(x.objs) && strings.HasPrefix(x.objs[i].key, d); {
		rest := x.objs[i].key[len(d):]
		name, _, sub := strings.Cut(rest, "/")
		out = append(out, dirEntry{name, sub})
		if !sub {
			i++
			continue
		}
		// Past the subfolder's keys: "/"+1 is "0".
		i = x.from(d + name + "0")
	}
	return out
}

// rootName is the name files under root are joined to: the local path
// (resolved against baseDir), or the URL without connection parameters.
func rootName(root, baseDir string) (string, error) {
	if !storage.IsURL(root) {
		if !filepath.IsAbs(root) {
			root = filepath.Join(baseDir, root)
		}
		return root, nil
	}
	bucketURL, local, err := storage.ParseRoot(root)
	if err != nil {
		return "", err
	}
	if local != "" {
		return local, nil
	}
	u, err := url.Parse(bucketURL)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+"/"+u.Query().Get("prefix"), "/"), nil
}

// open opens the bucket of a URL root, once; a local root needs nothing.
func (t *tree) open(ctx context.Context) error {
	t.once.Do(func() {
		if !storage.IsURL(t.root) {
			return
		}
		bucketURL, local, err := storage.ParseRoot(t.root)
		if err != nil || local != "" {
			t.err = err
			return
		}
		u, err := url.Parse(bucketURL)
		if err != nil {
			t.err = err
			return
		}
		q := u.Query()
		prefix := q.Get("prefix")
		t.prefix = prefix
		q.Del("prefix")
		u.RawQuery = q.Encode()
		t.base = u.Scheme + "://" + u.Host + "/"
		if t.b, t.err = storage.Open(ctx, u.String(), storage.Options{}); t.err != nil {
			return
		}
		// The listing also makes a missing bucket or refused credentials
		// fail the plan saying so, not as a root with no known layout.
		found, err := t.index.build(ctx, t.b, prefix)
		switch {
		case err != nil:
			t.err = err
		case !found:
			t.err = fmt.Errorf("%s: no objects under this root", strings.TrimSuffix(t.base+prefix, "/"))
		}
	})
	return t.err
}

// key is name's object key ("" for the bucket itself), or false for a
// name outside the bucket (a local path given to a bucket root's tree).
func (t *tree) key(name string) (string, bool) {
	if t.b == nil {
		return "", false
	}
	if name == strings.TrimSuffix(t.base, "/") {
		return "", true
	}
	if !strings.HasPrefix(name, t.base) {
		return "", false
	}
	return strings.TrimPrefix(name, t.base), true
}

// dirKey is the listing prefix of the folder with key k: k and "/", or ""
// for the bucket itself.
func dirKey(k string) string {
	if k = strings.TrimSuffix(k, "/"); k == "" {
		return ""
	}
	return k + "/"
}

// joinPath is filepath.Join for local paths and path.Join after the
// bucket for object URLs (filepath.Join would turn s3:// into s3:/), never
// climbing above the bucket.
func joinPath(elem ...string) string {
	if len(elem) == 0 {
		return ""
	}
	scheme, rest, ok := strings.Cut(elem[0], "://")
	if !ok {
		return filepath.Join(elem...)
	}
	host, p, _ := strings.Cut(rest, "/")
	parts := append([]string{"/", p}, elem[1:]...)
	for i := range parts {
		parts[i] = filepath.ToSlash(parts[i])
	}
	return scheme + "://" + host + path.Join(parts...)
}

// dirPath is filepath.Dir for local paths and object URLs alike.
func dirPath(name string) string {
	if !strings.Contains(name, "://") {
		return filepath.Dir(name)
	}
	return joinPath(name, "..")
}

// notExist wraps fs.ErrNotExist naming name.
func notExist(name string) error {
	return fmt.Errorf("%s: %w", name, fs.ErrNotExist)
}

// exists reports whether name is a file or a folder (for a bucket, an
// object or a key prefix with objects under it). A bucket that cannot
// tell records why (probe), and the answer is false.
func (t *tree) exists(ctx context.Context, name string) bool {
	k, ok := t.key(name)
	if !ok {
		_, err := os.Stat(name)
		return err == nil
	}
	if t.index.covers(t, k) {
		_, file, dir := t.index.stat(k)
		return file || dir
	}
	_, err := t.b.Stat(ctx, k)
	if err == nil {
		return true
	}
	if !errors.Is(err, storage.ErrNotExist) {
		t.failed(err)
		return false
	}
	found := false
	err = t.b.ListDir(ctx, dirKey(k), func(storage.Object) error {
		found = true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		t.failed(err)
	}
	return found
}

// failed records the first error of a probe that could not tell.
func (t *tree) failed(err error) {
	t.probeMu.Lock()
	defer t.probeMu.Unlock()
	if t.probeErr == nil {
		t.probeErr = err
	}
}

// probe returns the first error exists could not answer through.
func (t *tree) probe() error {
	t.probeMu.Lock()
	defer t.probeMu.Unlock()
	return t.probeErr
}

// errStop ends a listing early.
var errStop = errors.New("stop")

// size is the size of file name for packing shards, 0 when unknown (an
// object of a root too large to index: a request per image would make
// planning cost a round trip per row).
func (t *tree) size(name string) int64 {
	if k, ok := t.key(name); ok {
		if !t.index.covers(t, k) {
			return 0
		}
		n, _, _ := t.index.stat(k)
		return n
	}
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFile reads a whole file, refusing files over limit.
func (t *tree) readFile(ctx context.Context, name string, limit int64) ([]byte, error) {
	k, ok := t.key(name)
	if !ok {
		return readBounded(name, limit)
	}
	b, err := t.b.ReadAll(ctx, k, limit)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, notExist(name)
	}
	return b, err
}

// openFile streams a file.
func (t *tree) openFile(ctx context.Context, name string) (io.ReadCloser, error) {
	k, ok := t.key(name)
	if !ok {
		return os.Open(name)
	}
	r, err := t.b.NewReader(ctx, k)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, notExist(name)
	}
	return r, err
}

// readerAt opens a file for random access (Parquet): a local one is an
// *os.File to close when done; an object's needs no closing.
func (t *tree) readerAt(ctx context.Context, name string) (readerAtSeeker, error) {
	k, ok := t.key(name)
	if !ok {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	o, err := t.b.Stat(ctx, k)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, notExist(name)
		}
		return nil, err
	}
	return t.b.NewReaderAt(ctx, k, name, o.Size), nil
}

// readerAtSeeker is what Parquet reads a file through.
type readerAtSeeker interface {
	io.ReaderAt
	io.ReadSeeker
}

// dirEntry is one entry of a folder.
type dirEntry struct {
	name string
	dir  bool
}

// readDir lists a folder in name order; a missing folder is an error
// wrapping fs.ErrNotExist (for a bucket, a prefix with no objects).
func (t *tree) readDir(ctx context.Context, name string) ([]dirEntry, error) {
	k, ok := t.key(name)
	if !ok {
		ents, err := os.ReadDir(name)
		if err != nil {
			return nil, err
		}
		out := make([]dirEntry, len(ents))
		for i, e := range ents {
			out[i] = dirEntry{e.Name(), e.IsDir()}
		}
		return out, nil
	}
	prefix := dirKey(k)
	var out []dirEntry
	if t.index.covers(t, k) {
		out = t.index.children(k)
		if len(out) == 0 {
			return nil, notExist(name)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
		return out, nil
	}
	err := t.b.ListDir(ctx, prefix, func(o storage.Object) error {
		n := strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), "/")
		if n != "" {
			out = append(out, dirEntry{n, o.Dir})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notExist(name)
	}
	// Key order puts "a-b/" and "a.txt" before "a/"; a folder lists by
	// name.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// glob is filepath.Glob for names under a local root or a bucket: the
// pattern's meta characters may be in any element after the root.
func (t *tree) glob(ctx context.Context, pattern string) ([]string, error) {
	if _, ok := t.key(pattern); !ok {
		return filepath.Glob(pattern)
	}
	// Elements without meta characters are taken as they are; each one
	// with them is matched against its folder's listing.
	k, _ := t.key(pattern)
	names := []string{t.base}
	for _, el := range strings.Split(k, "/") {
		var next []string
		for _, dir := range names {
			if !strings.ContainsAny(el, `*?[\`) {
				next = append(next, joinPath(dir, el))
				continue
			}
			ents, err := t.readDir(ctx, dir)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			for _, e := range ents {
				if ok, err := path.Match(el, e.name); err != nil {
					return nil, err
				} else if ok {
					next = append(next, joinPath(dir, e.name))
				}
			}
		}
		names = next
	}
	out := names[:0]
	for _, n := range names {
		if t.exists(ctx, n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// walkFiles calls fn with every file under folder dir and its size,
// folders themselves not reported: in the order of a walk locally, of keys
// in a bucket. fn may return fs.SkipAll to stop. A missing or unreadable
// local folder is reported through fn's error argument as
// filepath.WalkDir does; a bucket folder with no objects has no files.
func (t *tree) walkFiles(ctx context.Context, dir string, fn func(name string, size int64, err error) error) error {
	k, ok := t.key(dir)
	if !ok {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fn(p, 0, err)
			}
			if d.IsDir() {
				return nil
			}
			var size int64 // of what a link points at, as reading it gets
			if st, err := os.Stat(p); err == nil {
				size = st.Size()
			}
			return fn(p, size, nil)
		})
	}
	var err error
	if t.index.covers(t, k) {
		d := dirKey(k)
		for i := t.index.from(d); i < len(t.index.objs) && strings.HasPrefix(t.index.objs[i].key, d) && err == nil; i++ {
			if err = ctx.Err(); err == nil {
				err = fn(t.base+t.index.objs[i].key, t.index.objs[i].size, nil)
			}
		}
	} else {
		err = t.b.List(ctx, dirKey(k), func(o storage.Object) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(t.base+o.Key, o.Size, nil)
		})
	}
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}
