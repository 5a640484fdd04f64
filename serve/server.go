package serve

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a Server.
type Options struct {
	// Labels is the labels file; "" serves read-only (no label buttons,
	// POSTs refused).
	Labels string
	// Logger receives progress and warnings; nil uses slog.Default().
	Logger *slog.Logger
	// CheckEvery is how often a request may stat the manifests to see
	// whether one changed (default 2 s).
	CheckEvery time.Duration
}

// Server serves the pages over a set of corpora. It is an http.Handler
// and safe for concurrent requests.
type Server struct {
	corpora  atomic.Pointer[[]*Corpus]
	paths    []string
	names    []string
	labels   *Labels
	token    string
	log      *slog.Logger
	tmpl     map[string]*template.Template
	mux      *http.ServeMux
	images   *pngCache
	windows  sync.Map // windowKey → [2]float64 (lo, hi)
	checkMu  sync.Mutex
	lastScan time.Time
	every    time.Duration
	bench    *benchLeaks
	ctx      context.Context
}

// New opens every manifest (a manifest.json, a corpus folder or a
// RadBench output folder), building or loading each index, and returns
// the server. ctx bounds index builds and the background work the server
// starts (the RadBench leakage check); cancel it when done with the
// server, then call Close.
func New(ctx context.Context, manifests []string, o Options) (*Server, error) {
	if len(manifests) == 0 {
		return nil, errors.New("serve: no manifest given")
	}
	s := &Server{log: o.Logger, every: o.CheckEvery, images: newPNGCache(64 << 20), ctx: ctx}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.every <= 0 {
		s.every = 2 * time.Second
	}
	for _, a := range manifests {
		ps, err := manifestPaths(a)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		s.paths = append(s.paths, ps...)
	}
	s.names = corpusNames(s.paths)
	var cs []*Corpus
	for i, p := range s.paths {
		c, err := openCorpus(ctx, p, s.names[i], s.log)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return nil, fmt.Errorf("serve: %w", err)
		}
		cs = append(cs, c)
	}
	s.corpora.Store(&cs)
	s.lastScan = time.Now()
	if o.Labels != "" {
		l, err := OpenLabels(o.Labels)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.labels = l
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			s.Close()
			return nil, err
		}
		s.token = hex.EncodeToString(b[:])
	}
	var err error
	if s.tmpl, err = parseTemplates(); err != nil {
		s.Close()
		return nil, err
	}
	s.bench = newBenchLeaks(ctx, cs, s.log)
	s.routes()
	return s, nil
}

// Close unmaps every corpus and closes the labels file.
func (s *Server) Close() error {
	var errs []error
	if cs := s.corpora.Load(); cs != nil {
		for _, c := range *cs {
			errs = append(errs, c.Close())
		}
	}
	if s.labels != nil {
		errs = append(errs, s.labels.Close())
	}
	return errors.Join(errs...)
}

// Token is the per-process secret a label POST must carry ("" when
// read-only).
func (s *Server) Token() string { return s.token }

// Corpora returns the corpora served now.
func (s *Server) Corpora() []*Corpus {
	s.refresh()
	return *s.corpora.Load()
}

// refresh reopens, at most once per CheckEvery, every corpus whose
// manifest file changed; the old corpus is unmapped a minute later, when
// requests that were using it are long done.
func (s *Server) refresh() {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if time.Since(s.lastScan) < s.every {
		return
	}
	s.lastScan = time.Now()
	old := *s.corpora.Load()
	var next []*Corpus
	changed := false
	for i, c := range old {
		fi, err := os.Stat(s.paths[i])
		if err != nil || fi.ModTime().Equal(c.modTime) {
			next = append(next, c)
			continue
		}
		nc, err := openCorpus(s.ctx, s.paths[i], s.names[i], s.log)
		if err != nil {
			s.log.Warn("serve: changed manifest not reloaded", "corpus", c.Name, "err", err)
			next = append(next, c)
			continue
		}
		s.log.Info("serve: manifest changed, corpus reloaded", "corpus", c.Name)
		changed = true
		next = append(next, nc)
		time.AfterFunc(time.Minute, func() { c.Close() })
	}
	if changed {
		s.corpora.Store(&next)
		s.images.reset()
	}
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.overview)
	mux.HandleFunc("GET /samples", s.list)
	mux.HandleFunc("GET /samples/{id}", s.sample)
	mux.HandleFunc("GET /samples/{id}/images/{file}", s.image)
	mux.HandleFunc("POST /samples/{id}/label", s.label)
	mux.HandleFunc("GET /radmd", s.radmdPage)
	mux.HandleFunc("GET /radbench", s.radbenchPage)
	s.mux = mux
}

// ServeHTTP adds the security headers every response carries: scripts
// and styles only from this server, no framing, no MIME sniffing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// find returns the corpus and index of sample id: in the named corpus
// when name is given, else the first corpus holding it.
func (s *Server) find(id, name string) (*Corpus, int, bool) {
	for _, c := range s.Corpora() {
		if name != "" && c.Name != name {
			continue
		}
		if i, ok := c.Lookup(id); ok {
			return c, i, true
		}
	}
	return nil, 0, false
}

// checkToken compares in constant time so the token cannot be guessed a
// byte at a time.
func (s *Server) checkToken(t string) bool {
	return s.token != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func (s *Server) label(w http.ResponseWriter, r *http.Request) {
	if s.labels == nil {
		http.Error(w, "read-only: start medmd serve with --labels FILE to label samples", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !s.checkToken(r.PostForm.Get("token")) {
		http.Error(w, "bad or missing token (reload the page)", http.StatusForbidden)
		return
	}
	id, corpus := r.PathValue("id"), r.PostForm.Get("corpus")
	c, _, ok := s.find(id, corpus)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if err := s.labels.Add(id, r.PostForm.Get("label"), c.Name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, sampleURL(id, c.Name), http.StatusSeeOther)
}

// intParam parses an optional non-negative integer query parameter,
// clamped to max.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		if ne, ok := err.(*strconv.NumError); ok && errors.Is(ne.Err, strconv.ErrRange) && v[0] != '-' {
			return max, nil
		}
		return 0, fmt.Errorf("%s: want a non-negative integer", name)
	}
	return min(n, max), nil
}
