package shards

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterLifecycle checks that Finish, Publish, Close and Abort are
// taken only in their order, and what each leaves on disk.
func TestWriterLifecycle(t *testing.T) {
	ss := testSamples(4)
	cases := []struct {
		name string
		run  func(w *ShardWriter) error
		want string // error text, "" for none
		done bool   // the shard is published
	}{
		{"finish then publish", func(w *ShardWriter) error {
			if err := w.Finish(); err != nil {
				return err
			}
			_, err := w.Publish()
			return err
		}, "", true},
		{"publish on another goroutine", func(w *ShardWriter) error {
			if err := w.Finish(); err != nil {
				return err
			}
			errc := make(chan error)
			go func() { _, err := w.Publish(); errc <- err }()
			return <-errc
		}, "", true},
		{"publish without finish", func(w *ShardWriter) error { _, err := w.Publish(); return err }, "Publish without Finish", false},
		{"add after finish", func(w *ShardWriter) error {
			if err := w.Finish(); err != nil {
				return err
			}
			return w.Add(&ss[0])
		}, "Add after Finish", false},
		{"finish twice", func(w *ShardWriter) error {
			if err := w.Finish(); err != nil {
				return err
			}
			return w.Finish()
		}, "Finish after Finish", false},
		{"abort after finish", func(w *ShardWriter) error {
			if err := w.Finish(); err != nil {
				return err
			}
			return w.Abort()
		}, "", false},
		{"abort after publish is a no-op", func(w *ShardWriter) error {
			if _, err := w.Close(); err != nil {
				return err
			}
			return w.Abort()
		}, "", true},
	}
	ref := t.TempDir()
	if _, err := WriteCorpus(ref, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: len(ss)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := CreateShard(dir, ShardName(0), WriteOptions{MaxSamples: 2})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ss {
				if err := w.Add(&ss[i]); err != nil {
					t.Fatal(err)
				}
			}
			err = c.run(w)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got error %v, want %q", err, c.want)
			}
			w.Abort()
			_, done, err := ReadShardStats(dir, ShardName(0))
			if err != nil || done != c.done {
				t.Fatalf("shard done = %v (%v), want %v", done, err, c.done)
			}
			names, _ := OSFS.List(dir)
			if !c.done && len(names) != 0 {
				t.Fatalf("an unpublished shard left %v", names)
			}
			checkVisible(t, dir, c.name)
		})
	}
}

// TestWriteCorpusFaults fails each operation of writing a three-shard
// corpus (each shard published while the next is written) in turn
// (faultRuns). A failed run returns the error and leaves only complete
// files under final names (no manifest unless whole) and no publish
// still running: every file it left can be removed and stays removed.
func TestWriteCorpusFaults(t *testing.T) {
	ss := testSamples(8)
	write := func(dir string, fs FS) error {
		_, err := WriteCorpus(dir, "p", "h", SamplesOf(ss), WriteOptions{MaxSamples: 3, BatchSamples: 2, FS: fs})
		return err
	}
	faultRuns(t, write, func(i int, dir string, fs *faultFS) {
		// The manifest is the last file; a fault after its rename (the
		// directory sync) leaves it whole.
		if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
			m, err := ReadManifest(filepath.Join(dir, ManifestFile))
			if err == nil {
				err = m.Verify()
			}
			if err != nil || len(m.Shards) != 3 {
				t.Fatalf("op %d (%s): a failed run left a manifest that does not verify: %v", i, fs.log[i], err)
			}
		}
		checkVisible(t, dir, fmt.Sprintf("op %d", i))
		names, _ := OSFS.List(dir)
		for _, n := range names {
			os.Remove(filepath.Join(dir, n))
		}
	})
}

// TestPublisher checks that publishes run one at a time, in order, and
// that an error reaches the caller at the next Go or Wait while the
// publish handed over with it still runs.
func TestPublisher(t *testing.T) {
	var p Publisher
	var order []int
	boom := errors.New("boom")
	for i := range 4 {
		err := p.Go(func() error {
			order = append(order, i) // one at a time: no lock needed
			if i == 1 {
				return boom
			}
			return nil
		})
		if want := i == 2; (err != nil) != want || want && !errors.Is(err, boom) {
			t.Fatalf("Go %d: %v", i, err)
		}
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("second Wait: %v", err)
	}
	if fmt.Sprint(order) != "[0 1 2 3]" {
		t.Fatalf("order %v", order)
	}
}
