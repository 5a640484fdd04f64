package perf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/medmd/medmd/ingest"
	_ "github.com/medmd/medmd/ingest/pmc" // registers the pmc source
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
	mirror, err := pmcMirrorResult(ctx, o, repeats, budget)
	if err != nil {
		return nil, err
	}
	return []Result{r, mirror}, nil
}

// pmcMirrorArticles are the articles both bundled mirrors hold and both
// layouts read into samples (the cloud mirror's retracted, non-OA and
// manuscript-only articles are left out): the same XML and figures, once
// as PMC Cloud objects (testdata/pmc-cloud), once as FTP-era packages
// (testdata/pmc).
var pmcMirrorArticles = []string{"PMC1790863", "PMC2599765", "PMC3166277", "PMC3460867", "PMC3574550", "PMC9000001"}

// pmcMirrorPipelines reads both mirrors in place with every licence
// allowed, so that each layout reads every article in full.
const pmcMirrorPipelines = `pipelines:
  - name: cloud
    source: {type: pmc, layout: cloud, root: testdata/pmc-cloud, plan_from: listing, licences: [], noncommercial: true, unlicensed: true}
    output: {dir: %[1]s/cloud}
  - name: packages
    source: {type: pmc, layout: packages, oa_list: testdata/pmc/oa_file_list.csv, base_url: testdata/pmc, cache_dir: %[1]s/cache, licences: [], noncommercial: true}
    output: {dir: %[1]s/packages}
`

// pmcMirrorResult times reading the same articles from a local PMC Cloud
// mirror (metadata JSON, JATS XML and figures as separate objects, md5
// checked) and from the legacy packages (one tar.gz each), through the
// source's Read: JATS parse, figure decoding and sample building. One
// core, articles per CPU second, median of repeats; the goal is ≥0.8×
// the package path.
func pmcMirrorResult(ctx context.Context, o Options, repeats int, budget time.Duration) (Result, error) {
	files, err := repoFiles("testdata/pmc-cloud/README.md")
	if err != nil {
		return Result{}, err
	}
	repo := filepath.Dir(filepath.Dir(filepath.Dir(files[0])))
	tmp, err := os.MkdirTemp(o.TempDir, "pmc-mirror-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	cfg, err := ingest.ParseConfig(filepath.Join(repo, "pmc-perf.yaml"), fmt.Appendf(nil, pmcMirrorPipelines, tmp))
	if err != nil {
		return Result{}, err
	}
	want := map[string]bool{}
	for _, id := range pmcMirrorArticles {
		want[id] = true
	}
	rate := map[string][]float64{}
	samples := map[string]int{}
	for _, p := range cfg.Pipelines {
		src, _, err := p.Build(cfg.BaseDir)
		if err != nil {
			return Result{}, err
		}
		all, err := src.Plan(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("pmc perf: %s: %w", p.Name, err)
		}
		var units []ingest.Unit
		for _, u := range all {
			if id, _, _ := strings.Cut(u.ID, "."); want[id] {
				units = append(units, u)
			}
		}
		if len(units) != len(pmcMirrorArticles) {
			return Result{}, fmt.Errorf("pmc perf: %s planned %d of the %d articles", p.Name, len(units), len(pmcMirrorArticles))
		}
		read := func() (int, error) {
			n := 0
			for _, u := range units {
				ss, err := src.Read(ctx, u)
				var partial *ingest.Partial
				if err != nil && !errors.As(err, &partial) {
					return 0, fmt.Errorf("pmc perf: %s: %w", p.Name, err)
				}
				n += len(ss)
			}
			return n, nil
		}
		// Warm up (the package path's first Read stats its cache).
		if samples[p.Name], err = read(); err != nil {
			return Result{}, err
		}
		// Timed on one core and without the per-article warnings (the
		// cloud mirror's figure with a wrong md5 is reported on every
		// pass), which would time the terminal.
		prev, logger := runtime.GOMAXPROCS(1), slog.Default()
		slog.SetDefault(slog.New(slog.DiscardHandler))
		for r := 0; r < repeats && err == nil; r++ {
			n, c0 := 0, cpuTime()
			for cpuTime()-c0 < budget && err == nil {
				_, err = read()
				n += len(units)
			}
			rate[p.Name] = append(rate[p.Name], float64(n)/(cpuTime()-c0).Seconds())
		}
		runtime.GOMAXPROCS(prev)
		slog.SetDefault(logger)
		if err != nil {
			return Result{}, err
		}
	}
	r := Result{
		Name: fmt.Sprintf("pmc/cloud_mirror_read/%d_articles", len(pmcMirrorArticles)), Unit: "articles/s", Value: stats.Median(rate["cloud"]),
		BaselineName: "legacy package path (oa_file_list + tar.gz), same articles", BaselineValue: stats.Median(rate["packages"]), Goal: 0.8,
		Extra: map[string]float64{"articles": float64(len(pmcMirrorArticles)), "samples": float64(samples["cloud"]), "baseline_samples": float64(samples["packages"])},
	}
	r.Finish(true)
	return r, nil
}
