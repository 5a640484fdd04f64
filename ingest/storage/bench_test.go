package storage_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

// BenchmarkPublish publishes shard-sized files through shards.Publish to
// a local folder and to a loopback S3 server (spool, then upload); the
// ratio of the two is the cost of writing a corpus to a bucket.
func BenchmarkPublish(b *testing.B) {
	const size = 16 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	srv := s3test.Start(b, "corpus")
	ctx := context.Background()
	bk, err := storage.Open(ctx, srv.URL("corpus", ""), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	targets := []struct {
		name string
		fs   shards.FS
		dir  string
	}{{"local", shards.OSFS, b.TempDir()}, {"s3", storage.NewFS(ctx, bk), "."}}
	for _, tg := range targets {
		b.Run("target="+tg.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("%s/shard-%05d.arrow", tg.dir, i%4)
				if err := shards.Publish(tg.fs, name, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
