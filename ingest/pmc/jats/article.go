package jats

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Article is what medmd reads from one JATS article. All offsets count
// Unicode code points of BodyText (never bytes), so Python and JavaScript
// readers index the same characters.
type Article struct {
	PMCID       string   `json:"pmcid"`
	PMID        string   `json:"pmid,omitempty"`
	DOI         string   `json:"doi,omitempty"`
	Title       string   `json:"title"`
	Journal     string   `json:"journal,omitempty"`
	ArticleType string   `json:"article_type"`
	Subjects    []string `json:"subjects,omitempty"`
	// License is a normalised code ("CC BY 4.0", "CC BY-NC 3.0", "CC0",
	// "public domain") or "" when the article states none; LicenseURL and
	// LicenseText are what the article says.
	License     string `json:"license"`
	LicenseURL  string `json:"license_url,omitempty"`
	LicenseText string `json:"license_text,omitempty"`
	Year        int    `json:"year,omitempty"`
	Abstract    string `json:"abstract,omitempty"`
	// BodyText is the body with formulas, tables, figures, bibliography and
	// numeric citation markers removed. Paragraphs (and section headings)
	// are separated by a blank line; sentences keep their punctuation.
	BodyText string    `json:"body_text"`
	Sections []Section `json:"sections"`
	// Paragraphs and Sentences are [start, end) code-point spans of
	// BodyText; sentences never cross a paragraph boundary.
	Paragraphs []Span   `json:"-"`
	Sentences  []Span   `json:"-"`
	Figures    []Figure `json:"figures"`
	CaseReport bool     `json:"case_report"`
	// CaseText is the case-presentation part of a case report (the whole
	// body when no section is titled as such); CaseSpans are its spans in
	// BodyText, in order.
	CaseText  string `json:"case_text,omitempty"`
	CaseSpans []Span `json:"-"`
	// QA are the article's question–answer pairs: JATS <question-wrap>
	// elements, or a section titled "Question(s)" followed by one titled
	// "Answer(s)" (image quizzes).
	QA []QA `json:"qa,omitempty"`
}

// QA is one question and its answer.
type QA struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Span is a [Start, End) range of code points.
type Span struct{ Start, End int }

// Section is one <sec> of the body: its title, depth (1 = top level) and
// the code-point span of BodyText it covers, heading included.
type Section struct {
	Title  string `json:"title"`
	Level  int    `json:"level"`
	Offset int    `json:"offset"`
	End    int    `json:"end"`
}

// Figure is one <fig> (or a <fig-group> member, or a captioned <graphic>
// outside any <fig>).
type Figure struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	// Title is the caption's <title>; Caption is title and paragraphs
	// joined, citations and formulas removed.
	Title      string   `json:"title,omitempty"`
	Caption    string   `json:"caption"`
	Paragraphs []string `json:"caption_paragraphs,omitempty"`
	// Graphic is the package file the figure's image is in (resolved the
	// way PMC names files, see ResolveGraphic), or the raw href when no file
	// list was given or nothing matched; Href is the raw xlink:href.
	Graphic string `json:"graphic"`
	Href    string `json:"href,omitempty"`
	// GroupID is the enclosing <fig-group>'s id, if any.
	GroupID  string    `json:"group_id,omitempty"`
	Compound bool      `json:"compound"`
	Panels   []Panel   `json:"panels"`
	Mentions []Mention `json:"mentions"`
}

// Panel is one sub-figure of a compound figure: its letter (or Left,
// Right…) and its own part of the caption.
type Panel struct {
	Label   string `json:"label"`
	Caption string `json:"caption"`
}

// Mention is one in-text reference to a figure. Offset is where the
// sentence holding the reference starts in BodyText, so
// BodyText[Offset:Offset+len(Sentence)] == Sentence (in code points);
// RefOffset is where the reference text itself (e.g. "Figure 2A" or "2A")
// starts.
type Mention struct {
	Offset    int    `json:"offset"`
	Sentence  string `json:"sentence"`
	RefOffset int    `json:"ref_offset"`
	RefText   string `json:"ref_text"`
}

// Options tune parsing.
type Options struct {
	// Files lists the files beside the article (a package's members, or the
	// article's folder) used to resolve graphic hrefs to real files.
	Files []string
}

