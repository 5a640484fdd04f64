package pmc

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/pmc/jats"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// fakePMC serves an OA list and packages, misbehaving on purpose per
// package: behave[path] lists what the first requests get ("503", "429",
// "trunc"); later requests get the package.
type fakePMC struct {
	mu       sync.Mutex
	files    map[string][]byte
	behave   map[string][]string
	requests map[string]int
	times    map[string][]time.Time
}

func (f *fakePMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	p := strings.TrimPrefix(r.URL.Path, "/")
	n := f.requests[p]
	f.requests[p]++
	f.times[p] = append(f.times[p], time.Now())
	data, ok := f.files[p]
	var act string
	if n < len(f.behave[p]) {
		act = f.behave[p][n]
	}
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch act {
	case "503":
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case "trunc":
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
	default:
		w.Write(data)
	}
}

func pkgPath(pmcid string) string {
	return "oa_package/" + pmcid[len(pmcid)-2:] + "/" + pmcid[3:5] + "/" + pmcid + ".tar.gz"
}

func newFakePMC(t *testing.T) (*fakePMC, *httptest.Server) {
	f := &fakePMC{files: map[string][]byte{}, behave: map[string][]string{}, requests: map[string]int{}, times: map[string][]time.Time{}}
	var csv strings.Builder
	csv.WriteString(strings.Join(OAHeader, ",") + "\n")
	for _, a := range testArticles {
		p := pkgPath(a.pmcid)
		var extra []member
		if a.pmcid == "PMC3166277" {
			extra = append(extra, member{name: a.pmcid + "/../../escape.txt", data: []byte("gotcha")})
		}
		f.files[p] = buildPackage(t, a, extra...)
		fmt.Fprintf(&csv, "%s,\"%s\",%s,2013-03-05 10:11:12,,%s\n", p, a.citation, a.pmcid, a.license)
	}
	f.files["oa_file_list.csv"] = []byte(csv.String())
	f.behave[pkgPath("PMC3460867")] = []string{"503"}
	f.behave[pkgPath("PMC1790863")] = []string{"429"}
	f.behave[pkgPath("PMC3585041")] = []string{"trunc"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func newTestSource(srv *httptest.Server, cache string, filter Filter) *Source {
	fetch := &Fetcher{Base: srv.URL, CacheDir: cache, Concurrency: 3, RPS: 200, Timeout: 10 * time.Second,
		Retries: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	return NewSource(srv.URL+"/oa_file_list.csv", filter, fetch,
		SampleOptions{OA: true, Inline: true, CaseReport: true, MaxImagesInline: 3, MaxImagesCase: 8, Image: normalize.Image2DOptions{MaxPixels: 1 << 20}})
}

func readAll(t *testing.T, s *Source) ([]ingest.Unit, map[string][]shards.Sample) {
	t.Helper()
	ctx := context.Background()
	units, err := s.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]shards.Sample{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss, err := s.Read(ctx, u)
			if err != nil {
				t.Errorf("read %s: %v", u.ID, err)
			}
			mu.Lock()
			out[u.ID] = ss
			mu.Unlock()
		}()
	}
	wg.Wait()
	return units, out
}

func TestCrawlFakePMC(t *testing.T) {
	fake, srv := newFakePMC(t)
	cache := t.TempDir()
	s := newTestSource(srv, cache, Filter{Licences: DefaultLicences})
	units, got := readAll(t, s)

	var ids []string
	for _, u := range units {
		ids = append(ids, u.ID)
	}
	if want := "PMC1790863 PMC2599765 PMC3166277 PMC3460867 PMC3585041 PMC9000001"; strings.Join(ids, " ") != want {
		t.Errorf("planned %v, want %s (non-commercial PMC3574550 filtered out)", ids, want)
	}
	if n := fake.requests[pkgPath("PMC3574550")]; n != 0 {
		t.Errorf("filtered article downloaded %d times", n)
	}
	// Failure cases recovered by retries.
	for _, c := range []struct {
		pmcid string
		want  int
	}{{"PMC3460867", 2}, {"PMC1790863", 2}, {"PMC3585041", 2}, {"PMC2599765", 1}} {
		if n := fake.requests[pkgPath(c.pmcid)]; n != c.want {
			t.Errorf("%s requested %d times, want %d", c.pmcid, n, c.want)
		}
	}
	if ts := fake.times[pkgPath("PMC1790863")]; len(ts) == 2 && ts[1].Sub(ts[0]) < 900*time.Millisecond {
		t.Errorf("Retry-After: 1 not honoured: retried after %v", ts[1].Sub(ts[0]))
	}

	wantOA := map[string]int{"PMC3460867": 4, "PMC1790863": 3, "PMC3585041": 1, "PMC3166277": 4, "PMC2599765": 3, "PMC9000001": 2}
	for id, ss := range got {
		counts := map[string]int{}
		for _, smp := range ss {
			counts[smp.Source]++
			if smp.Group != id || smp.License == "" || smp.Meta["citation"] == "" || smp.Meta["pmcid"] != id {
				t.Errorf("%s %s: group %q licence %q citation %q", id, smp.Source, smp.Group, smp.License, smp.Meta["citation"])
			}
			if len(smp.Placements) != len(smp.Images) {
				t.Errorf("%s %s: %d placements for %d images", id, smp.Source, len(smp.Placements), len(smp.Images))
			}
			for _, im := range smp.Images {
				if im.DType != shards.Uint8 || im.Depth != 1 || len(im.Voxels) != im.NumVoxels() || im.SourceSHA256 == "" {
					t.Errorf("%s: bad image %+v", id, im.Meta)
				}
			}
		}
		if counts[SourceOA] != wantOA[id] || counts[SourceInline] != 1 {
			t.Errorf("%s: samples %v, want %d pmc-oa and 1 pmc-inline", id, counts, wantOA[id])
		}
		if wantCase := id == "PMC9000001"; (counts[SourceCaseReport] == 1) != wantCase {
			t.Errorf("%s: %d case-report samples", id, counts[SourceCaseReport])
		}
	}

	// Captions, licences and inline offsets of one article, checked against
	// the parser's own view of the real file.
	art := parseFile(t, "jats/testdata/pone.0046493.nxml")
	for _, smp := range got["PMC3460867"] {
		switch smp.Source {
		case SourceOA:
			if smp.Meta["figure_id"] == "pone-0046493-g001" && !strings.HasPrefix(smp.Response, "Chemical structure of inhibitors. Chemical structures of A, THL and B, MmPPOX.") {
				t.Errorf("caption %q", smp.Response)
			}
			// PMC's "CC BY", the article naming no version: SPDX lists
			// no versionless CC BY.
			if smp.License != "LicenseRef-PMC-CC-BY" || smp.Task != shards.TaskCaption {
				t.Errorf("licence %q task %q", smp.License, smp.Task)
			}
		case SourceInline:
			if smp.Response != art.BodyText || len(smp.Images) != 3 {
				t.Fatalf("inline: %d images, body match %v", len(smp.Images), smp.Response == art.BodyText)
			}
			body := []rune(smp.Response)
			for k, pl := range smp.Placements {
				f := art.Figures[k] // figures are first mentioned in order here
				if pl.Field != shards.FieldResponse || pl.Offset != f.Mentions[0].Offset ||
					!strings.HasPrefix(string(body[pl.Offset:]), f.Mentions[0].Sentence) {
					t.Errorf("placement %d = %+v, want offset %d", k, pl, f.Mentions[0].Offset)
				}
			}
			if smp.Placements[0].Offset != 2877 {
				t.Errorf("first inline image at %d, want 2877", smp.Placements[0].Offset)
			}
		}
	}
	// The case report places figures in its case text at their mentions.
	for _, smp := range got["PMC9000001"] {
		if smp.Source != SourceCaseReport {
			continue
		}
		if smp.Task != shards.TaskReport || smp.License != "CC0-1.0" || len(smp.Images) != 2 {
			t.Fatalf("case report %+v", smp.Meta)
		}
		body := []rune(smp.Response)
		if !strings.HasPrefix(smp.Response, "Case presentation\n\nA 54-year-old man") || strings.Contains(smp.Response, "Discussion") {
			t.Errorf("case text %q", smp.Response)
		}
		for k, want := range []string{"CT showed a 4.2", "Ultrasound confirmed"} {
			if got := string(body[smp.Placements[k].Offset:]); !strings.HasPrefix(got, want) {
				t.Errorf("case image %d at %q", k, got[:min(len(got), 30)])
			}
		}
	}
	// The "../" member was refused and reported, never extracted.
	for _, smp := range got["PMC3166277"] {
		if !strings.Contains(smp.Meta["refused_members"], "escape.txt") {
			t.Errorf("refusal not reported: %q", smp.Meta["refused_members"])
		}
	}
	filepath.Walk(cache, func(p string, info os.FileInfo, err error) error {
		if strings.Contains(p, "escape") || strings.HasSuffix(p, ".tmp") {
			t.Errorf("unexpected file in cache: %s", p)
		}
		return nil
	})

	// A second run is served from the verified cache: no package requests.
	before := map[string]int{}
	for k, v := range fake.requests {
		before[k] = v
	}
	s2 := newTestSource(srv, cache, Filter{Licences: DefaultLicences})
	readAll(t, s2)
	for k, v := range fake.requests {
		if strings.HasSuffix(k, ".tar.gz") && v != before[k] {
			t.Errorf("%s downloaded again on the second run", k)
		}
	}
	if s2.fetcher.CacheHits.Load() != 7 { // 6 packages + the OA list
		t.Errorf("cache hits %d, want 7", s2.fetcher.CacheHits.Load())
	}

	// A file without a done-mark (a crash mid-rename, a copied partial) is
	// not trusted: it is downloaded again.
	p := filepath.Join(cache, filepath.FromSlash(pkgPath("PMC2599765")))
	os.Remove(p + ".ok")
	os.WriteFile(p, []byte("partial"), 0o644)
	if _, err := s2.fetcher.Package(context.Background(), pkgPath("PMC2599765")); err != nil {
		t.Fatal(err)
	}
	if fake.requests[pkgPath("PMC2599765")] != before[pkgPath("PMC2599765")]+1 {
		t.Error("unverified cached file was trusted")
	}
}

func TestCrawlNonCommercialAndFilters(t *testing.T) {
	_, srv := newFakePMC(t)
	tests := []struct {
		name   string
		filter Filter
		want   string
	}{
		{"noncommercial", Filter{Licences: DefaultLicences, NonCommercial: true, PMCIDs: []string{"PMC3574550", "3460867"}}, "PMC3460867 PMC3574550"},
		{"journal", Filter{Journals: []string{"plos one"}}, "PMC1790863 PMC3460867"},
		{"since", Filter{Since: time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)}, ""},
		{"max", Filter{MaxArticles: 2}, "PMC1790863 PMC2599765"},
		{"cc0 only", Filter{Licences: []string{"CC0"}}, "PMC2599765 PMC9000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			units, err := newTestSource(srv, t.TempDir(), tc.filter).Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, u := range units {
				ids = append(ids, u.ID)
			}
			if strings.Join(ids, " ") != tc.want {
				t.Errorf("planned %v, want %q", ids, tc.want)
			}
		})
	}
}

