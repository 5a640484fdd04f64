package shards

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"
)

var errInjected = errors.New("injected fault")

// faultFS fails the failAt-th operation (counting from 0) and every
// operation after it, like a process that dies at that point. It may be
// used from several goroutines (a shard published while the next is
// written); the order of their operations is then the scheduler's.
type faultFS struct {
	FS
	failAt int
	mu     sync.Mutex
	n      int
	log    []string
}

func (f *faultFS) op(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, what)
	f.n++
	if f.n-1 >= f.failAt {
		return fmt.Errorf("%s: %w", what, errInjected)
	}
	return nil
}

func (f *faultFS) Create(name string) (File, error) {
	if err := f.op("create " + filepath.Base(name)); err != nil {
		return nil, err
	}
	fl, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: fl, fs: f, name: filepath.Base(name)}, nil
}

func (f *faultFS) Rename(o, n string) error {
	if err := f.op("rename " + filepath.Base(n)); err != nil {
		return err
	}
	return f.FS.Rename(o, n)
}

func (f *faultFS) Remove(name string) error {
	if err := f.op("remove " + filepath.Base(name)); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

func (f *faultFS) SyncDir(dir string) error {
	if err := f.op("syncdir"); err != nil {
		return err
	}
	return f.FS.SyncDir(dir)
}

type faultFile struct {
	File
	fs   *faultFS
	name string
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.op("write " + f.name); err != nil {
		// A torn write: half the bytes land.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.op("sync " + f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	err := f.fs.op("close " + f.name)
	cerr := f.File.Close()
	if err != nil {
		return err
	}
	return cerr
}

// checkVisible asserts the crash-safety invariants on what a crashed run
// left in dir: a shard with a stats file verifies completely, and every
// file under a final name is complete.
func checkVisible(t *testing.T, dir, step string) {
	t.Helper()
	names, _ := OSFS.List(dir)
	for _, n := range names {
		path := filepath.Join(dir, n)
		switch {
		case strings.HasSuffix(n, ".stats.json"):
			st, done, err := ReadShardStats(dir, strings.TrimSuffix(n, ".stats.json"))
			if err != nil || !done {
				t.Fatalf("%s: stats file %s unreadable: %v", step, n, err)
			}
			m := &Manifest{Shards: []ShardStats{*st}, dir: dir}
			if err := m.Verify(); err != nil {
				t.Fatalf("%s: done shard does not verify: %v", step, err)
			}
		case strings.HasSuffix(n, ".arrow"):
			sh, err := OpenShard(path)
			if err != nil {
				t.Fatalf("%s: partial %s visible: %v", step, n, err)
			}
			sh.Close()
		case strings.HasSuffix(n, ".parquet"):
			f, _ := os.Open(path)
			pr, err := file.NewParquetReader(f)
			if err != nil {
				t.Fatalf("%s: partial %s visible: %v", step, n, err)
			}
			pr.Close()
		}
	}
}

// faultRuns runs write into a fresh folder through a faultFS failing
// operation i, for i = 0, 1, 2… until a run succeeds. Each failed run must
// fail with the injected fault; cleanUp then checks what it left (as if
// the process had died there) and must leave the folder empty, and write
// on a healthy FS must give the files of a run that never failed.
func faultRuns(t *testing.T, write func(dir string, fs FS) error, cleanUp func(i int, dir string, fs *faultFS)) {
	t.Helper()
	ref := t.TempDir()
	if err := write(ref, OSFS); err != nil {
		t.Fatal(err)
	}
	refNames, _ := OSFS.List(ref)
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("no successful run after 10000 faults")
		}
		dir := t.TempDir()
		fs := &faultFS{FS: OSFS, failAt: i}
		err := write(dir, fs)
		if err == nil {
			if fs.n <= i {
				t.Logf("clean run after %d injected faults (%d operations)", i, fs.n)
				return
			}
			// The fault hit a step whose error is not fatal (none today).
			t.Fatalf("fault at op %d (%s) was swallowed", i, fs.log[i])
		}
		if !errors.Is(err, errInjected) {
			t.Fatalf("op %d: unexpected error %v", i, err)
		}
		cleanUp(i, dir, fs)
		if names, _ := OSFS.List(dir); len(names) != 0 {
			t.Fatalf("op %d (%s): still there after clean-up: %v", i, fs.log[i], names)
		}
		if err := write(dir, OSFS); err != nil {
			t.Fatal(err)
		}
		for _, n := range refNames {
			a, _ := os.ReadFile(filepath.Join(ref, n))
			b, _ := os.ReadFile(filepath.Join(dir, n))
			if !bytes.Equal(a, b) {
				t.Fatalf("op %d: rerun %s differs from the reference", i, n)
			}
		}
	}
}

// TestFaultInjection fails each operation of writing a three-part shard
// in turn (faultRuns). After each failure, the directory is checked as if
// the process had died there; then Abort must leave nothing of the shard,
// and a clean rerun must give byte-identical files.
func TestFaultInjection(t *testing.T) {
	ss := testSamples(8)
	opts := WriteOptions{MaxSamples: 3, BatchSamples: 2}
	write := func(dir string, fs FS) (err error) {
		o := opts
		o.FS = fs
		w, err := CreateShard(dir, "shard-00001", o)
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				checkVisible(t, dir, fmt.Sprintf("after %v", err))
				if aerr := w.Abort(); aerr != nil {
					t.Logf("abort under faults: %v", aerr)
				}
			}
		}()
		for i := range ss {
			if err := w.Add(&ss[i]); err != nil {
				return err
			}
		}
		_, err = w.Close()
		return err
	}
	faultRuns(t, write, func(i int, dir string, fs *faultFS) {
		// Abort ran with a failing FS; a healthy Abort (restart) must
		// clean up completely.
		w, err := CreateShard(dir, "shard-00001", opts)
		if err != nil {
			t.Fatal(err)
		}
		w.Abort()
	})
}

// TestCrashLeavesTempOnly simulates a kill during writing (no Abort):
// whatever was on disk must not be a done shard, BuildManifest must ignore
// it, and CreateShard of the same name must clean it up.
func TestCrashLeavesTempOnly(t *testing.T) {
	dir := t.TempDir()
	ss := testSamples(6)
	w, err := CreateShard(dir, "shard-00000", WriteOptions{MaxSamples: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss[:5] {
		w.Add(&ss[i])
	}
	// "crash": the writer is dropped with temp files open.
	m, err := BuildManifest(dir, "p", "h")
	if err != nil || len(m.Shards) != 0 {
		t.Fatalf("manifest of a crashed run lists %d shards (%v)", len(m.Shards), err)
	}
	checkVisible(t, dir, "crash")
	w2, err := CreateShard(dir, "shard-00000", WriteOptions{MaxSamples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := OSFS.List(dir); len(names) != 0 {
		t.Fatalf("stale files survive CreateShard: %v", names)
	}
	w2.Abort()
}
