package perf

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/shards"
)

// loopbackS3 is an S3-compatible server (gofakes3 over its in-memory
// backend, the fastest it has) on the loopback interface, in this
// process: the uploads below cross real HTTP through the AWS SDK that
// gocloud uses, and the server's CPU time is charged to the same cores.
type loopbackS3 struct {
	srv *http.Server
	ln  net.Listener
}

func startLoopbackS3(buckets ...string) (*loopbackS3, error) {
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: gofakes3.New(be).Server(), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	return &loopbackS3{srv: srv, ln: ln}, nil
}

func (s *loopbackS3) close() { s.srv.Close() }

// url is the s3:// root of bucket/prefix on the server.
func (s *loopbackS3) url(bucket, prefix string) string {
	q := url.Values{"endpoint": {"http://" + s.ln.Addr().String()}, "region": {"us-east-1"},
		"use_path_style": {"true"}, "anonymous": {"true"}, "disable_https": {"true"}}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode()
}

// storageGroup times writing a corpus of CT volumes (shards.WriteCorpus,
// default options: Arrow parts hashed while written, metadata Parquet,
// stats, manifest) into a bucket on a loopback S3 server against writing
// the same corpus into a local folder, alternating the two in one run.
func storageGroup(ctx context.Context, o Options) ([]Result, error) {
	n, d, reps := 32, 64, o.Repeats // 32 × 8 MiB = 256 MiB
	if o.Quick {
		n, d, reps = 8, 16, 1 // 8 × 2 MiB
	}
	if reps < 1 {
		reps = 1
	}
	ss := perfVolumes(n, d)
	key := fmt.Sprintf("%dx%dx256x256_int16", n, d)
	var voxBytes int64
	for i := range ss {
		voxBytes += int64(len(ss[i].Images[0].Voxels))
	}
	srv, err := startLoopbackS3("corpus")
	if err != nil {
		return nil, err
	}
	defer srv.close()
	b, err := storage.Open(ctx, srv.url("corpus", "perf"), storage.Options{})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	bfs := storage.NewFS(ctx, b)
	// Four shards, so uploads of one overlap the encoding of the next as
	// in a run.
	opts := shards.WriteOptions{MaxSamples: max(1, n/4)}
	// write returns the rate in MB/s of wall time and of the process's
	// CPU time (server included): on a machine shared with other work
	// the second is the steadier measure of what a bucket costs.
	write := func(fs shards.FS, dir string) (wall, cpu float64, err error) {
		o := opts
		o.FS = fs
		t, c := time.Now(), cpuTime()
		if _, err := shards.WriteCorpus(dir, "perf", "perf", shards.SamplesOf(ss), o); err != nil {
			return 0, 0, err
		}
		return float64(voxBytes) / time.Since(t).Seconds() / 1e6, float64(voxBytes) / (cpuTime() - c).Seconds() / 1e6, nil
	}
	local := filepath.Join(o.TempDir, "perf-storage-local")
	var s3Rates, localRates, s3CPU, localCPU []float64
	for r := 0; r < reps; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lr, lc, err := write(shards.OSFS, local)
		if err != nil {
			return nil, err
		}
		os.RemoveAll(local)
		sr, sc, err := write(bfs, ".")
		if err != nil {
			return nil, err
		}
		// Drop the objects so the server's heap does not grow across
		// repeats.
		if err := b.List(ctx, "", func(ob storage.Object) error { return bfs.Remove(ob.Key) }); err != nil {
			return nil, err
		}
		localRates, localCPU = append(localRates, lr), append(localCPU, lc)
		s3Rates, s3CPU = append(s3Rates, sr), append(s3CPU, sc)
	}
	res := Result{Name: "storage/write_shards_s3/" + key, Unit: "MB/s", Value: stats.Median(s3Rates),
		BaselineName: "the same corpus written to a local folder", BaselineValue: stats.Median(localRates), Goal: 0.5,
		Extra: map[string]float64{"cpu_MB_per_s": stats.Median(s3CPU), "local_cpu_MB_per_s": stats.Median(localCPU),
			"cpu_ratio": stats.Median(s3CPU) / stats.Median(localCPU)}}
	res.Finish(true)
	return []Result{res}, nil
}
