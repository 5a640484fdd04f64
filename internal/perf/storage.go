package perf

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/internal/s3store"
	"github.com/medmd/medmd/internal/stats"
	"github.com/medmd/medmd/shards"
)

// loopbackS3 is an S3-compatible server on the loopback interface:
// gofakes3's protocol handling over s3store (which keeps a body as it
// came, with CRC-32C ETags), or with stock set over gofakes3's own
// in-memory backend and multipart uploader (which copy and MD5-hash every
// body again), to show what the stand-in server costs. The storage group
// runs both in a child process (childS3), so that the server's CPU time,
// which a real bucket spends on its own machines, is measured apart from
// the writer's; both still share this machine's cores.
type loopbackS3 struct {
	srv   *http.Server
	ln    net.Listener
	clear func() error // empties the bucket "corpus"
}

func startLoopbackS3(stock bool) (*loopbackS3, error) {
	var be gofakes3.Backend
	var clear func() error
	if stock {
		mem := s3mem.New()
		be, clear = mem, func() error {
			if err := mem.ForceDeleteBucket("corpus"); err != nil {
				return err
			}
			return mem.CreateBucket("corpus")
		}
	} else {
		st := s3store.New()
		be, clear = st, func() error { st.Clear(); return nil }
	}
	if err := be.CreateBucket("corpus"); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: gofakes3.New(be).Server(), ReadHeaderTimeout: time.Minute}
	go srv.Serve(ln)
	return &loopbackS3{srv: srv, ln: ln, clear: clear}, nil
}

func (s *loopbackS3) close() { s.srv.Close() }

// s3URL is the s3:// root of bucket/prefix on a loopback server at addr.
func s3URL(addr, bucket, prefix string) string {
	q := url.Values{"endpoint": {"http://" + addr}, "region": {"us-east-1"},
		"use_path_style": {"true"}, "anonymous": {"true"}, "disable_https": {"true"}}
	return "s3://" + bucket + "/" + prefix + "?" + q.Encode()
}

// s3ServerEnv, set in the environment of a process running the storage
// group, makes that group serve as the parent's loopback S3 server
// (serveS3) instead of measuring.
const s3ServerEnv = "MEDMD_PERF_S3_SERVER"

// s3ServerArgs run the storage group when given to this executable (the
// medmd binary); a test binary replaces them with its helper test.
var s3ServerArgs = []string{"perf", "storage", "--quick"}

// The child's replies on stdout start with these words, so that anything
// else the process prints there is skipped.
const (
	s3AddrReply  = "medmd-perf-s3-addr"
	s3CPUReply   = "medmd-perf-s3-cpu"
	s3ClearReply = "medmd-perf-s3-cleared"
)

// serveS3 is the child's side: it serves the bucket "corpus" twice, over
// s3store and over gofakes3's own stores, writes their addresses to out,
// answers each "cpu" line read from in with its CPU time in nanoseconds,
// empties both buckets at each "clear" line, and stops when in ends (the
// parent closed it or died).
func serveS3(in io.Reader, out io.Writer) error {
	var srvs []*loopbackS3
	defer func() {
		for _, s := range srvs {
			s.close()
		}
	}()
	for _, stock := range []bool{false, true} {
		s, err := startLoopbackS3(stock)
		if err != nil {
			return err
		}
		srvs = append(srvs, s)
	}
	if _, err := fmt.Fprintf(out, "%s %s %s\n", s3AddrReply, srvs[0].ln.Addr(), srvs[1].ln.Addr()); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "cpu":
			if _, err := fmt.Fprintf(out, "%s %d\n", s3CPUReply, cpuTime()); err != nil {
				return err
			}
		case "clear":
			for _, s := range srvs {
				if err := s.clear(); err != nil {
					return err
				}
			}
			runtime.GC()
			if _, err := fmt.Fprintf(out, "%s ok\n", s3ClearReply); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// childS3 is a loopback S3 server in a child process: this executable
// run again with s3ServerEnv set.
type childS3 struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
	// addr serves over s3store, stockAddr over gofakes3's own stores.
	addr, stockAddr string
}

