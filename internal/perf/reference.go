package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
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

// WriteScript writes an embedded baseline script to dir/name (creating
// dir) so the interpreter can run it from any working folder, and returns
// its path.
func WriteScript(dir, name string, body []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, body, 0o644)
}

// Median returns the median of xs (the mean of the two middle values for
// an even count; 0 for none). xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianTime runs f once to warm up, then n times (at least once), and
// returns the median wall time in seconds.
func MedianTime(n int, f func() error) (float64, error) {
	if err := f(); err != nil {
		return 0, err
	}
	ts := make([]float64, max(n, 1))
	for i := range ts {
		t0 := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts[i] = time.Since(t0).Seconds()
	}
	return Median(ts), nil
}
