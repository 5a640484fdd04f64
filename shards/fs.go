package shards

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File is the part of *os.File the shard writers need.
type File interface {
	io.Reader
	io.Writer
	io.Closer
	// Sync flushes the file's contents to stable storage.
	Sync() error
}

// FS is the small filesystem surface shard and manifest I/O goes through,
// in the manner of pebble's vfs: tests substitute a fault-injecting FS
// and check that no partial shard ever becomes visible. Memory-mapped
// reading (OpenShard) bypasses it: it only ever sees published files.
// An FS must be safe for concurrent use: WriteCorpus and medmd run
// publish one shard while they write the next.
type FS interface {
	// Create creates or truncates name for writing.
	Create(name string) (File, error)
	// Open opens name for reading.
	Open(name string) (File, error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove deletes name; a missing file is not an error.
	Remove(name string) error
	// SyncDir makes the directory's entries (creates, renames) durable.
	SyncDir(dir string) error
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string) error
	// List returns the names (not paths) of dir's entries, sorted.
	List(dir string) ([]string, error)
}

// OSFS is the real filesystem.
var OSFS FS = osFS{}

type osFS struct{}

func (osFS) Create(name string) (File, error) { return os.Create(name) }
func (osFS) Open(name string) (File, error)   { return os.Open(name) }
func (osFS) Rename(o, n string) error         { return os.Rename(o, n) }
func (osFS) MkdirAll(dir string) error        { return os.MkdirAll(dir, 0o755) }

func (osFS) Remove(name string) error {
	if err := os.Remove(name); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

func (osFS) List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

func orOS(fs FS) FS {
	if fs == nil {
		return OSFS
	}
	return fs
}

// Publishing a file. Every file medmd makes visible (shard stats and
// manifests, plan.json and quarantine files, NIfTI images and their
// sidecars, montages, checkpoints, reports, downloads) goes through
// Publish, PublishBytes or StartPublish: temp file beside the target →
// write → fsync → close → rename over the target → fsync the directory.
//
// INVARIANT: the target either keeps its old content or holds all of the
// new content; a reader never sees a prefix, and after a crash the target
// is the old file or the whole new one.
//
// INVARIANT: every error is returned: the writer's own, and those of
// write, sync, close, rename and the directory sync. Before the rename, a
// failure removes the temp file (a removal that fails too is reported
// with it); a failed directory sync leaves the new file in place but not
// yet durable, and is returned.
//
// INVARIANT: the temp name is the target's name, a random 16-hex-digit
// tag and ".tmp" (manifest.json.0123456789abcdef.tmp). The tag makes it
// unique, so concurrent publishers of one path (parallel tasks writing
// plan.json into a shared folder) never write into each other's temp
// file: each renames a complete file and the last rename wins. The
// ".tmp" suffix keeps it out of every listing that looks for final
// names; tempTarget maps it back to the target for cleanup.
//
// The file is created like os.Create (mode 0666 before the umask), so a
// published file is as readable as any other the user writes.

// Publish makes path hold what write writes, atomically (see above).
// write streams into the temp file (large outputs are never buffered
// whole); its error aborts the publish and is returned. w has no Close
// method, so encoders that close an io.Closer sink (pqarrow) leave the
// sync, close and rename to Publish. A nil fs is the real filesystem.
func Publish(fs FS, path string, write func(w io.Writer) error) error {
	p, err := StartPublish(fs, path)
	if err != nil {
		return err
	}
	if err := write(p); err != nil {
		return errors.Join(err, p.Abort())
	}
	return p.Commit()
}

// PublishBytes makes path hold data, atomically (see Publish).
func PublishBytes(fs FS, path string, data []byte) error {
	return Publish(fs, path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Pending is a file being published: written under its temp name and
// made visible by Commit, or dropped by Abort. It is for writers that
// must inspect the complete temp file before it becomes visible (a
// download verified before it enters the cache); others use Publish.
type Pending struct {
	fs         FS
	f          File
	w          io.Writer // f, or a bigWriter of it
	tmp, path  string
	werr       error // the first write error, returned again by Commit
	closed     bool  // f is closed
	terminated bool  // Commit or Abort has run
}

// StartPublish creates the temp file for path. The caller writes through
// the Pending and must call Commit or Abort; Abort after Commit is a
// no-op, so `defer p.Abort()` is the usual pattern. A nil fs is the real
// filesystem.
func StartPublish(fs FS, path string) (*Pending, error) {
	fs = orOS(fs)
	tmp := fmt.Sprintf("%s.%016x%s", path, rand.Uint64(), tmpSuffix)
	f, err := fs.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &Pending{fs: fs, f: f, w: newBigWriter(f), tmp: tmp, path: path}, nil
}

// Write writes to the temp file. Its first error is kept and returned
// by Commit too, so a writer that drops errors (fmt.Fprintf, an encoder
// loop) can never publish a short file.
func (p *Pending) Write(b []byte) (int, error) {
	if p.werr != nil {
		return 0, p.werr
	}
	n, err := p.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		p.werr = fmt.Errorf("publish %s: %w", p.path, err)
	}
	return n, err
}

// TempPath is where the content lies until Commit. Reading it (through
// another handle) sees everything written so far.
func (p *Pending) TempPath() string { return p.tmp }

// Commit syncs and closes the temp file, renames it over the target and
// syncs the directory. On an error before the rename the temp file is
// removed.
func (p *Pending) Commit() error {
	if p.terminated {
		return fmt.Errorf("publish %s: already committed or aborted", p.path)
	}
	p.terminated = true
	if p.werr != nil {
		return p.cleanup(p.werr)
	}
	if err := p.f.Sync(); err != nil {
		return p.cleanup(err)
	}
	p.closed = true
	if err := p.f.Close(); err != nil {
		return p.cleanup(err)
	}
	if err := p.fs.Rename(p.tmp, p.path); err != nil {
		return p.cleanup(err)
	}
	return p.fs.SyncDir(filepath.Dir(p.path))
}

// Abort closes and removes the temp file; the target is untouched. It is
// a no-op after Commit or a previous Abort.
func (p *Pending) Abort() error {
	if p.terminated {
		return nil
	}
	p.terminated = true
	return p.cleanup(nil)
}

// cleanup closes (once) and removes the temp file, joining its errors to
// err. A close error only matters when the content was still wanted, so
// on abort it is dropped.
func (p *Pending) cleanup(err error) error {
	if !p.closed {
		p.closed = true
		p.f.Close()
	}
	return errors.Join(err, p.fs.Remove(p.tmp))
}

// TempTarget returns the path a temp name of StartPublish stands for, so
// an FS without rename (an object store) can stream the content to its
// final key from Create on and make it visible at Rename. ok is false
// for names that are not temp files.
func TempTarget(name string) (target string, ok bool) { return tempTarget(name) }

// tempTarget returns the file a temp name stands for: the name without
// ".tmp" and, for Publish's temp names, without the random tag. ok is
// false for names that are not temp files.
func tempTarget(name string) (target string, ok bool) {
	base, ok := strings.CutSuffix(name, tmpSuffix)
	if !ok {
		return name, false
	}
	if i := len(base) - 17; i > 0 && base[i] == '.' && isHex(base[i+1:]) {
		base = base[:i]
	}
	return base, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// readAll reads a whole file through fs.
func readAll(fs FS, path string) ([]byte, error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// tmpSuffix marks files that are being written; they are never part of a
// corpus and are ignored by BuildManifest.
const tmpSuffix = ".tmp"

var errNotExist = os.ErrNotExist

func isNotExist(err error) bool { return os.IsNotExist(err) }