// ErrNoArticle is returned when the input holds no <article> element.
var ErrNoArticle = errors.New("jats: no <article> element")

// Parse reads one JATS article. It fails only when there is no <article>
// element; malformed markup is repaired as well as it can be.
func Parse(data []byte, opt Options) (*Article, error) {
	return ParseString(string(data), opt)
}

// ParseString is Parse over a string (the tree aliases src, no copy).
func ParseString(src string, opt Options) (*Article, error) {
	d := parseTree(src)
	defer d.release()
	root := d.find(0, "article")
	if root < 0 {
		return nil, ErrNoArticle
	}
	a := &Article{ArticleType: d.attr(root, "article-type")}
	b := &builder{d: d, a: a, figByID: map[string][]int{}}
	b.meta(root)
	b.collectFigures(root, -1)
	for i := range a.Figures {
		f := &a.Figures[i]
		if f.ID != "" {
			b.figByID[f.ID] = append(b.figByID[f.ID], i)
		}
		if f.GroupID != "" {
			b.figByID[f.GroupID] = append(b.figByID[f.GroupID], i)
		}
		f.Graphic = ResolveGraphic(f.Href, opt.Files)
		f.Panels, f.Compound = SplitPanels(f.captionBody())
		if f.Panels == nil {
			f.Panels = []Panel{}
		}
	}
	if body := d.child(root, "body"); body >= 0 {
		b.block(body, 0)
		b.flush(false)
	}
	a.BodyText = b.body.String()
	for i := range a.Figures {
		if a.Figures[i].Mentions == nil {
			a.Figures[i].Mentions = []Mention{}
		}
	}
	if a.Sections == nil {
		a.Sections = []Section{}
	}
	if a.Figures == nil {
		a.Figures = []Figure{}
	}
	b.collectQA(root)
	a.CaseReport = isCaseReport(a)
	if a.CaseReport {
		a.CaseSpans = caseSpans(a)
		var parts []string
		for _, sp := range a.CaseSpans {
			parts = append(parts, substrRunes(a.BodyText, sp.Start, sp.End))
		}
		a.CaseText = strings.Join(parts, "\n\n")
	}
	return a, nil
}

// captionBody is the caption without its title: panel labels live there.
func (f *Figure) captionBody() string {
	if len(f.Paragraphs) == 0 {
		return f.Caption
	}
	return strings.Join(f.Paragraphs, " ")
}

// Marker runes placed in paragraph text while it is built: markFig where a
// figure reference starts, markCite where a numeric citation was removed.
// They come from the Private Use Area, and are stripped from input text.
const (
	markFig    = "\uE000"
	markCite   = "\uE001"
	markFigEnd = "\uE002"
)

type pendingMention struct {
	figs       []int
	start, end int // code points in the cleaned paragraph
}

type builder struct {
	d       *doc
	a       *Article
	figByID map[string][]int

	body  strings.Builder
	runes int
	para  textBuf
	pend  []pendingMention
}

func (b *builder) meta(root int32) {
	d, a := b.d, b.a
	front := d.child(root, "front")
	meta := d.child(front0(d, front), "article-meta")
	if meta < 0 {
		meta = d.find(root, "article-meta")
	}
	if meta < 0 {
		return
	}
	for c := d.nodes[meta].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem || d.nodes[c].name != "article-id" {
			continue
		}
		v := d.textOf(c)
		switch d.attr(c, "pub-id-type") {
		case "pmc", "pmcid":
			if a.PMCID == "" && v != "" {
				if !strings.HasPrefix(strings.ToUpper(v), "PMC") {
					v = "PMC" + v
				}
				a.PMCID = "PMC" + v[3:]
			}
		case "pmid":
			if a.PMID == "" {
				a.PMID = v
			}
		case "doi":
			if a.DOI == "" {
				a.DOI = v
			}
		}
	}
	if t := d.path(meta, "title-group", "article-title"); t >= 0 {
		a.Title = b.inlineString(t)
	}
	jm := d.child(front0(d, front), "journal-meta")
	if jm < 0 {
		jm = d.find(root, "journal-meta")
	}
	if jm >= 0 {
		if t := d.path(jm, "journal-title-group", "journal-title"); t >= 0 {
			a.Journal = d.textOf(t)
		} else if t := d.child(jm, "journal-title"); t >= 0 {
			a.Journal = d.textOf(t)
		}
		if a.Journal == "" {
			for c := d.nodes[jm].first; c >= 0; c = d.nodes[c].next {
				if d.nodes[c].name == "journal-id" && d.attr(c, "journal-id-type") == "nlm-ta" {
					a.Journal = d.textOf(c)
				}
			}
		}
	}
	if cats := d.child(meta, "article-categories"); cats >= 0 {
		b.subjects(cats)
	}
	b.license(meta)
	b.year(meta)
	if ab := d.child(meta, "abstract"); ab >= 0 {
		var paras []string
		b.eachPara(ab, func(p int32) {
			if s := b.inlineString(p); s != "" {
				paras = append(paras, s)
			}
		})
		a.Abstract = strings.Join(paras, "\n\n")
	}
}

