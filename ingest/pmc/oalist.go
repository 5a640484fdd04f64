package pmc

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest/pmc/jats"
)

// OAHeader is the header of PMC's oa_file_list.csv.
var OAHeader = []string{"File", "Article Citation", "Accession ID", "Last Updated (YYYY-MM-DD HH:MM:SS)", "PMID", "License"}

// OARow is one article of the OA file list.
type OARow struct {
	// File is the package path relative to the base URL, e.g.
	// "oa_package/08/e0/PMC13900.tar.gz".
	File     string    `json:"file"`
	Citation string    `json:"citation"`
	PMCID    string    `json:"pmcid"`
	Updated  time.Time `json:"updated"`
	PMID     string    `json:"pmid,omitempty"`
	// License is the list's code ("CC BY", "CC BY-NC", "CC0", "NO-CC CODE").
	License string `json:"license"`
	// Journal is the abbreviation the citation starts with.
	Journal string `json:"journal"`
}

// citationJournalRe takes the journal from a citation such as
// "PLoS One. 2012 Sep 28; 7(9):e46493": the text before ". <year>".
var citationJournalRe = regexp.MustCompile(`^(.*?)\.\s+(1[89]|20)\d\d\b`)

// ReadOAList parses an OA file list. It checks the header, tolerates a
// UTF-8 BOM and blank lines, and fails on a malformed row naming its line.
func ReadOAList(r io.Reader, name string) ([]OARow, error) {
	return readOAList(r, name, nil)
}

// ReadFiltered streams an OA file list through f and returns f.Apply of
// the rows that pass, holding only those in memory: PMC's full list has
// millions of rows.
func (f Filter) ReadFiltered(r io.Reader, name string) ([]OARow, error) {
	ids := f.idSet()
	rows, err := readOAList(r, name, func(row *OARow) bool { return f.keep(row, ids) })
	if err != nil {
		return nil, err
	}
	return f.Apply(rows), nil
}

func readOAList(r io.Reader, name string, keep func(*OARow) bool) ([]OARow, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range hdr {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"File", "Accession ID"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%s: header %q lacks column %q (want %s)", name, strings.Join(hdr, ","), h, strings.Join(OAHeader, ","))
		}
	}
	get := func(rec []string, h string) string {
		if i, ok := col[h]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []OARow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && rec[0] == "" {
			continue
		}
		row := OARow{
			File:     get(rec, "File"),
			Citation: get(rec, "Article Citation"),
			PMCID:    get(rec, "Accession ID"),
			PMID:     get(rec, "PMID"),
			License:  get(rec, "License"),
		}
		if row.File == "" || !strings.HasPrefix(row.PMCID, "PMC") {
			return nil, fmt.Errorf("%s:%d: row needs a File and a PMC accession, got %q, %q", name, line, row.File, row.PMCID)
		}
		if u := get(rec, "Last Updated (YYYY-MM-DD HH:MM:SS)"); u != "" {
			t, err := time.Parse("2006-01-02 15:04:05", u)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: Last Updated %q: %w", name, line, u, err)
			}
			row.Updated = t
		}
		if m := citationJournalRe.FindStringSubmatch(row.Citation); m != nil {
			row.Journal = strings.TrimSpace(m[1])
		}
		if keep == nil || keep(&row) {
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// Filter selects rows before anything is downloaded.
type Filter struct {
	// Licences is the allow-list of licence families ("CC BY", "CC0", …;
	// versions ignored). Empty allows every licence.
	Licences []string
	// NonCommercial also allows the CC BY-NC family.
	NonCommercial bool
	PMCIDs        []string
	// Since keeps rows updated on or after it (zero = all).
	Since time.Time
	// Journals keeps rows whose citation journal matches one of these,
	// case-insensitively.
	Journals    []string
	MaxArticles int
}

// DefaultLicences are PMC's codes for licences that allow commercial reuse
// and ask no more than attribution. Share-alike (CC BY-SA) and public-domain
// articles stay out unless listed: share-alike would bind every derived
// shard, and PMC's "public domain" marks no licence terms it can vouch for.
var DefaultLicences = []string{"CC BY", "CC0"}

var nonCommercial = []string{"CC BY-NC", "CC BY-NC-SA", "CC BY-NC-ND"}

// Allows reports whether a licence code passes the licence allow-list.
func (f Filter) Allows(license string) bool {
	if len(f.Licences) == 0 {
		return true
	}
	fam := jats.LicenseFamily(license)
	for _, l := range f.Licences {
		if jats.LicenseFamily(l) == fam {
			return true
		}
	}
	if f.NonCommercial {
		for _, l := range nonCommercial {
			if l == fam {
				return true
			}
		}
	}
	return false
}

// Apply returns the rows that pass, one per PMCID (the latest update wins),
// in ascending numeric PMCID order, at most MaxArticles of them.
func (f Filter) Apply(rows []OARow) []OARow {
	ids := f.idSet()
	byID := map[string]OARow{}
	for _, r := range rows {
		if !f.keep(&r, ids) {
			continue
		}
		if old, ok := byID[r.PMCID]; ok && !r.Updated.After(old.Updated) {
			continue
		}
		byID[r.PMCID] = r
	}
	out := make([]OARow, 0, len(byID))
	for _, r := range byID {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return pmcLess(out[i].PMCID, out[j].PMCID) })
	if f.MaxArticles > 0 && len(out) > f.MaxArticles {
		out = out[:f.MaxArticles]
	}
	return out
}

func (f Filter) idSet() map[string]bool {
	ids := map[string]bool{}
	for _, id := range f.PMCIDs {
		id = strings.ToUpper(strings.TrimSpace(id))
		if !strings.HasPrefix(id, "PMC") {
			id = "PMC" + id
		}
		ids[id] = true
	}
	return ids
}

// keep applies the per-row filters (everything but dedupe and the cap).
func (f Filter) keep(r *OARow, ids map[string]bool) bool {
	if len(ids) > 0 && !ids[r.PMCID] {
		return false
	}
	if !f.Since.IsZero() && r.Updated.Before(f.Since) {
		return false
	}
	if len(f.Journals) > 0 && !f.matchJournal(r) {
		return false
	}
	// A row without a licence code is decided after parsing, from the
	// article's own <license>.
	if r.License != "" && !strings.EqualFold(r.License, "NO-CC CODE") && !f.Allows(r.License) {
		return false
	}
	return true
}

func (f Filter) matchJournal(r *OARow) bool {
	for _, j := range f.Journals {
		if strings.EqualFold(strings.TrimSpace(j), r.Journal) {
			return true
		}
	}
	return false
}

// pmcLess orders PMCIDs numerically (PMC99 before PMC100).
func pmcLess(a, b string) bool {
	na, ea := strconv.ParseUint(strings.TrimPrefix(a, "PMC"), 10, 64)
	nb, eb := strconv.ParseUint(strings.TrimPrefix(b, "PMC"), 10, 64)
	if ea == nil && eb == nil && na != nb {
		return na < nb
	}
	return a < b
}
