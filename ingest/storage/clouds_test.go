package storage

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"

	"github.com/medmd/medmd/shards"
)

// TestGCSRoundTrip and TestAzureRoundTrip write through FS to a root on
// a GCS or Azure Blob server on the loopback interface (the S3 driver has
// its own tests) and read back as every reader does: a published file
// (several upload chunks or blocks) and a small one, a listing, a whole
// read, a ranged read, attributes, removal, and a missing bucket.
func TestGCSRoundTrip(t *testing.T) {
	srv := gcstest.Start(t, "medmd-corpus")
	roundTrip(t, srv.URL("medmd-corpus", "run1"), "gs://no-such-bucket/x", "gs://no-such-bucket")
}

func TestAzureRoundTrip(t *testing.T) {
	srv := azuretest.Start(t, "medmd-corpus")
	roundTrip(t, srv.URL("medmd-corpus", "run1"), srv.URL("no-such-container", "x"), "azblob://no-such-container")
}

func roundTrip(t *testing.T, root, missing, missingName string) {
	ctx := context.Background()
	b, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fsys := NewFS(ctx, b)
	big := make([]byte, 20<<20+123)
	for i := range big {
		big[i] = byte(i * 7 >> 8)
	}
	if err := shards.PublishBytes(fsys, "shard-00000.arrow", big); err != nil {
		t.Fatal(err)
	}
	if err := shards.PublishBytes(fsys, "quarantine/a.jsonl", []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.List(ctx, "", func(o Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "quarantine/a.jsonl" || keys[1] != "shard-00000.arrow" {
		t.Errorf("listing: %v (no temp objects, nothing else)", keys)
	}
	// Listings in pages of 3 (continuation tokens, folder listings).
	paged, err := Open(ctx, root, Options{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer paged.Close()
	for i := range 8 {
		if err := shards.PublishBytes(fsys, fmt.Sprintf("many/%02d.json", i), []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	var many, dirs []string
	if err := paged.List(ctx, "many/", func(o Object) error { many = append(many, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := paged.ListDir(ctx, "", func(o Object) error { dirs = append(dirs, fmt.Sprintf("%s %v", o.Key, o.Dir)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(many) != 8 || many[0] != "many/00.json" || many[7] != "many/07.json" || !slices.IsSorted(many) {
		t.Errorf("paged listing: %v", many)
	}
	if fmt.Sprint(dirs) != "[many/ true quarantine/ true shard-00000.arrow false]" {
		t.Errorf("folder listing: %v", dirs)
	}
	if got, err := b.ReadAll(ctx, "shard-00000.arrow", 0); err != nil || !bytes.Equal(got, big) {
		t.Errorf("read back %d bytes (%v), want %d", len(got), err, len(big))
	}
	if got, err := b.ReadRange(ctx, "shard-00000.arrow", 5<<20, 1000); err != nil || !bytes.Equal(got, big[5<<20:5<<20+1000]) {
		t.Errorf("ranged read: %d bytes (%v)", len(got), err)
	}
	if n, err := fsys.Size("shard-00000.arrow"); err != nil || n != int64(len(big)) {
		t.Errorf("size %d (%v)", n, err)
	}
	if err := fsys.Remove("shard-00000.arrow"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "shard-00000.arrow"); err == nil {
		t.Error("a removed object is still there")
	}
	// gocloud opens a root without I/O; the first listing names it.
	nb, err := Open(ctx, missing, Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	if err := nb.List(ctx, "", func(Object) error { return nil }); err == nil || !strings.Contains(err.Error(), missingName) {
		t.Errorf("listing a missing bucket: %v", err)
	}
}