// front0 returns front, or the root when there is no <front> (tolerance for
// fragments).
func front0(d *doc, front int32) int32 {
	if front < 0 {
		return 0
	}
	return front
}

func (b *builder) subjects(n int32) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem {
			continue
		}
		if d.nodes[c].name == "subject" {
			s := d.textOf(c)
			dup := s == ""
			for _, x := range b.a.Subjects {
				if x == s {
					dup = true
				}
			}
			if !dup {
				b.a.Subjects = append(b.a.Subjects, s)
			}
			continue
		}
		b.subjects(c)
	}
}

func (b *builder) license(meta int32) {
	d, a := b.d, b.a
	perm := d.child(meta, "permissions")
	var stmt string
	if perm >= 0 {
		if lic := d.child(perm, "license"); lic >= 0 {
			a.LicenseURL = d.attr(lic, "href")
			// <ali:license_ref> (NISO ALI, JATS 1.2+) names the licence
			// by URL; it wins over an xlink:href that is not a Creative
			// Commons address (some publishers link their own terms).
			if ref := d.find(lic, "license_ref"); ref >= 0 {
				if u := strings.TrimSpace(d.textOf(ref)); u != "" && (a.LicenseURL == "" || !strings.Contains(strings.ToLower(a.LicenseURL), "creativecommons.org/") && strings.Contains(strings.ToLower(u), "creativecommons.org/")) {
					a.LicenseURL = u
				}
			}
			var ps []string
			for c := d.nodes[lic].first; c >= 0; c = d.nodes[c].next {
				if d.nodes[c].kind == kindElem && d.nodes[c].name == "license-p" {
					ps = append(ps, d.textOf(c))
				}
			}
			a.LicenseText = strings.Join(ps, " ")
			a.License = NormalizeLicense(a.LicenseURL, d.attr(lic, "license-type"), a.LicenseText)
		}
		if cs := d.child(perm, "copyright-statement"); cs >= 0 {
			stmt = d.textOf(cs)
		}
	}
	if cs := d.child(meta, "copyright-statement"); cs >= 0 && stmt == "" {
		stmt = d.textOf(cs)
	}
	if a.License == "" && stmt != "" {
		a.License = NormalizeLicense("", "", stmt)
		if a.LicenseText == "" {
			a.LicenseText = stmt
		}
	}
}

// year takes the first usable year, preferring the electronic publication
// date, then print, then any other.
func (b *builder) year(meta int32) {
	d := b.d
	best, bestRank := 0, 99
	for c := d.nodes[meta].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem || d.nodes[c].name != "pub-date" {
			continue
		}
		y, err := strconv.Atoi(d.textOf(d.child(c, "year")))
		if err != nil || y < 1000 || y > 9999 {
			continue
		}
		rank := 5
		switch d.attr(c, "pub-type") + d.attr(c, "date-type") {
		case "epub", "pub":
			rank = 0
		case "ppub":
			rank = 1
		case "collection":
			rank = 2
		case "pmc-release":
			rank = 4
		}
		if rank < bestRank {
			best, bestRank = y, rank
		}
	}
	b.a.Year = best
}

// eachPara calls f for every <p> under n (not nested inside another p).
func (b *builder) eachPara(n int32, f func(int32)) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].kind != kindElem {
			continue
		}
		if d.nodes[c].name == "p" {
			f(c)
			continue
		}
		if skipAlways[d.nodes[c].name] {
			continue
		}
		b.eachPara(c, f)
	}
}

