package jats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// runeSlice returns r[from:to] as a string, failing on bad bounds.
func runeSlice(t *testing.T, r []rune, from, to int) string {
	t.Helper()
	if from < 0 || to > len(r) || from > to {
		t.Fatalf("span [%d,%d) outside text of %d code points", from, to, len(r))
	}
	return string(r[from:to])
}

// checkInvariants asserts what every parse must satisfy, whatever the input.
func checkInvariants(t *testing.T, a *Article) {
	t.Helper()
	body := []rune(a.BodyText)
	n := len(body)
	for _, f := range a.Figures {
		for _, m := range f.Mentions {
			got := runeSlice(t, body, m.Offset, m.Offset+utf8.RuneCountInString(m.Sentence))
			if got != m.Sentence {
				t.Errorf("fig %s: body_text[%d:] = %q, want sentence %q", f.ID, m.Offset, got, m.Sentence)
			}
			if m.RefOffset < m.Offset || m.RefOffset > m.Offset+utf8.RuneCountInString(m.Sentence) {
				t.Errorf("fig %s: ref offset %d outside its sentence at %d", f.ID, m.RefOffset, m.Offset)
			}
			if m.RefText != "" {
				got := runeSlice(t, body, m.RefOffset, min(n, m.RefOffset+utf8.RuneCountInString(m.RefText)))
				if got != m.RefText {
					t.Errorf("fig %s: body_text[%d:] = %q, want ref %q", f.ID, m.RefOffset, got, m.RefText)
				}
			}
		}
	}
	for _, s := range a.Sections {
		if s.Offset > s.End || s.End > n {
			t.Errorf("section %q span [%d,%d) outside body of %d", s.Title, s.Offset, s.End, n)
		}
	}
	prevEnd := 0
	for _, p := range a.Paragraphs {
		if p.Start < prevEnd || p.End > n {
			t.Errorf("paragraph span %v out of order or range", p)
		}
		prevEnd = p.End
	}
	for _, s := range a.Sentences {
		if s.Start >= s.End || s.End > n {
			t.Errorf("sentence span %v invalid", s)
		}
	}
}

