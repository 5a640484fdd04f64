package storage_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/ingest/storage/s3test"
)

// listEnv carries the root to list from TestListMemory to its child
// process.
const listEnv = "MEDMD_TEST_LIST_ROOT"

// TestListMemory lists 100,000 objects of a loopback S3 server through
// Bucket.List, the path every source's planner takes, in a child process
// of its own, so the server's copy of the keys is not counted: the child's
// peak RSS must stay below 100 MB. It also reports the peak heap and the
// listing rate.
func TestListMemory(t *testing.T) {
	if root := os.Getenv(listEnv); root != "" {
		listChild(t, root)
		return
	}
	if testing.Short() {
		t.Skip("lists 100,000 objects")
	}
	const n = 100_000
	srv := s3test.Start(t, "listing")
	for i := range n {
		k := fmt.Sprintf("studies/%05d/series/%08d.dcm", i/100, i)
		if _, err := srv.Backend.PutObject("listing", k, map[string]string{}, http.NoBody, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestListMemory$", "-test.v")
	cmd.Env = append(os.Environ(), listEnv+"="+srv.URL("listing", ""))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var objects, rssKB, heap int64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "listed "); i >= 0 {
			fmt.Sscanf(line[i:], "listed %d objects: peak RSS %d KiB, peak heap %d B", &objects, &rssKB, &heap)
		}
	}
	t.Logf("child: %s", strings.TrimSpace(string(out)))
	if objects != n {
		t.Fatalf("child listed %d objects, want %d", objects, n)
	}
	if rssKB*1024 >= 100e6 && !raceEnabled {
		t.Errorf("peak RSS %d KiB listing %d objects, want < 100 MB", rssKB, n)
	}
}

// listChild lists root and logs what it took.
func listChild(t *testing.T, root string) {
	ctx := context.Background()
	b, err := storage.Open(ctx, root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var peak uint64
	var ms runtime.MemStats
	n := 0
	start := time.Now()
	err = b.List(ctx, "", func(o storage.Object) error {
		if n++; n%1000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// VmHWM, not getrusage's ru_maxrss: the latter keeps the parent's
	// peak across the exec that started this process.
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status to read the peak RSS from")
	}
	var hwm int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			hwm, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	t.Logf("listed %d objects: peak RSS %d KiB, peak heap %d B, %s objects/s", n, hwm, peak,
		strconv.FormatFloat(float64(n)/time.Since(start).Seconds(), 'f', 0, 64))
}