// skipAlways are elements whose content never enters body or caption text:
// formulas, tables, figures (collected separately), bibliography, notes.
var skipAlways = map[string]bool{
	"fig": true, "fig-group": true, "table-wrap": true, "table-wrap-group": true,
	"table": true, "disp-formula": true, "disp-formula-group": true,
	"inline-formula": true, "math": true, "tex-math": true, "chem-struct-wrap": true,
	"ref-list": true, "ref": true, "supplementary-material": true, "fn-group": true,
	"fn": true, "ack": true, "glossary": true, "graphic": true, "inline-graphic": true,
	"media": true, "alternatives": true, "sec-meta": true, "object-id": true,
	"array": true, "contrib-group": true, "aff": true, "author-notes": true,
	"floats-group": true, "back": true, "processing-meta": true, "permissions": true,
	"kwd-group": true, "funding-group": true, "notes": true, "label": true,
}

// blockElems start a new paragraph when met inside text.
var blockElems = map[string]bool{
	"sec": true, "p": true, "list": true, "list-item": true, "def-list": true,
	"def-item": true, "def": true, "disp-quote": true, "boxed-text": true,
	"statement": true, "speech": true, "verse-group": true, "verse-line": true,
	"app": true, "app-group": true, "body": true, "caption": true, "title": true,
	"preformat": true, "code": true, "question": true, "answer": true,
	"question-wrap": true, "answer-set": true, "explanation": true,
}

// block walks block-level content: sections, paragraphs, lists.
func (b *builder) block(n int32, level int) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.kind == kindText {
			b.text(nd.name)
			continue
		}
		name := nd.name
		switch {
		case name == "sec":
			b.flush(false)
			b.section(c, level+1)
		case name == "title":
			b.flush(false)
			b.inline(c, true)
			b.flush(true)
		case skipAlways[name]:
			// The "label" of a sec or list item is a number; drop it.
		case blockElems[name]:
			b.flush(false)
			b.block(c, level)
			b.flush(false)
		default:
			b.inlineElem(c, true)
		}
	}
}

func (b *builder) section(sec int32, level int) {
	d, a := b.d, b.a
	idx := len(a.Sections)
	a.Sections = append(a.Sections, Section{Level: level, Offset: b.nextParaStart()})
	if t := d.child(sec, "title"); t >= 0 {
		a.Sections[idx].Title = b.inlineString(t)
	}
	b.block(sec, level)
	b.flush(false)
	a.Sections[idx].End = b.runes
	if a.Sections[idx].End < a.Sections[idx].Offset {
		// No paragraph followed: an empty section where the text ends,
		// not past it.
		a.Sections[idx].Offset = a.Sections[idx].End
	}
}

// nextParaStart is where the next paragraph will start in BodyText.
func (b *builder) nextParaStart() int {
	if b.runes == 0 {
		return 0
	}
	return b.runes + 2
}

// inline appends the inline content of n to the current paragraph; figure
// references become mentions only when mentions is set (body text).
func (b *builder) inline(n int32, mentions bool) {
	d := b.d
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.kind == kindText {
			b.text(nd.name)
			continue
		}
		if mentions && blockElems[nd.name] && nd.name != "title" {
			// A list or quote inside a <p>: its own paragraph(s).
			b.flush(false)
			b.block(c, 0)
			b.flush(false)
			continue
		}
		b.inlineElem(c, mentions)
	}
}

func (b *builder) inlineElem(c int32, mentions bool) {
	d := b.d
	nd := &d.nodes[c]
	switch nd.name {
	case "xref":
		rt := d.attr(c, "ref-type")
		rid := d.attr(c, "rid")
		switch {
		case rt == "bibr" && isNumericCitation(d.textOf(c)):
			b.para.Raw(markCite)
			return
		case mentions && (rt == "fig" || rt == "" || rt == "other"):
			figs := b.figsFor(rid)
			if len(figs) > 0 || rt == "fig" {
				b.para.Raw(markFig)
				b.pend = append(b.pend, pendingMention{figs: figs})
				b.inline(c, mentions)
				b.para.Raw(markFigEnd)
				return
			}
		}
		b.inline(c, mentions)
	case "break":
		b.para.Space()
	default:
		if skipAlways[nd.name] {
			return
		}
		if blockElems[nd.name] {
			b.para.Space()
			b.inline(c, mentions)
			b.para.Space()
			return
		}
		b.inline(c, mentions)
	}
}

