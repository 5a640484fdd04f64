package perf

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/medmd/medmd/internal/stats"
)

// Python is the interpreter the Python baselines run under: Debian's, the
// one that sees python3-numpy, -pydicom, -nibabel, -scipy, -lxml (the
// python3 first on PATH may be another that cannot import them).
var Python = "/usr/bin/python3"

// ErrNoReference is wrapped by the errors of RunReference and
// LookReference when the reference tool itself is not installed, so a
// group with an optional baseline can skip it (errors.Is) and report the
// rest.
var ErrNoReference = errors.New("reference tool not installed")

// LookReference resolves a reference tool: a path (Python) must exist, a
// bare name (dcm2niix) is looked up on PATH. A missing tool is an error
// wrapping ErrNoReference that says how to install it.
func LookReference(name string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("%w: %s is missing: install it with `make deps-apt`", ErrNoReference, name)
		}
		return name, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s is not on PATH: install it with `make deps-apt`", ErrNoReference, name)
	}
	return p, nil
}

// RunReference runs a reference tool (see LookReference) with args and
// returns what it wrote to stdout. A failing run's error names the command
// and carries its stderr, with a hint to `make deps-apt` (a Python
// baseline fails this way when a module is missing).
func RunReference(ctx context.Context, name string, args ...string) ([]byte, error) {
	bin, err := LookReference(name)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s (are its packages installed? `make deps-apt`)", filepath.Base(bin), strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// RunReferenceJSON is RunReference whose stdout is one JSON value,
// decoded into v; an output that does not decode is quoted in the error.
func RunReferenceJSON(ctx context.Context, v any, name string, args ...string) error {
	out, err := RunReference(ctx, name, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), v); err != nil {
		return fmt.Errorf("%s %s: output %q: %w", filepath.Base(name), strings.Join(args, " "), out, err)
	}
	return nil
}

// scripts holds the Python baselines, embedded so `medmd perf` runs them
// from any folder.
//
//go:embed scripts/*.py
var scripts embed.FS

// writeScript writes the embedded baseline scripts/name into dir
// (creating it) so the interpreter can run it, and returns its path.
func writeScript(dir, name string) (string, error) {
	body, err := scripts.ReadFile("scripts/" + name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, body, 0o644)
}

// repoFiles returns the files matching the glob patterns (relative to the
// repository root) in the checkout holding the working folder, found by
// walking up from it. Groups measuring on the repository's own test files
// (the JATS articles, the real CT slice the DICOM series replicates) read
// them here rather than embedding them, so no binary carries them and
// there is one copy of each; `medmd perf` runs inside a checkout.
func repoFiles(patterns ...string) ([]string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		var out []string
		for _, p := range patterns {
			m, _ := filepath.Glob(filepath.Join(dir, p))
			out = append(out, m...)
		}
		if len(out) > 0 {
			slices.Sort(out)
			return out, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("no %s found above the working folder: run medmd perf inside the medmd repository", strings.Join(patterns, ", "))
		}
		dir = parent
	}
}

// MedianTime warms f up, then runs it n times (at least once), and
// returns the median wall time in seconds.
//
// Warming up runs f until a run is no longer warmSlack times faster than
// the fastest before it, at least minWarmups and at most maxWarmups
// times: a process's first runs take fresh memory from the kernel, and
// page faults are slow on virtual machines (reading a 70 MB volume into
// fresh memory took 220 ms on the development machine, into reused memory
// 10 ms), for two runs or more when f allocates much. What is timed is the
// steady state of a long run, which reuses its heap.
func MedianTime(n int, f func() error) (float64, error) {
	return medianTime(n, f, time.Since)
}

// medianTime is MedianTime with the clock as a parameter (since).
func medianTime(n int, f func() error, since func(time.Time) time.Duration) (float64, error) {
	best := math.Inf(1)
	for w := 0; w < maxWarmups; w++ {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		d := since(t0).Seconds()
		if w+1 >= minWarmups && d*warmSlack >= best {
			break
		}
		best = min(best, d)
	}
	ts := make([]float64, max(n, 1))
	for i := range ts {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts[i] = since(t0).Seconds()
	}
	return stats.Median(ts), nil
}

const (
	minWarmups = 3
	maxWarmups = 6
	warmSlack  = 1.25
)
