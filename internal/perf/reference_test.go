package perf

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMedianTime(t *testing.T) {
	calls := 0
	if _, err := MedianTime(3, func() error { calls++; return nil }); err != nil || calls != 4 {
		t.Errorf("calls = %d (warm-up + 3), err %v", calls, err)
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