func (b *builder) figsFor(rid string) []int {
	var out []int
	for _, id := range strings.Fields(rid) {
		out = append(out, b.figByID[id]...)
	}
	return out
}

func (b *builder) text(s string) {
	// Both markers start with byte 0xEE; only then look closer.
	if strings.IndexByte(s, 0xEE) >= 0 && (strings.Contains(s, markFig) || strings.Contains(s, markCite) || strings.Contains(s, markFigEnd)) {
		s = strings.NewReplacer(markFig, "", markCite, "", markFigEnd, "").Replace(s)
	}
	b.para.WriteString(s)
}

// inlineString renders n's inline content as a standalone string (titles,
// captions, abstract paragraphs): citations removed, no mentions.
func (b *builder) inlineString(n int32) string {
	if n < 0 {
		return ""
	}
	saved := b.para
	b.para = textBuf{}
	b.inline(n, false)
	s := b.para.String()
	b.para = saved
	s = cleanCitations(s)
	s = strings.ReplaceAll(s, markFig, "")
	return strings.TrimSpace(s)
}

// flush ends the current paragraph: removes citation runs, appends it to
// BodyText, splits sentences and turns pending figure references into
// mentions.
func (b *builder) flush(heading bool) {
	raw := b.para.String()
	pend := b.pend
	b.para.Reset()
	b.pend = b.pend[:0]
	if strings.TrimSpace(raw) == "" {
		return
	}
	if strings.Contains(raw, markCite) {
		raw = cleanCitations(raw)
	}
	// Strip figure markers, remembering where each reference starts and
	// ends (a stack: fuzzed input can nest references).
	clean := raw
	if strings.Contains(raw, markFig) || strings.Contains(raw, markFigEnd) {
		var sb strings.Builder
		sb.Grow(len(raw))
		r, k := 0, 0
		var open []int
		rest := raw
		for {
			// Copy the run before the next marker (both start with 0xEE).
			i := strings.IndexByte(rest, 0xEE)
			if i < 0 || !strings.HasPrefix(rest[i:], markFig) && !strings.HasPrefix(rest[i:], markFigEnd) {
				if i < 0 {
					i = len(rest)
				} else {
					i += 1 // a 0xEE that starts some other character
					for i < len(rest) && rest[i]&0xC0 == 0x80 {
						i++
					}
				}
				sb.WriteString(rest[:i])
				r += utf8.RuneCountInString(rest[:i])
				rest = rest[i:]
				if rest == "" {
					break
				}
				continue
			}
			sb.WriteString(rest[:i])
			r += utf8.RuneCountInString(rest[:i])
			if strings.HasPrefix(rest[i:], markFig) {
				if k < len(pend) {
					pend[k].start, pend[k].end = r, -1
					open = append(open, k)
				}
				k++
			} else if len(open) > 0 {
				pend[open[len(open)-1]].end = r
				open = open[:len(open)-1]
			}
			rest = rest[i+len(markFig):]
		}
		clean = sb.String()
		pend = pend[:min(k, len(pend))]
	}
	// Trim, shifting positions.
	lead := utf8.RuneCountInString(clean) - utf8.RuneCountInString(strings.TrimLeft(clean, " "))
	clean = strings.TrimSpace(clean)
	if clean == "" {
		return
	}
	if b.runes > 0 {
		b.body.WriteString("\n\n")
		b.runes += 2
	}
	start := b.runes
	n := utf8.RuneCountInString(clean)
	b.body.WriteString(clean)
	b.runes += n
	a := b.a
	a.Paragraphs = append(a.Paragraphs, Span{start, start + n})
	firstSent := len(a.Sentences)
	if heading {
		a.Sentences = append(a.Sentences, Span{start, start + n})
	} else {
		for _, s := range SplitSentences(clean) {
			a.Sentences = append(a.Sentences, Span{start + s.Start, start + s.End})
		}
	}
	if len(a.Sentences) == firstSent {
		// Text without a sentence in it (a stray byte, a symbol): the
		// paragraph is its one sentence, so a mention in it has a home.
		a.Sentences = append(a.Sentences, Span{start, start + n})
	}
	sents := a.Sentences[firstSent:]
	clamp := func(x int) int { return max(0, min(n, x-lead)) }
	// byteAt maps code-point offsets of clean to byte offsets, built once
	// per paragraph so that many mentions stay linear.
	var byteAt []int
	if len(pend) > 0 {
		byteAt = make([]int, 0, n+1)
		for i := range clean {
			byteAt = append(byteAt, i)
		}
		byteAt = append(byteAt, len(clean))
	}
	for _, pm := range pend {
		pos, end := clamp(pm.start), clamp(pm.end)
		if pm.end < 0 || end < pos {
			end = pos
		}
		// The sentence holding pos: the last one starting at or before it.
		si := sort.Search(len(sents), func(j int) bool { return sents[j].Start-start > pos }) - 1
		si = max(si, 0)
		s := sents[si]
		m := Mention{
			Offset:    s.Start,
			Sentence:  clean[byteAt[s.Start-start]:byteAt[s.End-start]],
			RefOffset: start + pos,
			RefText:   strings.TrimRight(clean[byteAt[pos]:byteAt[end]], " "),
		}
		for _, fi := range pm.figs {
			a.Figures[fi].Mentions = append(a.Figures[fi].Mentions, m)
		}
	}
}

