package shards

import (
	"io"
	"os"
	"path/filepath"
	"sort"
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

// writeFileAtomic publishes data at path: temp file → write → fsync →
// close → rename → fsync dir.
//
// INVARIANT: path either keeps its old content or holds all of data; it
// never holds a prefix.
func writeFileAtomic(fs FS, path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		fs.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		fs.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		fs.Remove(tmp)
		return err
	}
	if err := fs.Rename(tmp, path); err != nil {
		fs.Remove(tmp)
		return err
	}
	return fs.SyncDir(filepath.Dir(path))
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