func startChildS3(ctx context.Context) (*childS3, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	c := &childS3{cmd: exec.CommandContext(ctx, exe, s3ServerArgs...)}
	c.cmd.Env = append(os.Environ(), s3ServerEnv+"=1", "GODEBUG="+serverGODEBUG())
	c.cmd.Stderr = &c.stderr
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewScanner(out)
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	addrs, err := c.reply(s3AddrReply)
	if err != nil {
		c.close()
		return nil, err
	}
	c.addr, c.stockAddr, _ = strings.Cut(addrs, " ")
	return c, nil
}

// serverGODEBUG is the child's GODEBUG: this process's, and the heap's
// freed pages returned with MADV_FREE rather than MADV_DONTNEED. The
// server allocates a fresh buffer for every part and every object it
// takes in (gofakes3 holds them in memory); with MADV_DONTNEED each one
// is faulted in and zeroed by the kernel again, which on this kind of
// virtual machine cost the server half its CPU time (124 against 222 MB
// per CPU-second measured). That is the stand-in server's cost, not
// medmd's, and a real store spends it on machines of its own.
func serverGODEBUG() string {
	if g := os.Getenv("GODEBUG"); g != "" {
		return g + ",madvdontneed=0"
	}
	return "madvdontneed=0"
}

// reply returns the rest of the next line that starts with word.
func (c *childS3) reply(word string) (string, error) {
	for c.out.Scan() {
		if v, ok := strings.CutPrefix(c.out.Text(), word+" "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("perf storage: the S3 server process ended without %s (%v): %s", word, c.out.Err(), strings.TrimSpace(c.stderr.String()))
}

// cpu returns the child's CPU time so far, user and system.
func (c *childS3) cpu() (time.Duration, error) {
	if _, err := io.WriteString(c.in, "cpu\n"); err != nil {
		return 0, err
	}
	v, err := c.reply(s3CPUReply)
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(v, 10, 64)
	return time.Duration(ns), err
}

// clear empties the child's bucket.
func (c *childS3) clear() error {
	if _, err := io.WriteString(c.in, "clear\n"); err != nil {
		return err
	}
	_, err := c.reply(s3ClearReply)
	return err
}

// close ends the child: its stdin closes, so it stops serving and exits.
func (c *childS3) close() {
	c.in.Close()
	c.cmd.Wait()
}

// storageGroup times writing a corpus of CT volumes (shards.WriteCorpus,
// default options: Arrow parts hashed while written, metadata Parquet,
// stats, manifest) into a bucket on a loopback S3 server against writing
// the same corpus into a local folder, taking turns in one run: the row
// with the goal over s3store, an informational one over gofakes3's own
// stores. The servers run in a child process on the same cores: the wall
// times (the rows' ratios) include their work, and their CPU time is
// reported apart from this process's.
func storageGroup(ctx context.Context, o Options) ([]Result, error) {
	if os.Getenv(s3ServerEnv) != "" {
		// This process is the S3 server of a parent's storage group.
		return nil, serveS3(os.Stdin, os.Stdout)
	}
	reps := max(o.Repeats, 1)
	if o.Quick {
		reps = 1
	}
	ss, key, voxBytes := ctVolumes(o.Quick)
	srv, err := startChildS3(ctx)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	targets := []*s3Target{{name: "storage/write_shards_s3/" + key, addr: srv.addr, goal: 0.5},
		{name: "storage/write_shards_s3_stock/" + key, addr: srv.stockAddr}}
	for _, t := range targets {
		b, err := storage.Open(ctx, s3URL(t.addr, "corpus", "perf"), storage.Options{})
		if err != nil {
			return nil, err
		}
		defer b.Close()
		t.fs = storage.NewFS(ctx, b)
	}
	// Four shards, so uploads of one overlap the encoding of the next as
	// in a run.
	opts := shards.WriteOptions{MaxSamples: max(1, len(ss)/4), Overlap: true}
	// write returns the seconds of wall time, of this process's CPU time
	// (the shard writer and the S3 client: what a run spends against a
	// real bucket) and of the server process's CPU time (zero for the
	// local folder). On a machine shared with other work the CPU times
	// are the steadier measures.
	write := func(fs shards.FS, dir string) (wall, cpu, serverCPU float64, err error) {
		o := opts
		o.FS = fs
		var s0, s1 time.Duration
		if fs != shards.OSFS {
			if s0, err = srv.cpu(); err != nil {
				return 0, 0, 0, err
			}
		}
		t, c := time.Now(), cpuTime()
		if _, err := shards.WriteCorpus(dir, "perf", "perf", shards.SamplesOf(ss), o); err != nil {
			return 0, 0, 0, err
		}
		wall, cpu = time.Since(t).Seconds(), (cpuTime() - c).Seconds()
		if fs != shards.OSFS {
			if s1, err = srv.cpu(); err != nil {
				return 0, 0, 0, err
			}
			serverCPU = (s1 - s0).Seconds()
		}
		return wall, cpu, serverCPU, nil
	}
	mbps := func(sec float64) float64 { return float64(voxBytes) / sec / 1e6 }
	local := filepath.Join(o.TempDir, "perf-storage-local")
	var localRates, localCPU []float64
	for r := 0; r < reps; r++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lw, lc, _, err := write(shards.OSFS, local)
		if err != nil {
			return nil, err
		}
		os.RemoveAll(local)
		localRates, localCPU = append(localRates, mbps(lw)), append(localCPU, mbps(lc))
		for _, t := range targets {
			sw, sc, ssc, err := write(t.fs, ".")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.name, err)
			}
			// Drop the objects so the server's heap does not grow across
			// repeats.
			if err := srv.clear(); err != nil {
				return nil, err
			}
			t.rates, t.cpu, t.serverCPU = append(t.rates, mbps(sw)), append(t.cpu, mbps(sc)), append(t.serverCPU, mbps(ssc))
			t.bothCPU, t.serverShare = append(t.bothCPU, mbps(sc+ssc)), append(t.serverShare, ssc/(sc+ssc))
		}
	}
	var out []Result
	for _, t := range targets {
		out = append(out, t.result(stats.Median(localRates), stats.Median(localCPU)))
	}
	return out, nil
}

