package perf

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestMedianTime(t *testing.T) {
	calls := 0
	if _, err := MedianTime(3, func() error { calls++; return nil }); err != nil || calls < minWarmups+3 || calls > maxWarmups+3 {
		t.Errorf("calls = %d (%d to %d warm-ups + 3), err %v", calls, minWarmups, maxWarmups, err)
	}
	// Runs that get ten times faster after the first one or two are
	// warmed up until they stop getting faster; the slow ones are not
	// timed.
	for _, slow := range []int{1, 2, 3} {
		calls = 0
		var last time.Duration // what the fake clock says the last call took
		f := func() error {
			calls++
			last = 2 * time.Millisecond
			if calls <= slow {
				last = 20 * time.Millisecond
			}
			return nil
		}
		since := func(time.Time) time.Duration { return last }
		if med, err := medianTime(3, f, since); err != nil || med != 0.002 {
			t.Errorf("%d slow first runs: median %.3f s after %d calls, err %v", slow, med, calls, err)
		}
	}
	boom := errors.New("boom")
	if _, err := MedianTime(3, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}

func TestRunReferenceMissing(t *testing.T) {
	for _, name := range []string{"/nonexistent/python3", "medmd-no-such-reference-tool"} {
		_, err := RunReference(context.Background(), name, "-c", "1")
		if !errors.Is(err, ErrNoReference) || !strings.Contains(err.Error(), "make deps-apt") {
			t.Errorf("%s: err = %v, want ErrNoReference with an install hint", name, err)
		}
	}
}

func TestRunReferenceJSON(t *testing.T) {
	var v struct {
		A int `json:"a"`
	}
	if err := RunReferenceJSON(context.Background(), &v, "sh", "-c", `echo '{"a": 7}'`); err != nil || v.A != 7 {
		t.Fatalf("v = %+v, err %v", v, err)
	}
	if err := RunReferenceJSON(context.Background(), &v, "sh", "-c", "echo not json"); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Errorf("err = %v, want the output quoted", err)
	}
	if _, err := RunReference(context.Background(), "sh", "-c", "echo oops >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("err = %v, want stderr in it", err)
	}
}

// TestRunInChild reads a child's --json lines, skips its other output and
// reports a failed child.
func TestRunInChild(t *testing.T) {
	ctx := context.Background()
	script := `echo 'noise'; echo '{"name":"g/a/k","unit":"s","value":2,"baseline_value":4,"ratio":2,"goal":1,"meets_goal":true}'`
	res, err := RunInChild(ctx, "sh", []string{"-c", script}, io.Discard)
	if err != nil || len(res) != 1 || res[0].Name != "g/a/k" || res[0].Ratio != 2 || !res[0].MeetsGoal {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if _, err := RunInChild(ctx, "sh", []string{"-c", "echo boom >&2; exit 3"}, io.Discard); err == nil {
		t.Fatal("a failed child gave no error")
	}
}
