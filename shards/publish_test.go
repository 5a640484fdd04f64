package shards

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// publishers are the ways to publish a file, each making path hold want.
var publishers = []struct {
	name    string
	publish func(fs FS, path string, want []byte) error
}{
	{"Publish streaming", func(fs FS, path string, want []byte) error {
		return Publish(fs, path, func(w io.Writer) error {
			for _, line := range bytes.SplitAfter(want, []byte("\n")) {
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	{"Publish dropping write errors", func(fs FS, path string, want []byte) error {
		return Publish(fs, path, func(w io.Writer) error {
			for _, line := range bytes.SplitAfter(want, []byte("\n")) {
				fmt.Fprintf(w, "%s", line) // error ignored: Commit must still report it
			}
			return nil
		})
	}},
	{"PublishBytes", func(fs FS, path string, want []byte) error {
		return PublishBytes(fs, path, want)
	}},
	{"StartPublish", func(fs FS, path string, want []byte) error {
		p, err := StartPublish(fs, path)
		if err != nil {
			return err
		}
		defer p.Abort()
		if _, err := p.Write(want); err != nil {
			return err
		}
		// The temp file holds the content before it becomes visible.
		if got, err := os.ReadFile(p.TempPath()); err != nil || !bytes.Equal(got, want) {
			return fmt.Errorf("temp file before commit: %q, %v", got, err)
		}
		return p.Commit()
	}},
}

// TestPublishFaults fails operation i of publishing over an existing file
// for i = 0, 1, 2… until a run succeeds. After every failure the error
// must carry the fault, the target must hold the old or the whole new
// content, and anything else left is a temp file of the target.
func TestPublishFaults(t *testing.T) {
	old := []byte("old content\n")
	want := []byte("line one\nline two\nline three\n")
	for _, pc := range publishers {
		t.Run(pc.name, func(t *testing.T) {
			for i := 0; ; i++ {
				if i > 100 {
					t.Fatal("no successful run after 100 faults")
				}
				dir := t.TempDir()
				path := filepath.Join(dir, "plan.json")
				if err := os.WriteFile(path, old, 0o644); err != nil {
					t.Fatal(err)
				}
				fs := &faultFS{FS: OSFS, failAt: i}
				err := pc.publish(fs, path, want)
				got, rerr := os.ReadFile(path)
				if rerr != nil {
					t.Fatalf("op %d: target gone: %v", i, rerr)
				}
				if err == nil {
					if fs.n > i {
						t.Fatalf("fault at op %d (%s) was swallowed", i, fs.log[i])
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("clean run: target holds %q", got)
					}
					if names, _ := OSFS.List(dir); len(names) != 1 {
						t.Fatalf("clean run left %v", names)
					}
					t.Logf("clean run after %d faults: %v", i, fs.log)
					break
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("op %d: error %v does not carry the fault", i, err)
				}
				if !bytes.Equal(got, old) && !bytes.Equal(got, want) {
					t.Fatalf("op %d (%s): target holds %q, neither old nor new", i, fs.log[i], got)
				}
				names, _ := OSFS.List(dir)
				for _, n := range names {
					if target, ok := tempTarget(n); n != "plan.json" && (!ok || target != "plan.json") {
						t.Fatalf("op %d: stray file %s", i, n)
					}
				}
			}
		})
	}
}

// TestPublishWriterError: an error of the caller's writer aborts the
// publish, is returned, and leaves neither a new target nor a temp file.
func TestPublishWriterError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	errEncode := errors.New("encode failed")
	err := Publish(nil, path, func(w io.Writer) error {
		w.Write([]byte("half a picture"))
		return errEncode
	})
	if !errors.Is(err, errEncode) {
		t.Fatalf("error %v, want the writer's", err)
	}
	if names, _ := OSFS.List(dir); len(names) != 0 {
		t.Fatalf("left behind: %v", names)
	}
}

// TestPendingLifecycle: Abort after Commit is a no-op, a second Commit is
// an error, and Abort leaves the target untouched.
func TestPendingLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "latest")
	p, err := StartPublish(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("ckpt-00000001\n"))
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := p.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if err := p.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
	q, err := StartPublish(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	q.Write([]byte("ckpt-00000002\n"))
	if err := q.Abort(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ckpt-00000001\n" {
		t.Errorf("after Abort the target holds %q", b)
	}
	if names, _ := OSFS.List(dir); len(names) != 1 {
		t.Errorf("after Abort: %v", names)
	}
}

// TestPublishConcurrent: publishers of one path (parallel tasks writing
// plan.json) never share a temp file, so the target is always one
// writer's whole content.
func TestPublishConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	contents := make([][]byte, 8)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte{'a' + byte(i)}, 64<<10)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(contents))
	for i, c := range contents {
		wg.Go(func() {
			for range 10 {
				if err := Publish(nil, path, func(w io.Writer) error {
					for k := 0; k < len(c); k += 4096 {
						if _, err := w.Write(c[k : k+4096]); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					errs[i] = err
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	ok := false
	for _, c := range contents {
		ok = ok || bytes.Equal(got, c)
	}
	if !ok {
		t.Fatalf("target mixes writers: %d bytes starting %q", len(got), got[:min(len(got), 8)])
	}
	if names, _ := OSFS.List(dir); len(names) != 1 {
		t.Fatalf("left behind: %v", names)
	}
}

func TestTempTarget(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		ok           bool
	}{
		{"manifest.json.0123456789abcdef.tmp", "manifest.json", true},
		{"shard-00001.arrow.tmp", "shard-00001.arrow", true},
		{"shard-00001.stats.json.fedcba9876543210.tmp", "shard-00001.stats.json", true},
		{"x.0123456789ABCDEF.tmp", "x.0123456789ABCDEF", true}, // not our tag: upper case
		{"0123456789abcdef.tmp", "0123456789abcdef", true},     // a tag needs a name before it
		{"manifest.json", "manifest.json", false},
	} {
		if target, ok := tempTarget(tc.name); target != tc.target || ok != tc.ok {
			t.Errorf("tempTarget(%q) = %q, %v; want %q, %v", tc.name, target, ok, tc.target, tc.ok)
		}
	}
}
