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

// BenchmarkWriteShards writes a corpus of eight 4 MiB CT volumes in two
// shards (shards.WriteCorpus, default options) to a local folder and to a
// loopback S3 server; `medmd perf storage` reports the ratio.
func BenchmarkWriteShards(b *testing.B) {
	ss := make([]shards.Sample, 8)
	var size int64
	for i := range ss {
		im := shards.Image{Modality: "CT", DType: shards.Int16, Channels: 1, Depth: 32, Height: 256, Width: 256, Affine: shards.IdentityAffine()}
		im.Voxels = make([]byte, im.NumVoxels()*2)
		for j := 0; j < len(im.Voxels); j += 4096 {
			im.Voxels[j] = byte(i + j>>12)
		}
		size += int64(len(im.Voxels))
		ss[i] = shards.Sample{ID: shards.MakeID("bench", fmt.Sprint(i)), Source: "bench", Task: shards.TaskReport,
			Response: "synthetic volume", Images: []shards.Image{im}}
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
			for b.Loop() {
				if _, err := shards.WriteCorpus(tg.dir, "bench", "bench", shards.SamplesOf(ss), shards.WriteOptions{FS: tg.fs, MaxSamples: 4}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
