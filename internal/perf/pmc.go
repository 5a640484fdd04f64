package perf

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/internal/stats"
)

// pmcArticles are the benchmark articles: the repository's JATS test files.
var pmcArticles = []string{"ingest/pmc/jats/testdata/*.nxml", "ingest/pmc/testdata/*.nxml"}

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

// pmcGroup times medmd's JATS parser against scripts/lxml_ref.py (Python
// lxml extracting the same fields) on the same articles, each on one core,
// in articles per CPU second (median of o.Repeats runs).
func pmcGroup(ctx context.Context, o Options) ([]Result, error) {
	paths, err := repoFiles(pmcArticles...)
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
	script, err := writeScript(tmp, "lxml_ref.py")
	if err != nil {
		return nil, err
	}
	args := append([]string{script, "--seconds", strconv.FormatFloat(budget.Seconds(), 'f', 3, 64), "--repeats", strconv.Itoa(repeats)}, paths...)
	var py pyResult
	if err := RunReferenceJSON(ctx, &py, Python, args...); err != nil {
		return nil, fmt.Errorf("pmc perf: lxml baseline (needs Debian python3-lxml): %w", err)
	}
	r := Result{
		Name: fmt.Sprintf("pmc/jats_parse/%d_articles", len(docs)), Unit: "articles/s", Value: stats.Median(ours),
		BaselineName: "python-lxml (scripts/lxml_ref.py)", BaselineValue: py.ArticlesPerS, Goal: 5,
		Extra: map[string]float64{
			"articles": float64(len(docs)), "figures": float64(figs), "mentions": float64(mentions),
			"baseline_figures": float64(py.Figures), "baseline_mentions": float64(py.Mentions),
		},
	}
	r.Finish(true)
	return []Result{r}, nil
}