// s3Target is one loopback S3 server the storage group writes to, and
// its measures, MB of voxels per second.
type s3Target struct {
	name, addr                                  string
	goal                                        float64
	fs                                          shards.FS
	rates, cpu, serverCPU, bothCPU, serverShare []float64
}

// result is t's row against the local write's rate and CPU rate.
func (t *s3Target) result(localRate, localCPU float64) Result {
	res := Result{Name: t.name, Unit: "MB/s", Value: stats.Median(t.rates),
		BaselineName:  "the same corpus written to a local folder (S3 server in a child process on the same cores)",
		BaselineValue: localRate, Goal: t.goal,
		Extra: map[string]float64{
			// This process alone (writer and S3 client) against the local
			// write's CPU time.
			"cpu_MB_per_s": stats.Median(t.cpu), "local_cpu_MB_per_s": localCPU,
			"cpu_ratio": stats.Median(t.cpu) / localCPU,
			// The server process, and both processes together (what the
			// CPU rate measured when the server ran in this process).
			"server_cpu_MB_per_s": stats.Median(t.serverCPU), "server_cpu_share": stats.Median(t.serverShare),
			"with_server_cpu_MB_per_s": stats.Median(t.bothCPU),
			"with_server_cpu_ratio":    stats.Median(t.bothCPU) / localCPU}}
	res.Finish(true)
	return res
}
