package serve

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"math/bits"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/medmd/medmd/shards"
)

// PageSize is how many samples a list or gallery page shows.
const PageSize = 50

// maxPage bounds the page parameter: far past any corpus, small enough
// that page×PageSize cannot overflow.
const maxPage = 1 << 30

func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"sampleURL": sampleURL,
		"imageURL":  imageURL,
		"pct":       func(a, b int) int { return a * 100 / max(b, 1) },
		"imageCtx":  func(v *imageView, windows []string) imageCtx { return imageCtx{v, windows} },
		"score": func(v float64) string {
			if v < 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", v)
		},
	}
	out := map[string]*template.Template{}
	for _, p := range []string{"overview", "list", "sample", "radmd", "radbench"} {
		files := []string{"templates/layout.html", "templates/" + p + ".html"}
		if p == "radmd" || p == "list" {
			files = append(files, "templates/rows.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("serve: template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

func sampleURL(id, corpus string) string {
	u := "/samples/" + url.PathEscape(id)
	if corpus != "" {
		u += "?corpus=" + url.QueryEscape(corpus)
	}
	return u
}

func imageURL(id, corpus string, k, size int) string {
	v := url.Values{}
	v.Set("corpus", corpus)
	if size > 0 {
		v.Set("size", strconv.Itoa(size))
	}
	return "/samples/" + url.PathEscape(id) + "/images/" + strconv.Itoa(k) + ".png?" + v.Encode()
}

func (s *Server) render(w http.ResponseWriter, page string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl[page].Execute(&buf, data); err != nil {
		s.log.Error("serve: template", "page", page, "err", err)
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// Count is one bar of a histogram.
type Count struct {
	Key string
	N   int
	Of  int // the largest N of the histogram, for bar widths
}

func counts(m map[string]int, limit int) []Count {
	out := make([]Count, 0, len(m))
	top := 0
	for k, n := range m {
		out = append(out, Count{Key: k, N: n})
		top = max(top, n)
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(b.N-a.N, strings.Compare(a.Key, b.Key)) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].Of = top
	}
	return out
}

// corpusView is one corpus's block of the overview.
type corpusView struct {
	C                                   *Corpus
	Samples, Images, Images2D, Images3D int
	Source, Task, License, Split        []Count
	Modality, DType, Shape, TextLen     []Count
	Quarantine                          []Count
	QuarantineExamples                  []shards.QuarantineRecord
	Excluded                            []Count
	Stats                               IndexStats
}

func overviewOf(c *Corpus) corpusView {
	ix := c.Index
	v := corpusView{C: c, Samples: ix.Len(), Images: len(ix.ImgModality), Stats: ix.Stats}
	by := func(col []uint16) []Count {
		m := map[string]int{}
		for _, code := range col {
			k := ix.Str(code)
			if k == "" {
				k = "(none)"
			}
			m[k]++
		}
		return counts(m, 0)
	}
	v.Source, v.Task, v.License, v.Split = by(ix.Source), by(ix.Task), by(ix.License), by(ix.Split)
	v.Modality, v.DType = by(ix.ImgModality), by(ix.ImgDType)
	shapes := map[string]int{}
	for j := 0; j < len(ix.ImgModality); j++ {
		sh := ix.ImgShape[4*j : 4*j+4]
		if sh[1] > 1 {
			v.Images3D++
		} else {
			v.Images2D++
		}
		shapes[fmt.Sprintf("%d×%d×%d×%d %s", sh[0], sh[1], sh[2], sh[3], ix.Str(ix.ImgDType[j]))]++
	}
	v.Shape = counts(shapes, 20)
	lens := map[string]int{}
	for _, n := range ix.Runes {
		// Power-of-two buckets: text lengths span 1 to 100 000 characters.
		b := bits.Len32(uint32(n))
		lo, hi := 0, 0
		if b > 0 {
			lo, hi = 1<<(b-1), 1<<b-1
		}
		lens[fmt.Sprintf("%06d|%d–%d", lo, lo, hi)]++
	}
	v.TextLen = counts(lens, 0)
	slices.SortFunc(v.TextLen, func(a, b Count) int { return strings.Compare(a.Key, b.Key) })
	for i := range v.TextLen {
		v.TextLen[i].Key = v.TextLen[i].Key[strings.IndexByte(v.TextLen[i].Key, '|')+1:]
	}
	q := map[string]int{}
	for _, r := range c.Quarantine {
		q[r.Stage]++
	}
	v.Quarantine = counts(q, 0)
	v.QuarantineExamples = c.Quarantine[:min(len(c.Quarantine), 20)]
	if c.Exclusions != nil {
		e := map[string]int{}
		for _, x := range c.Exclusions {
			e[x.Reason]++
		}
		v.Excluded = counts(e, 0)
	}
	return v
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	var views []corpusView
	for _, c := range s.Corpora() {
		views = append(views, overviewOf(c))
	}
	s.render(w, "overview", map[string]any{"Title": "Corpora", "Corpora": views, "S": s})
}

// filter is the list page's query.
type filter struct {
	Q, Source, Task, License, Split, Kind, Corpus, Group string
	Page                                                 int
	q                                                    []byte
}

func parseFilter(r *http.Request) (filter, error) {
	v := r.URL.Query()
	f := filter{Q: v.Get("q"), Source: v.Get("source"), Task: v.Get("task"), License: v.Get("license"),
		Split: v.Get("split"), Kind: v.Get("kind"), Corpus: v.Get("corpus"), Group: v.Get("group")}
	if f.Kind != "" && f.Kind != "2d" && f.Kind != "3d" {
		return f, fmt.Errorf("kind: want 2d or 3d")
	}
	if len(f.Q) > 1000 {
		return f, fmt.Errorf("q: at most 1000 bytes")
	}
	var err error
	if f.Page, err = intParam(r, "page", 1, maxPage); err != nil {
		return f, err
	}
	f.Page = max(f.Page, 1)
	f.q = appendLower(nil, strings.TrimSpace(f.Q))
	return f, nil
}

// codeOf returns the Dict code of value, or ok=false when no sample has
// it (the filter then matches nothing in this corpus).
func codeOf(ix *Index, value string) (uint16, bool) {
	for c, s := range ix.Dict {
		if s == value {
			return uint16(c), true
		}
	}
	return 0, false
}

// match calls yield for each matching sample of c, in corpus order,
// until yield returns false.
func (f *filter) match(c *Corpus, yield func(i int) bool) {
	ix := c.Index
	type colFilter struct {
		col  []uint16
		code uint16
	}
	var cols []colFilter
	for _, cf := range []struct {
		col   []uint16
		value string
	}{{ix.Source, f.Source}, {ix.Task, f.Task}, {ix.License, f.License}, {ix.Split, f.Split}} {
		if cf.value == "" {
			continue
		}
		code, ok := codeOf(ix, cf.value)
		if !ok {
			return
		}
		cols = append(cols, colFilter{cf.col, code})
	}
	if len(f.q) > 0 && len(cols) == 0 && f.Group == "" {
		f.matchText(ix, yield)
		return
	}
outer:
	for i := 0; i < ix.Len(); i++ {
		for _, cf := range cols {
			if cf.col[i] != cf.code {
				continue outer
			}
		}
		if f.Group != "" && ix.Group[i] != f.Group {
			continue
		}
		if f.Kind != "" && ix.Is3D(i) != (f.Kind == "3d") {
			continue
		}
		if len(f.q) > 0 && !bytes.Contains(ix.TextOf(i), f.q) {
			continue
		}
		if !yield(i) {
			return
		}
	}
}

// matchText is match for a text query without column filters: one
// bytes.Index over the whole text column instead of one call per sample,
// which skips most of a million samples' texts at the speed of the
// vectorised search. A hit is mapped to its sample by the offsets; one
// that runs past its sample's end (the column has no separators) is not
// a match, and neither is any later start in that sample.
func (f *filter) matchText(ix *Index, yield func(i int) bool) {
	at := 0
	for at < len(ix.Text) {
		o := bytes.Index(ix.Text[at:], f.q)
		if o < 0 {
			return
		}
		o += at
		// The sample holding byte o: the last with TextOff[i] <= o.
		i, _ := slices.BinarySearch(ix.TextOff, int64(o)+1)
		i--
		end := int(ix.TextOff[i+1])
		at = end
		if o+len(f.q) > end {
			continue
		}
		if f.Kind != "" && ix.Is3D(i) != (f.Kind == "3d") {
			continue
		}
		if !yield(i) {
			return
		}
	}
}

// row is one sample of a list or gallery.
type row struct {
	ID, Corpus, Source, Task, Split string
	Images                          int
	Is3D                            bool
	Instruction, Response           template.HTML
	Reason, Detail, KeptID, Label   string
}

// highlight escapes text, keeps at most limit bytes around the first
// match of the lower-cased query q, and marks every match.
func highlight(text string, q []byte, limit int) template.HTML {
	lower := appendLower(nil, text)
	start := 0
	if len(q) > 0 {
		if at := bytes.Index(lower, q); at > limit/2 {
			start = at - limit/3
		}
	}
	end := min(len(text), start+limit)
	// Cut on rune boundaries.
	for start > 0 && start < len(text) && !utf8.RuneStart(text[start]) {
		start++
	}
	for end < len(text) && end > start && !utf8.RuneStart(text[end]) {
		end--
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	pos := start
	for len(q) > 0 && pos < end {
		at := bytes.Index(lower[pos:end], q)
		if at < 0 {
			break
		}
		b.WriteString(template.HTMLEscapeString(text[pos : pos+at]))
		b.WriteString("<mark>")
		b.WriteString(template.HTMLEscapeString(text[pos+at : pos+at+len(q)]))
		b.WriteString("</mark>")
		pos += at + len(q)
	}
	b.WriteString(template.HTMLEscapeString(text[pos:end]))
	if end < len(text) {
		b.WriteString("…")
	}
	return template.HTML(b.String())
}

func (s *Server) rowOf(c *Corpus, i int, q []byte) row {
	ix := c.Index
	rw := row{ID: ix.IDs[i], Corpus: c.Name, Source: ix.Str(ix.Source[i]), Task: ix.Str(ix.Task[i]),
		Split: ix.Str(ix.Split[i]), Images: int(ix.ImgOff[i+1] - ix.ImgOff[i]), Is3D: ix.Is3D(i)}
	if smp, err := c.Sample(i); err == nil {
		rw.Instruction = highlight(smp.Instruction, q, 300)
		rw.Response = highlight(smp.Response, q, 300)
	}
	if s.labels != nil {
		rw.Label = s.labels.Get(rw.ID)
	}
	return rw
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	skip := (f.Page - 1) * PageSize
	total := 0
	var rows []row
	facets := map[string]map[string]bool{"source": {}, "task": {}, "license": {}, "split": {}}
	for _, c := range s.Corpora() {
		ix := c.Index
		for _, col := range []struct {
			name string
			col  []uint16
		}{{"source", ix.Source}, {"task", ix.Task}, {"license", ix.License}, {"split", ix.Split}} {
			seen := make([]bool, len(ix.Dict))
			for _, code := range col.col {
				seen[code] = true
			}
			for code, ok := range seen {
				if ok && ix.Dict[code] != "" {
					facets[col.name][ix.Dict[code]] = true
				}
			}
		}
		if f.Corpus != "" && c.Name != f.Corpus {
			continue
		}
		f.match(c, func(i int) bool {
			if total >= skip && len(rows) < PageSize {
				rows = append(rows, s.rowOf(c, i, f.q))
			}
			total++
			return true
		})
	}
	facetList := map[string][]string{}
	for k, m := range facets {
		for v := range m {
			facetList[k] = append(facetList[k], v)
		}
		slices.Sort(facetList[k])
	}
	var corpora []string
	for _, c := range s.Corpora() {
		corpora = append(corpora, c.Name)
	}
	pages := max(1, (total+PageSize-1)/PageSize)
	s.render(w, "list", map[string]any{"Title": "Samples", "F": f, "Rows": rows, "Total": total,
		"Pages": pages, "Prev": pageURL(r, f.Page-1, pages), "Next": pageURL(r, f.Page+1, pages),
		"Facets": facetList, "Corpora": corpora, "Thumb": 96})
}

// pageURL is the current URL with page set to p, or "" when p is out of
// 1…pages.
func pageURL(r *http.Request, p, pages int) string {
	if p < 1 || p > pages {
		return ""
	}
	v := r.URL.Query()
	v.Set("page", strconv.Itoa(p))
	return r.URL.Path + "?" + v.Encode()
}

// segment is a piece of a sample's text or an image placed there.
type segment struct {
	Text  string
	Image *imageView
}

type imageView struct {
	K                      int
	URL                    string
	Modality, Plane, DType string
	C, D, H, W             int
	Is3D, IsCT             bool
	Spacing                [3]float64
	Transforms             []shards.Transform
	SourcePath, SourceSHA  string
	Meta                   map[string]string
}

// imageCtx is what the "image" template gets: the image and the window
// presets to offer.
type imageCtx struct {
	*imageView
	Windows []string
}

// placeText splits text at the placements of field, in code points.
func placeText(text, field string, ps []shards.Placement, views []*imageView) []segment {
	var here []shards.Placement
	for _, p := range ps {
		if p.Field == field && p.Image >= 0 && p.Image < len(views) {
			here = append(here, p)
		}
	}
	slices.SortStableFunc(here, func(a, b shards.Placement) int { return a.Offset - b.Offset })
	runes := []rune(text)
	var out []segment
	at := 0
	for _, p := range here {
		off := min(max(p.Offset, at), len(runes))
		if off > at {
			out = append(out, segment{Text: string(runes[at:off])})
		}
		out = append(out, segment{Image: views[p.Image]})
		at = off
	}
	if at < len(runes) {
		out = append(out, segment{Text: string(runes[at:])})
	}
	return out
}

func (s *Server) sample(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, i, ok := s.find(id, r.URL.Query().Get("corpus"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	smp, err := c.Sample(i)
	if err != nil {
		s.log.Warn("serve: sample not read", "corpus", c.Name, "id", id, "err", err)
		http.Error(w, "sample could not be read", http.StatusInternalServerError)
		return
	}
	views := make([]*imageView, len(smp.Images))
	placed := make([]bool, len(smp.Images))
	for k := range smp.Images {
		im := &smp.Images[k]
		views[k] = &imageView{K: k, URL: imageURL(id, c.Name, k, 0), Modality: im.Modality, Plane: im.Plane, DType: string(im.DType),
			C: im.Channels, D: im.Depth, H: im.Height, W: im.Width, Is3D: im.Depth > 1, IsCT: im.Modality == "CT",
			Spacing: im.Spacing, Transforms: im.Transforms, SourcePath: im.SourcePath, SourceSHA: im.SourceSHA256, Meta: im.Meta}
	}
	for _, p := range smp.Placements {
		if p.Image >= 0 && p.Image < len(placed) {
			placed[p.Image] = true
		}
	}
	var unplaced []*imageView
	for k, v := range views {
		if !placed[k] {
			unplaced = append(unplaced, v)
		}
	}
	// Other corpora holding the same id (a MedMD sample kept in RadMD).
	var also []string
	var excl any
	for _, oc := range s.Corpora() {
		if oc == c {
			continue
		}
		if _, ok := oc.Lookup(id); ok {
			also = append(also, oc.Name)
		}
		if e, ok := oc.Exclusion(id); ok {
			excl = map[string]string{"Corpus": oc.Name, "Reason": e.Reason, "Detail": e.Detail, "KeptID": e.KeptID}
		}
	}
	if e, ok := c.Exclusion(id); ok {
		excl = map[string]string{"Corpus": c.Name, "Reason": e.Reason, "Detail": e.Detail, "KeptID": e.KeptID}
	}
	var dups []string
	for _, oc := range s.Corpora() {
		dups = append(dups, oc.keptBy[id]...)
	}
	// The group's other samples, up to a page of them.
	var group []row
	if smp.Group != "" {
		for j, g := range c.Index.Group {
			if g == smp.Group && j != i {
				group = append(group, row{ID: c.Index.IDs[j], Corpus: c.Name, Task: c.Index.Str(c.Index.Task[j])})
				if len(group) == PageSize {
					break
				}
			}
		}
	}
	data := map[string]any{"Title": "Sample " + id, "C": c, "S": smp, "Images": views, "Unplaced": unplaced,
		"Instruction": placeText(smp.Instruction, shards.FieldInstruction, smp.Placements, views),
		"Response":    placeText(smp.Response, shards.FieldResponse, smp.Placements, views),
		"Also":        also, "Exclusion": excl, "Duplicates": dups, "NearDups": nearDuplicates(s.Corpora(), c, i), "DupThreshold": dupThreshold,
		"GroupRows": group,
		"Windows":   WindowNames, "Token": s.token, "LabelURL": "/samples/" + url.PathEscape(id) + "/label"}
	if s.labels != nil {
		data["Label"] = s.labels.Get(id)
		data["Labelling"] = true
	}
	s.render(w, "sample", data)
}