// substrRunes returns s[from:to] counted in code points.
func substrRunes(s string, from, to int) string {
	bf, bt, r := len(s), len(s), 0
	for i := range s {
		if r == from {
			bf = i
		}
		if r == to {
			bt = i
			break
		}
		r++
	}
	if bf > bt {
		return ""
	}
	return s[bf:bt]
}

// isNumericCitation reports whether a bibliographic xref's text is only a
// citation number or range ("12", "[3]", "4–6", "7,8"), which is noise in
// training text; author–year citations are kept since they are part of the
// sentence.
func isNumericCitation(s string) bool {
	digit := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune("[](), ;–-—\u2009", r):
		default:
			return false
		}
	}
	return digit
}

// cleanCitations removes runs of citation markers (with the separators
// between them, the brackets enclosing only them, and the space before),
// e.g. "shown [m, m]." → "shown.", "A [m], B" → "A, B".
func cleanCitations(s string) string {
	if !strings.Contains(s, markCite) {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	for {
		i := strings.Index(s, markCite)
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		// Extend the run rightwards over separators followed by a marker.
		j := i + len(markCite)
		for {
			k := j
			for k < len(s) && strings.IndexByte(" ,;–-", s[k]) >= 0 {
				k++
			}
			if strings.HasPrefix(s[k:], "\u2013") { // en dash separator
				k += len("\u2013")
				for k < len(s) && s[k] == ' ' {
					k++
				}
			}
			if strings.HasPrefix(s[k:], markCite) {
				j = k + len(markCite)
				continue
			}
			break
		}
		left, right := s[:i], s[j:]
		// Brackets enclosing only the run go too.
		l := strings.TrimRight(left, " ")
		r := strings.TrimLeft(right, " ")
		if len(l) > 0 && len(r) > 0 && (l[len(l)-1] == '[' && r[0] == ']' || l[len(l)-1] == '(' && r[0] == ')') {
			l = l[:len(l)-1]
			r = r[1:]
			right = r
		}
		// Drop the space before the run (when right starts with a space,
		// that one is kept), and a separator left dangling before closing
		// punctuation.
		l = strings.TrimRight(l, " ")
		if len(right) > 0 && right[0] != ' ' && !strings.ContainsAny(right[:1], ".,;:)]") && len(l) > 0 {
			l += " "
		}
		if len(l) > 0 && len(right) > 0 && strings.ContainsAny(right[:1], ".;:)]") && (l[len(l)-1] == ',' || l[len(l)-1] == ';') {
			l = l[:len(l)-1]
		}
		out.WriteString(l)
		s = right
		// A run at the very start of the paragraph leaves leading space.
		if out.Len() == 0 {
			s = strings.TrimLeft(s, " ")
		}
	}
}

// String renders a one-line summary (for logs and errors).
func (a *Article) String() string {
	return fmt.Sprintf("%s %q (%s, %d figures)", a.PMCID, a.Title, a.ArticleType, len(a.Figures))
}