func TestFetchGivesUp(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if strings.Contains(r.URL.Path, "missing") {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	f := &Fetcher{Base: srv.URL, CacheDir: t.TempDir(), Retries: 2, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	_, err := f.Package(context.Background(), "a/b.tar.gz")
	if err == nil || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "3 attempts") || n != 3 {
		t.Errorf("err = %v after %d requests", err, n)
	}
	n = 0
	if _, err := f.Package(context.Background(), "missing.tar.gz"); err == nil || n != 1 {
		t.Errorf("404: err = %v after %d requests (404 must not be retried)", err, n)
	}
	if _, err := f.Package(context.Background(), "../etc/passwd"); err == nil {
		t.Error("unsafe path accepted")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0},
		{"Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second},
		{"Thu, 01 Jan 2026 11:00:00 GMT", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.v, got, tc.want)
		}
	}
}

func parseFile(t *testing.T, p string) *jats.Article {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := jats.Parse(data, jats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(a.BodyText) {
		t.Fatal("invalid UTF-8 body")
	}
	return a
}

// TestFetchPoliteness checks the concurrency bound, the request rate, a
// per-attempt timeout and a body cut short without Content-Length.
func TestFetchPoliteness(t *testing.T) {
	pkg := buildPackage(t, testArticles[2])
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	var starts []time.Time
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		starts = append(starts, time.Now())
		calls[r.URL.Path]++
		n := calls[r.URL.Path]
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		switch {
		case strings.Contains(r.URL.Path, "hang") && n == 1:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		case strings.Contains(r.URL.Path, "short") && n == 1:
			w.Write(pkg[:len(pkg)/3]) // chunked, cleanly ended, but short
			w.(http.Flusher).Flush()
			return
		}
		time.Sleep(30 * time.Millisecond)
		w.Write(pkg)
	}))
	defer srv.Close()
	// The per-attempt timeout must cut the hanging request but never a
	// healthy one, even on a loaded 2-core CI machine: 300ms did cut the
	// retried download now and then (three calls of short.tar.gz).
	f := &Fetcher{Base: srv.URL, CacheDir: t.TempDir(), Concurrency: 2, RPS: 50, Timeout: 1500 * time.Millisecond,
		Retries: 2, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	var wg sync.WaitGroup
	names := []string{"hang.tar.gz", "short.tar.gz"}
	for i := 0; i < 6; i++ {
		names = append(names, fmt.Sprintf("p%d.tar.gz", i))
	}
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Package(context.Background(), n); err != nil {
				t.Errorf("%s: %v", n, err)
			}
		}()
	}
	wg.Wait()
	if maxInFlight > 2 {
		t.Errorf("%d requests in flight, limit 2", maxInFlight)
	}
	if calls["/hang.tar.gz"] != 2 || calls["/short.tar.gz"] != 2 {
		t.Errorf("calls %v: timeout and short body must each be retried once", calls)
	}
	// 10 requests at 50/s need at least 9 intervals of 20ms.
	if span := starts[len(starts)-1].Sub(starts[0]); span < 170*time.Millisecond {
		t.Errorf("10 requests within %v: rate limit not applied", span)
	}
	if f.RetryCount.Load() != 2 || f.Downloads.Load() != 8 {
		t.Errorf("retries %d downloads %d", f.RetryCount.Load(), f.Downloads.Load())
	}
}
