// Package bench measures medmd's JATS parser against a Python lxml
// extraction of the same fields (lxml_ref.py), for `medmd perf pmc`.
package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/internal/perf"
)

// LxmlRef is the reference extraction script.
//
//go:embed lxml_ref.py
var LxmlRef []byte

// articleDirs are where the benchmark articles live in a checkout.
var articleDirs = []string{"ingest/pmc/jats/testdata", "ingest/pmc/testdata"}

// FindArticles locates the benchmark articles from the working directory
// or any parent (so it works from anywhere inside the repository).
func FindArticles() ([]string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for {
		var out []string
		for _, d := range articleDirs {
			m, _ := filepath.Glob(filepath.Join(dir, d, "*.nxml"))
			out = append(out, m...)
		}
		if len(out) > 0 {
			sort.Strings(out)
			return out, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, errors.New("pmc perf: no benchmark articles found (run inside the medmd repository: needs ingest/pmc/jats/testdata/*.nxml)")
		}
		dir = parent
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type pyResult struct {
	Articles     int       `json:"articles"`
	Runs         []float64 `json:"runs"`
	ArticlesPerS float64   `json:"articles_per_s"`
	Figures      int       `json:"figures"`
	Mentions     int       `json:"mentions"`
}

// Run times both parsers on the same articles, each on one core, in
// articles per CPU second (median of o.Repeats runs).
func Run(ctx context.Context, o perf.Options) ([]perf.Result, error) {
	paths, err := FindArticles()
	if err != nil {
		return nil, err
	}
	docs := make([][]byte, len(paths))
	for i, p := range paths {
		if docs[i], err = os.ReadFile(p); err != nil {
			return nil, err
		}
	}
	repeats := max(o.Repeats, 1)
	budget := time.Second
	if o.Quick {
		repeats, budget = 1, 200*time.Millisecond
	}

	// Ours: GOMAXPROCS=1 so that the parser and the garbage collector
	// share one core, as the Python interpreter does.
	prev := runtime.GOMAXPROCS(1)
	figs, mentions := 0, 0
	for _, d := range docs {
		a, err := jats.Parse(d, jats.Options{})
		if err != nil {
			runtime.GOMAXPROCS(prev)
			return nil, err
		}
		figs += len(a.Figures)
		for _, f := range a.Figures {
			mentions += len(f.Mentions)
		}
	}
	var ours []float64
	for r := 0; r < repeats; r++ {
		if err := ctx.Err(); err != nil {
			runtime.GOMAXPROCS(prev)
			return nil, err
		}
		n, c0 := 0, cpuTime()
		for cpuTime()-c0 < budget {
			for _, d := range docs {
				jats.Parse(d, jats.Options{})
			}
			n += len(docs)
		}
		ours = append(ours, float64(n)/(cpuTime()-c0).Seconds())
	}
	runtime.GOMAXPROCS(prev)

	// Baseline: the lxml script, same files, same clock.
	tmp := o.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	script, err := perf.WriteScript(tmp, "lxml_ref.py", LxmlRef)
	if err != nil {
		return nil, err
	}
	args := append([]string{script, "--seconds", strconv.FormatFloat(budget.Seconds(), 'f', 3, 64), "--repeats", strconv.Itoa(repeats)}, paths...)
	var py pyResult
	if err := perf.RunReferenceJSON(ctx, &py, perf.Python, args...); err != nil {
		return nil, fmt.Errorf("pmc perf: lxml baseline (needs Debian python3-lxml): %w", err)
	}
	r := perf.Result{
		Name: "pmc/jats-parse", Unit: "articles/s", Value: perf.Median(ours),
		BaselineName: "python-lxml", BaselineValue: py.ArticlesPerS, Goal: 5,
		Extra: map[string]float64{
			"articles": float64(len(docs)), "figures": float64(figs), "mentions": float64(mentions),
			"baseline_figures": float64(py.Figures), "baseline_mentions": float64(py.Mentions),
		},
	}
	r.Finish(true)
	return []perf.Result{r}, nil
}
