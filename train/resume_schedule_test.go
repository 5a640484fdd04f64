package train

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A resume keeps the checkpoint's learning-rate schedule: changing steps,
// lr, min_lr or warmup is refused with one line naming the key and the
// fix, while a key outside the schedule (eval_every) may change.
func TestResumeKeepsSchedule(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 3)
	cfg.CkptEvery, cfg.EvalEvery = 0, 0
	out := t.TempDir()
	opts := func(c Config, stop int) Options {
		return Options{Config: c, Out: out, Backend: backend, StopAfter: stop, Train: SliceSource(testSamples(4))}
	}
	if _, err := Run(context.Background(), opts(cfg, 1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		edit func(*Config)
	}{
		{"steps", func(c *Config) { c.Steps = 30 }},
		{"lr", func(c *Config) { c.LR *= 2 }},
		{"min_lr", func(c *Config) { c.MinLR = 2*c.MinLR + 1e-4 }},
		{"warmup", func(c *Config) { c.Warmup++ }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			_, err := Run(context.Background(), opts(c, 0))
			if err == nil {
				t.Fatal("resume with another schedule ran")
			}
			msg := err.Error()
			for _, want := range []string{tc.key + " ", "learning-rate schedule", "--init"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
	// Nothing was trained by the refused runs; the same schedule resumes,
	// with another eval_every.
	c := cfg
	c.EvalEvery = 5
	res, err := Run(context.Background(), opts(c, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.StartStep != 1 || res.Step != 3 {
		t.Fatalf("resumed %d..%d, want 1..3", res.StartStep, res.Step)
	}
	// The resume is marked in metrics.jsonl (and so on loss.png).
	h, err := readMetrics(filepath.Join(out, "metrics.jsonl"), res.Step)
	if err != nil {
		t.Fatal(err)
	}
	if p := plotFromMetrics(h); !slices.Equal(p.Resumes, []int{2}) || len(p.Steps) != 3 {
		t.Errorf("plot of the resumed run: steps %v, resumes %v, want resumes [2]", p.Steps, p.Resumes)
	}
}
