package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/azuretest"
	"github.com/medmd/medmd/ingest/storage/gcstest"
	"github.com/medmd/medmd/ingest/storage/s3test"
)

// TestClusterRunOnS3 is what a Kubernetes Indexed Job with
// backoffLimitPerIndex does to a pipeline writing to a bucket: 8 task
// processes of the built binary against an S3 server on the loopback
// interface, each killed with SIGKILL at random moments and restarted until
// it exits cleanly, then a merge. Every object must equal the file of a
// single-task local run byte for byte, and nothing else may be in the
// bucket.
func TestClusterRunOnS3(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := s3test.Start(t, "corpus")
	clusterRun(t, srv.URL("corpus", "nifti"))
}

// TestClusterRunOnGCS and TestClusterRunOnAzure: the same with the output
// in a gs:// or azblob:// root, on a GCS server and on Azurite (the task
// processes inherit the emulators' environment), where a file is
// published by completing a resumable upload or committing a block list.
func TestClusterRunOnGCS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := gcstest.Start(t, "medmd-corpus")
	clusterRun(t, srv.URL("medmd-corpus", "nifti"))
}

func TestClusterRunOnAzure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := azuretest.Start(t, "medmd-corpus")
	clusterRun(t, srv.URL("medmd-corpus", "nifti"))
}

// clusterRun runs the 8 killed and restarted tasks and the merge into
// remote, and compares the objects with a local run's files.
func clusterRun(t *testing.T, remote string) {
	t.Helper()
	bin := medmdBinary(t)
	dir := t.TempDir()
	nifti := repoFile(t, "testdata/nifti")
	pipes := func(out string) string {
		p := filepath.Join(dir, strings.NewReplacer(":", "_", "/", "_").Replace(out)[:8]+".yaml")
		os.WriteFile(p, []byte(fmt.Sprintf(`version: 1
pipelines:
  - name: nifti-cluster
    source:
      type: nifti
      paths: [%q]
      volumes_4d: first
      modality: MR
    stages:
      - type: text_clean
    output:
      dir: %q
      shard_units: 1
`, nifti, out)), 0o644)
		return p
	}
	local := filepath.Join(dir, "local")
	medmd(t, dir, true, "run", "-f", pipes(local), "--workers", "1")

	rf := pipes(remote)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const tasks = 8
	var mu sync.Mutex
	kills := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	errs := make([]error, tasks)
	for task := range tasks {
		mu.Lock()
		delays := []time.Duration{}
		for range rng.IntN(3) {
			delays = append(delays, time.Duration(rng.IntN(300))*time.Millisecond)
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for attempt := 0; ; attempt++ {
				cmd := exec.Command(bin, "run", "-f", rf, "--workers", "1", "--task", fmt.Sprint(task), "--tasks", fmt.Sprint(tasks))
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "CI=1")
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					errs[task] = err
					return
				}
				if attempt < len(delays) {
					time.AfterFunc(delays[attempt], func() { cmd.Process.Kill() })
				}
				err := cmd.Wait()
				if err == nil {
					return
				}
				if attempt < len(delays) && strings.Contains(err.Error(), "killed") {
					mu.Lock()
					kills++
					mu.Unlock()
					continue
				}
				errs[task] = fmt.Errorf("task %d attempt %d: %v\n%s", task, attempt, err, out.String())
				return
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d processes killed mid-run", kills)
	medmd(t, dir, true, "run", "-f", rf, "--merge")

	ctx := context.Background()
	b, err := storage.Open(ctx, remote, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := map[string][]byte{}
	if err := b.List(ctx, "", func(o storage.Object) error {
		data, err := b.ReadAll(ctx, o.Key, 0)
		got[o.Key] = data
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	filepath.Walk(local, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(local, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(keys)
	if len(keys) < 10 {
		t.Fatalf("local run wrote only %v", keys)
	}
	for _, k := range keys {
		want, _ := os.ReadFile(filepath.Join(local, filepath.FromSlash(k)))
		if g, ok := got[k]; !ok {
			t.Errorf("%s: not in the bucket", k)
		} else if !bytes.Equal(g, want) {
			t.Errorf("%s: %d bytes in the bucket differ from the local run's %d", k, len(g), len(want))
		}
		delete(got, k)
	}
	for k := range got {
		t.Errorf("%s: in the bucket only", k)
	}
}
