package storage_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

func TestFSPublishToS3(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()
	b, err := storage.Open(ctx, srv.URL("corpus", "run1"), storage.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := storage.NewFS(ctx, b)
	if err := shards.PublishBytes(fsys, "quarantine/a.jsonl", []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 6<<20) // past the SDK's multipart threshold
	if err := shards.Publish(fsys, "shard-00000.arrow", func(w io.Writer) error {
		_, err := io.WriteString(w, big)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A publish whose writer fails leaves no object.
	if err := shards.Publish(fsys, "shard-00001.arrow", func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("disk on fire")
	}); err == nil {
		t.Fatal("failed write published")
	}
	names, err := fsys.List(".")
	if err != nil || strings.Join(names, ",") != "shard-00000.arrow" {
		t.Errorf("List(.) = %v %v, want only the published shard (no temp, no partial)", names, err)
	}
	if names, _ := fsys.List("quarantine"); strings.Join(names, ",") != "a.jsonl" {
		t.Errorf("List(quarantine) = %v", names)
	}
	if n, err := fsys.Size("shard-00000.arrow"); err != nil || n != int64(len(big)) {
		t.Errorf("Size = %d %v, want %d", n, err, len(big))
	}
	f, err := fsys.Open("quarantine/a.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, _ := io.ReadAll(f); string(got) != "one\n" {
		t.Errorf("read back %q", got)
	}
	if _, err := fsys.Open("shard-00001.arrow"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "s3://corpus/run1") {
		t.Errorf("missing object: %v, want fs.ErrNotExist naming the root", err)
	}
	if err := fsys.Remove("shard-00000.arrow"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Remove("shard-00000.arrow"); err != nil {
		t.Errorf("removing a missing object: %v", err)
	}
}

func TestFSCancelledUpload(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx, cancel := context.WithCancel(context.Background())
	b, err := storage.Open(ctx, srv.URL("corpus", ""), storage.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	fsys := storage.NewFS(ctx, b)
	p, err := shards.StartPublish(fsys, "x.stats.json")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("{}"))
	cancel()
	if err := p.Commit(); err == nil {
		t.Fatal("commit under a cancelled context succeeded")
	}
	b2, _ := storage.Open(context.Background(), srv.URL("corpus", ""), storage.Options{})
	if _, err := b2.ReadAll(context.Background(), "x.stats.json", 0); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("after a cancelled upload: %v, want no object", err)
	}
}

func TestMissingBucket(t *testing.T) {
	srv := s3test.Start(t, "corpus")
	ctx := context.Background()
	b, err := storage.Open(ctx, srv.URL("no-such-bucket", ""), storage.Options{Retries: 1, Backoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = b.List(ctx, "", func(storage.Object) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "s3://no-such-bucket") {
		t.Errorf("listing a missing bucket: %v, want an error naming it", err)
	}
	if err := shards.PublishBytes(storage.NewFS(ctx, b), "a", []byte("x")); err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("publishing into a missing bucket: %v", err)
	}
}

// TestFSGocloudWriter publishes through FS on a root without an S3 client
// (a local folder opened as a bucket), the path gs:// and azblob:// roots
// take through gocloud's writer: a published file reads back, a failed
// publish leaves nothing, and a temp file is not readable before Rename.
func TestFSGocloudWriter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := storage.Open(ctx, "file://"+filepath.ToSlash(dir), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := storage.NewFS(ctx, b)
	if err := shards.PublishBytes(fsys, "shards/a.stats.json", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(ctx, "shards/a.stats.json", 0); err != nil || string(got) != `{"n":1}` {
		t.Errorf("read back %q %v", got, err)
	}
	p, err := shards.StartPublish(fsys, "shards/b.arrow")
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("half a shard"))
	if _, err := fsys.Open(p.TempPath()); err == nil {
		t.Error("a temp file was readable before it was published")
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if names, err := fsys.List("shards"); err != nil || strings.Join(names, ",") != "a.stats.json" {
		t.Errorf("List(shards) = %v %v, want only the published file", names, err)
	}
}