func TestRealArticles(t *testing.T) {
	type fig struct {
		label    string
		graphic  string
		mentions int
		compound bool
		panels   string // labels joined
	}
	tests := []struct {
		file, pmcid, pmid, license, journal string
		year                                int
		figs                                []fig
		caseReport                          bool
		bodyHas, bodyLacks                  []string
	}{
		{file: "pone.0046493.nxml", pmcid: "PMC3460867", pmid: "23029536", license: "CC BY", journal: "PLoS ONE", year: 2012,
			figs: []fig{
				{"Figure 1", "pone.0046493.g001.jpg", 2, true, "AB"},
				{"Figure 2", "pone.0046493.g002.jpg", 3, true, "AB"},
				{"Figure 3", "pone.0046493.g003.jpg", 4, true, "ABCD"},
				{"Figure 4", "pone.0046493.g004.jpg", 1, false, ""},
			},
			bodyHas:   []string{"Introduction\n\nAccording to the World Health Organization", "(Figure 3A–C)."},
			bodyLacks: []string{"[25]", "[26]", "Chemical structures of", "Molecular Weight (MW), 2"}},
		{file: "pone.0000217.nxml", pmcid: "PMC1790863", pmid: "17299597", license: "CC BY", journal: "PLoS ONE", year: 2007,
			figs: []fig{
				{"Figure 1", "pone.0000217.g001.jpg", 2, false, ""},
				{"Figure 2", "pone.0000217.g002.jpg", 1, false, ""},
				{"Figure 3", "pone.0000217.g003.jpg", 2, false, ""},
			}},
		{file: "pntd.0002065.nxml", pmcid: "PMC3585041", pmid: "23469300", license: "CC BY", journal: "PLoS Neglected Tropical Diseases", year: 2013,
			figs: []fig{{"Figure 1", "pntd.0002065.g001.jpg", 1, false, ""}}},
		{file: "1471-2180-11-174.nxml", pmcid: "PMC3166277", pmid: "21810267", license: "CC BY 2.0", journal: "BMC Microbiology", year: 2011,
			figs: []fig{
				{"Figure 1", "1471-2180-11-174-1.jpg", 4, false, ""},
				{"Figure 2", "1471-2180-11-174-2.jpg", 2, true, "AB"},
				{"Figure 3", "1471-2180-11-174-3.jpg", 8, true, "ABCD"},
				{"Figure 4", "1471-2180-11-174-4.jpg", 4, true, "AB"},
			},
			bodyHas:   []string{"increases (Figure 1)."},
			bodyLacks: []string{"[40]", "[28,39]", " ."}},
		{file: "ehp-116-1694.nxml", pmcid: "PMC2599765", pmid: "19079722", license: "CC PDM 1.0", journal: "Environmental Health Perspectives", year: 2008,
			figs: []fig{
				{"Figure 1", "ehp-116-1694f1.jpg", 2, true, "AB"},
				{"Figure 2", "ehp-116-1694f2.jpg", 1, true, "AB"},
				{"Figure 3", "ehp-116-1694f3.jpg", 3, true, "ABC"},
			}},
		{file: "mds526.nxml", pmcid: "PMC3574550", pmid: "23149571", license: "CC BY-NC 3.0", journal: "Annals of Oncology", year: 2012,
			figs: []fig{
				{"Figure 1", "mds52601.jpg", 1, false, ""},
				{"Figure 2", "mds52602.jpg", 1, false, ""},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// The package listing PMC would ship: .jpg and .tif per figure.
			var files []string
			for _, f := range tc.figs {
				stem := strings.TrimSuffix(f.graphic, ".jpg")
				files = append(files, "PMCX/"+stem+".tif", "PMCX/"+f.graphic)
			}
			a, err := Parse(data, Options{Files: files})
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, a)
			if a.PMCID != tc.pmcid || a.PMID != tc.pmid || a.License != tc.license || a.Journal != tc.journal || a.Year != tc.year {
				t.Errorf("meta = %s %s %q %q %d, want %s %s %q %q %d", a.PMCID, a.PMID, a.License, a.Journal, a.Year,
					tc.pmcid, tc.pmid, tc.license, tc.journal, tc.year)
			}
			if a.ArticleType != "research-article" || a.Title == "" || a.DOI == "" || len(a.Subjects) == 0 {
				t.Errorf("type %q title %q doi %q subjects %v", a.ArticleType, a.Title, a.DOI, a.Subjects)
			}
			if a.CaseReport != tc.caseReport {
				t.Errorf("case report = %v", a.CaseReport)
			}
			if len(a.Figures) != len(tc.figs) {
				t.Fatalf("%d figures, want %d", len(a.Figures), len(tc.figs))
			}
			for i, want := range tc.figs {
				f := a.Figures[i]
				var pl string
				for _, p := range f.Panels {
					pl += p.Label
					if p.Caption == "" {
						t.Errorf("%s panel %s: empty caption", f.Label, p.Label)
					}
				}
				if f.Label != want.label || f.Graphic != "PMCX/"+want.graphic || len(f.Mentions) != want.mentions ||
					f.Compound != want.compound || pl != want.panels {
					t.Errorf("figure %d = {%q %q mentions=%d compound=%v panels=%q}, want %+v",
						i, f.Label, f.Graphic, len(f.Mentions), f.Compound, pl, want)
				}
				if f.Caption == "" || strings.Contains(f.Caption, "\uE000") || strings.Contains(f.Caption, "\uE001") {
					t.Errorf("figure %d caption %q", i, f.Caption)
				}
			}
			for _, s := range tc.bodyHas {
				if !strings.Contains(a.BodyText, s) {
					t.Errorf("body lacks %q", s)
				}
			}
			for _, s := range tc.bodyLacks {
				if strings.Contains(a.BodyText, s) {
					t.Errorf("body has %q", s)
				}
			}
			if strings.ContainsAny(a.BodyText, "\uE000\uE001") || strings.Contains(a.BodyText, "</") || strings.Contains(a.BodyText, "<xref") {
				t.Errorf("markup or markers left in body text")
			}
		})
	}
}

func TestMentionOffsetsRealArticle(t *testing.T) {
	data, err := os.ReadFile("testdata/pone.0046493.nxml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Figures[3].Mentions[0]
	want := "As shown in Figure 4, MmPPOX was also found to inhibit the growth of M. tuberculosis and M. bovis BCG"
	body := []rune(a.BodyText)
	if !strings.HasPrefix(string(body[m.Offset:]), want) || m.RefText != "Figure 4" || !strings.HasPrefix(string(body[m.RefOffset:]), "Figure 4, MmPPOX") {
		t.Errorf("mention = %+v", m)
	}
}

func BenchmarkParse(b *testing.B) {
	paths, _ := filepath.Glob("testdata/*.nxml")
	var docs [][]byte
	var total int64
	for _, p := range paths {
		d, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
		total += int64(len(d))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			if _, err := Parse(d, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(docs))/b.Elapsed().Seconds(), "articles/s")
}
