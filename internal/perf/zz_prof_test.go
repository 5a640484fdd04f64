package perf

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

func TestZZProfS3(t *testing.T) {
	ctx := context.Background()
	srv, err := startChildS3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	b, err := storage.Open(ctx, s3URL(srv.addr, "corpus", "perf"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bfs := storage.NewFS(ctx, b)
	ss, _, _ := ctVolumes(false)
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		o := shards.WriteOptions{MaxSamples: 8, Overlap: true, FS: bfs}
		if _, err := shards.WriteCorpus(".", "perf", "perf", shards.SamplesOf(ss), o); err != nil {
			t.Fatal(err)
		}
		fmt.Println("total", time.Since(t0))
		b.List(ctx, "", func(ob storage.Object) error { return bfs.Remove(ob.Key) })
	}
}
