package serve

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/medmd/medmd/bench"
)

// radmdPage serves /radmd: per RadMD corpus, the samples each rule
// dropped and a paged gallery of the dropped (by rule) or the kept.
func (s *Server) radmdPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	show, rule := q.Get("show"), q.Get("rule")
	if show == "" {
		show = "dropped"
	}
	if show != "dropped" && show != "kept" {
		http.Error(w, "show: want dropped or kept", http.StatusBadRequest)
		return
	}
	page, err := intParam(r, "page", 1, maxPage)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	page = max(page, 1)
	var radmds []*Corpus
	for _, c := range s.Corpora() {
		if c.Exclusions != nil {
			radmds = append(radmds, c)
		}
	}
	data := map[string]any{"Title": "RadMD audit", "RadMD": radmds, "Show": show, "Rule": rule, "Thumb": 96}
	if len(radmds) == 0 {
		s.render(w, "radmd", data)
		return
	}
	c := radmds[0]
	if name := q.Get("corpus"); name != "" {
		c = nil
		for _, rc := range radmds {
			if rc.Name == name {
				c = rc
			}
		}
		if c == nil {
			http.NotFound(w, r)
			return
		}
	}
	rules := map[string]int{}
	for _, e := range c.Exclusions {
		rules[e.Reason]++
	}
	data["C"], data["Rules"], data["Kept"] = c, counts(rules, 0), c.Index.Len()
	data["Input"] = c.Index.Len() + len(c.Exclusions)
	var rows []row
	total := 0
	skip := (page - 1) * PageSize
	if show == "kept" {
		total = c.Index.Len()
		for i := skip; i < min(total, skip+PageSize); i++ {
			rows = append(rows, s.rowOf(c, i, nil))
		}
	} else {
		for _, e := range c.Exclusions {
			if rule != "" && e.Reason != rule {
				continue
			}
			if total >= skip && len(rows) < PageSize {
				rw := row{ID: e.ID, Source: e.Source, Task: e.Task, Reason: e.Reason, Detail: e.Detail, KeptID: e.KeptID}
				// The dropped sample itself lives in the input corpus,
				// shown when it is served too.
				if oc, i, ok := s.find(e.ID, ""); ok {
					rw = s.rowOf(oc, i, nil)
					rw.Reason, rw.Detail, rw.KeptID = e.Reason, e.Detail, e.KeptID
				}
				rows = append(rows, rw)
			}
			total++
		}
	}
	pages := max(1, (total+PageSize-1)/PageSize)
	data["Rows"], data["Total"], data["Page"] = rows, total, page
	data["Prev"], data["Next"] = pageURL(r, page-1, pages), pageURL(r, page+1, pages)
	s.render(w, "radmd", data)
}

// benchLeaks runs the RadBench leakage check (train against test, per
// task) in the background, once per server: it hashes every image, which
// must not hold up start-up or a page.
type benchLeaks struct {
	mu      sync.Mutex
	reports map[string]*bench.LeakReport // root|task → report
	errs    map[string]string
	pending int
}

func newBenchLeaks(ctx context.Context, cs []*Corpus, log *slog.Logger) *benchLeaks {
	b := &benchLeaks{reports: map[string]*bench.LeakReport{}, errs: map[string]string{}}
	type job struct{ key, train, test string }
	var jobs []job
	for _, c := range cs {
		if c.Bench == nil || c.Bench.Split != bench.SplitTest {
			continue
		}
		train := filepath.Join(c.Bench.Root, c.Bench.Task, bench.SplitTrain, "manifest.json")
		if fileExists(train) {
			jobs = append(jobs, job{c.Bench.Root + "|" + c.Bench.Task, train, c.ManifestPath})
		}
	}
	b.pending = len(jobs)
	go func() {
		for _, j := range jobs {
			rep, err := bench.CheckLeakage(ctx, j.train, []string{j.test}, 10, 20)
			b.mu.Lock()
			if err != nil {
				b.errs[j.key] = err.Error()
				log.Warn("serve: leakage check", "split", j.key, "err", err)
			} else {
				b.reports[j.key] = rep
			}
			b.pending--
			b.mu.Unlock()
		}
	}()
	return b
}

// benchTask is one RadBench task's block of /radbench.
type benchTask struct {
	Root, Task string
	Splits     []benchSplitView
	Leak       *bench.LeakReport
	LeakErr    string
	SharedGrp  int
}

type benchSplitView struct {
	Corpus          *Corpus
	Split           string
	Samples, Groups int
}

func (s *Server) radbenchPage(w http.ResponseWriter, r *http.Request) {
	tasks := map[string]*benchTask{}
	var order []string
	reports := map[string]any{}
	groupsOf := map[string]map[string]bool{}
	for _, c := range s.Corpora() {
		if c.Bench == nil {
			continue
		}
		key := c.Bench.Root + "|" + c.Bench.Task
		t := tasks[key]
		if t == nil {
			t = &benchTask{Root: filepath.Base(c.Bench.Root), Task: c.Bench.Task}
			tasks[key] = t
			order = append(order, key)
		}
		g := map[string]bool{}
		for _, x := range c.Index.Group {
			g[x] = true
		}
		groupsOf[key+"|"+c.Bench.Split] = g
		t.Splits = append(t.Splits, benchSplitView{Corpus: c, Split: c.Bench.Split, Samples: c.Index.Len(), Groups: len(g)})
		if _, ok := reports[c.Bench.Root]; !ok {
			var rep bench.BuildReport
			if b, err := os.ReadFile(filepath.Join(c.Bench.Root, "radbench.json")); err == nil && json.Unmarshal(b, &rep) == nil {
				reports[c.Bench.Root] = &rep
			}
		}
	}
	pending := 0
	s.bench.mu.Lock()
	for key, t := range tasks {
		t.Leak, t.LeakErr = s.bench.reports[key], s.bench.errs[key]
		for g := range groupsOf[key+"|"+bench.SplitTest] {
			if groupsOf[key+"|"+bench.SplitTrain][g] {
				t.SharedGrp++
			}
		}
		slices.SortFunc(t.Splits, func(a, b benchSplitView) int {
			return slices.Index(bench.Splits, a.Split) - slices.Index(bench.Splits, b.Split)
		})
	}
	pending = s.bench.pending
	s.bench.mu.Unlock()
	slices.Sort(order)
	var list []*benchTask
	for _, k := range order {
		list = append(list, tasks[k])
	}
	s.render(w, "radbench", map[string]any{"Title": "RadBench", "Tasks": list, "Reports": reports, "Pending": pending})
}
