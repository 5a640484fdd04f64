package jats

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const edgeArticle = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.2 20190208//EN" "JATS-archivearticle1.dtd" [
  <!ENTITY custom "x">
]>
<j:article xmlns:j="http://jats.nlm.nih.gov" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:ali="http://www.niso.org/schemas/ali/1.0/" article-type="case-report">
<front><journal-meta><journal-id journal-id-type="nlm-ta">Radiol Case Rep</journal-id></journal-meta>
<article-meta><article-id pub-id-type="pmc">PMC1234567</article-id><article-id pub-id-type="pmid">99</article-id>
<title-group><article-title>Cystic mass of the <italic>liver</italic>: a case report</article-title></title-group>
<contrib-group><contrib><name><surname>Doe</surname></name></contrib></contrib-group>
<pub-date pub-type="ppub"><year>2019</year></pub-date><pub-date pub-type="epub"><year>2018</year></pub-date>
<permissions><license><ali:license_ref>https://creativecommons.org/licenses/by/4.0/</ali:license_ref><license-p>Open.</license-p></license></permissions>
</article-meta></front>
<body>
<sec><title>Introduction</title><p>Hydatid cysts are rare &amp; &#x3b2;-glucan helps &lt;sometimes&gt; [<xref ref-type="bibr" rid="b1">1</xref>&#x2013;<xref ref-type="bibr" rid="b3">3</xref>].</p></sec>
<sec><title>Case presentation</title>
 <sec><title>History</title><p>A 45-year-old woman — café owner — presented with pain (<xref ref-type="fig" rid="f1">Fig. 1a</xref>). The CT <inline-formula><mml:math><mml:mi>x</mml:mi></mml:math></inline-formula>showed a cyst. See <xref rid="f2">Figure 2</xref> and <xref ref-type="fig" rid="g1">Figure 3</xref>.</p>
 <table-wrap id="t1"><label>Table 1</label><table><tr><td>TABLECELL</td></tr></table></table-wrap>
 <fig-group id="g1"><caption><p>Group caption: (A) first part. (B) second part.</p></caption>
   <fig id="f3a"><graphic xlink:href="img3a"/></fig>
   <fig id="f3b"><label>Figure 3B</label><graphic xlink:href="img3b.tif"/></fig>
 </fig-group>
 <p>Follow-up<list><list-item><p>item one (<xref ref-type="fig" rid="f1">Figure 1b</xref>)</p></list-item></list>after.</p>
 <disp-formula><tex-math>E=mc^2</tex-math></disp-formula>
 </sec></sec>
<sec><title>Discussion</title><p>Dr. Smith et al. reported 3.5 cm cysts. <![CDATA[Raw <text>]]> ends here.</p></sec>
<fig id="f1"><label>Figure 1</label><caption><title>Abdominal CT</title><p>a) axial view; b) coronal view.</p></caption><graphic xlink:href="img1"/></fig>
<graphic id="f2" xlink:href="standalone.png"/>
</body>
<back><ref-list><ref id="b1"><mixed-citation>REFERENCE TEXT</mixed-citation></ref></ref-list></back>
<sub-article article-type="reply"><body><p>Reply text.</p><fig id="rf1"><graphic xlink:href="reply1"/></fig></body></sub-article>
</j:article>`

func TestEdgeCases(t *testing.T) {
	a, err := ParseString(edgeArticle, Options{Files: []string{"p/img1.jpg", "p/img3a.gif", "p/img3b.jpg", "p/standalone.png", "p/x.nxml"}})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, a)
	if a.PMCID != "PMC1234567" || a.License != "CC BY 4.0" || a.Year != 2018 || a.Journal != "Radiol Case Rep" ||
		a.Title != "Cystic mass of the liver: a case report" || !a.CaseReport {
		t.Errorf("meta: %+v", a)
	}
	for _, bad := range []string{"TABLECELL", "E=mc", "REFERENCE", "Doe", "[", "1–3", "Reply text"} {
		if strings.Contains(a.BodyText, bad) {
			t.Errorf("body text holds %q:\n%s", bad, a.BodyText)
		}
	}
	for _, good := range []string{
		"Hydatid cysts are rare & β-glucan helps <sometimes>.",
		"A 45-year-old woman — café owner — presented with pain (Fig. 1a).",
		"Raw <text> ends here.",
		"Follow-up\n\nitem one (Figure 1b)\n\nafter.",
	} {
		if !strings.Contains(a.BodyText, good) {
			t.Errorf("body text lacks %q:\n%s", good, a.BodyText)
		}
	}
	var ids, labels, graphics []string
	for _, f := range a.Figures {
		ids = append(ids, f.ID)
		labels = append(labels, f.Label)
		graphics = append(graphics, f.Graphic)
	}
	if want := []string{"f3a", "f3b", "f1", "f2"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("figure ids %v, want %v", ids, want)
	}
	if want := []string{"", "Figure 3B", "Figure 1", ""}; !reflect.DeepEqual(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	if want := []string{"p/img3a.gif", "p/img3b.jpg", "p/img1.jpg", "p/standalone.png"}; !reflect.DeepEqual(graphics, want) {
		t.Errorf("graphics %v, want %v", graphics, want)
	}
	f3a := a.Figures[0]
	if f3a.GroupID != "g1" || !f3a.Compound || len(f3a.Panels) != 2 || f3a.Panels[1].Caption != "second part." {
		t.Errorf("fig-group member: %+v", f3a)
	}
	f1 := a.Figures[2]
	if len(f1.Mentions) != 2 || f1.Mentions[0].RefText != "Fig. 1a" || f1.Mentions[1].Sentence != "item one (Figure 1b)" {
		t.Errorf("fig 1 mentions: %+v", f1.Mentions)
	}
	if !f1.Compound || f1.Panels[0] != (Panel{"a", "axial view"}) || f1.Panels[1] != (Panel{"b", "coronal view."}) {
		t.Errorf("fig 1 panels: %+v", f1.Panels)
	}
	// An untyped xref to a standalone graphic is still a mention; the
	// fig-group's id reaches every member.
	if len(a.Figures[3].Mentions) != 1 || len(a.Figures[0].Mentions) != 1 || len(a.Figures[1].Mentions) != 1 {
		t.Errorf("mentions: f2 %d, f3a %d, f3b %d", len(a.Figures[3].Mentions), len(a.Figures[0].Mentions), len(a.Figures[1].Mentions))
	}
	if !strings.HasPrefix(a.CaseText, "Case presentation\n\nHistory\n\nA 45-year-old woman") || strings.Contains(a.CaseText, "Discussion") {
		t.Errorf("case text %q", a.CaseText)
	}
	var titles []string
	for _, s := range a.Sections {
		titles = append(titles, s.Title)
	}
	if want := []string{"Introduction", "Case presentation", "History", "Discussion"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("sections %v", titles)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, src string
		wantErr   bool
		figs      int
	}{
		{"empty", "", true, 0},
		{"not xml", "hello <world", true, 0},
		{"unclosed", `<article><body><p>text (<xref ref-type="fig" rid="f1">Fig 1</xref>`, false, 0},
		{"stray end tags", `<article></p></sec><body><p>a</b></p><fig id="f"><graphic xlink:href="g"/></fig></body></article>`, false, 1},
		{"bad entities", `<article><body><p>&bogus; &#xZZ; &#0; & alone</p></body></article>`, false, 0},
		{"unquoted attrs", `<article article-type=case-report><body><fig id=f1><graphic href=x></fig></body></article>`, false, 1},
		{"truncated tag", `<article><body><fig id="f1`, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseString(tc.src, Options{})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			checkInvariants(t, a)
			if len(a.Figures) != tc.figs {
				t.Errorf("%d figures, want %d", len(a.Figures), tc.figs)
			}
		})
	}
}

func TestSplitPanels(t *testing.T) {
	tests := []struct {
		caption string
		want    []Panel
	}{
		{"CT of the chest. (A) Axial image shows a mass. (B) Coronal image.", []Panel{{"A", "Axial image shows a mass."}, {"B", "Coronal image."}}},
		{"(a) T1; (b) T2; (c–d) DWI.", []Panel{{"a", "T1"}, {"b", "T2"}, {"c", "DWI."}, {"d", "DWI."}}},
		{"Chemical structures of A, THL and B, MmPPOX.", []Panel{{"A", "THL"}, {"B", "MmPPOX."}}},
		{"A. Sagittal MRI. B. Axial MRI.", []Panel{{"A", "Sagittal MRI."}, {"B", "Axial MRI."}}},
		{"Levels in males (A), and females (B).", []Panel{{"A", "Levels in males"}, {"B", "females"}}},
		{"a) before b) after treatment", []Panel{{"a", "before"}, {"b", "after treatment"}}},
		{"Left: pre-contrast. Right: post-contrast.", []Panel{{"Left", "pre-contrast."}, {"Right", "post-contrast."}}},
		{"(A, B) Axial CT. (C) MRI.", []Panel{{"A", "Axial CT."}, {"B", "Axial CT."}, {"C", "MRI."}}},
		{"MRI. (a to c) T1 images; (d) T2 image.", []Panel{{"a", "T1 images"}, {"b", "T1 images"}, {"c", "T1 images"}, {"d", "T2 image."}}},
		{"Chest film before (left) and after (right) drainage.", []Panel{{"Left", "Chest film before"}, {"Right", "after"}}},
		{"Top panel: axial. Bottom panel: coronal.", []Panel{{"Top", "axial."}, {"Bottom", "coronal."}}},
		{"(A549 cells) and (B16 cells)", nil},
		// Not compound: a single label, a skipped letter, a list of letters.
		{"Vitamin A levels (A).", nil},
		{"Panels (A) and (C) only.", nil},
		{"Types A, B and C are shown.", nil},
		{"Hepatitis B. Liver biopsy.", nil},
		{"", nil},
	}
	for _, tc := range tests {
		got, compound := SplitPanels(tc.caption)
		if compound != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitPanels(%q) = %+v, %v; want %+v", tc.caption, got, compound, tc.want)
		}
	}
}

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"One. Two! Three?", []string{"One.", "Two!", "Three?"}},
		{"See Fig. 2 and Smith et al. 2001. Next one.", []string{"See Fig. 2 and Smith et al. 2001.", "Next one."}},
		{"Value was 3.5 mm (e.g. large). Then J. Doe came.", []string{"Value was 3.5 mm (e.g. large).", "Then J. Doe came."}},
		{"He said \"stop.\" Then (A) moved.", []string{"He said \"stop.\"", "Then (A) moved."}},
		{"Über β. Ça va.", []string{"Über β.", "Ça va."}},
		{"no terminal punctuation", []string{"no terminal punctuation"}},
	}
	for _, tc := range tests {
		var got []string
		for _, s := range SplitSentences(tc.in) {
			got = append(got, string([]rune(tc.in)[s.Start:s.End]))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitSentences(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeLicense(t *testing.T) {
	tests := []struct{ url, typ, text, want string }{
		{"http://creativecommons.org/licenses/by/2.0", "", "", "CC BY 2.0"},
		{"https://creativecommons.org/licenses/by-nc-nd/4.0/", "", "", "CC BY-NC-ND 4.0"},
		{"http://creativecommons.org/publicdomain/zero/1.0/", "", "", "CC0"},
		{"http://creativecommons.org/publicdomain/mark/1.0/", "public-domain", "", "CC PDM 1.0"},
		{"", "public-domain", "in the public domain", "public domain"},
		{"", "", "distributed under the terms of the Creative Commons Attribution License", "CC BY"},
		{"", "", "Creative Commons Attribution-NonCommercial License", "CC BY-NC"},
		{"", "open-access", "All rights reserved.", ""},
		{"https://creativecommons.org/licenses/by/4.0/legalcode", "", "", "CC BY 4.0"},
		{"https://creativecommons.org/licenses/by/3.0/deed.en_US", "", "", "CC BY 3.0"},
		{"http://creativecommons.org/licenses/by/3.0/us/", "", "", "CC BY 3.0 US"},
		{"https://creativecommons.org/licenses/by-nc-nd/3.0/igo/", "", "", "CC BY-NC-ND 3.0 IGO"},
	}
	for _, tc := range tests {
		if got := NormalizeLicense(tc.url, tc.typ, tc.text); got != tc.want {
			t.Errorf("NormalizeLicense(%q,%q,%q) = %q, want %q", tc.url, tc.typ, tc.text, got, tc.want)
		}
	}
	if LicenseFamily("CC BY-NC 3.0") != "CC BY-NC" || LicenseFamily("cc0") != "CC0" || LicenseFamily("CC BY 3.0 US") != "CC BY" ||
		LicenseFamily("CC PDM 1.0") != "PUBLIC DOMAIN" || LicenseFamily("public domain") != "PUBLIC DOMAIN" {
		t.Error("LicenseFamily")
	}
}

func TestResolveGraphic(t *testing.T) {
	files := []string{"PMC1/a.g001.tif", "PMC1/a.g001.jpg", "PMC1/b.GIF", "PMC1/c.png", "PMC1/d.tif"}
	tests := []struct{ href, want string }{
		{"a.g001", "PMC1/a.g001.jpg"},
		{"b", "PMC1/b.GIF"},
		{"c.png", "PMC1/c.png"},
		{"c.tif", "PMC1/c.png"},
		{"d", "PMC1/d.tif"},
		{"missing", "missing"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := ResolveGraphic(tc.href, files); got != tc.want {
			t.Errorf("ResolveGraphic(%q) = %q, want %q", tc.href, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(edgeArticle)
	paths, _ := filepath.Glob("testdata/*.nxml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(string(data[:min(len(data), 20000)]))
		}
	}
	crashers, _ := filepath.Glob("testdata/fuzz/*.nxml")
	for _, p := range crashers {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		a, err := ParseString(src, Options{Files: []string{"x.jpg"}})
		if err != nil {
			return
		}
		checkInvariants(t, a)
		for _, fig := range a.Figures {
			SplitPanels(fig.Caption)
		}
	})
}

func TestQuestionAnswer(t *testing.T) {
	tests := []struct {
		name, body string
		want       []QA
	}{
		{"question-wrap", `<question-wrap id="q1"><question><p>What is the most likely diagnosis?</p>
			<option correct="no"><p>A. Abscess</p></option><option correct="yes"><p>B. Hydatid cyst</p></option></question>
			<answer><p>Hydatid cyst, given the daughter cysts.</p></answer></question-wrap>`,
			[]QA{{"What is the most likely diagnosis?\nA. Abscess\nB. Hydatid cyst", "Hydatid cyst, given the daughter cysts."}}},
		{"options only", `<question-wrap><question><p>Which sign?</p><option><p>Halo</p></option><option correct="yes"><p>Target</p></option></question></question-wrap>`,
			[]QA{{"Which sign?\nHalo\nTarget", "Target"}}},
		{"sections", `<sec><title>Case</title><p>A man.</p></sec><sec><title>Question</title><p>What do the images show?</p></sec>
			<sec><title>Answer</title><p>Situs inversus.</p></sec>`,
			[]QA{{"What do the images show?", "Situs inversus."}}},
		{"none", `<sec><title>Answer</title><p>Orphan.</p></sec>`, nil},
	}
	for _, tc := range tests {
		a, err := ParseString(`<article article-type="case-report"><body>`+tc.body+`</body></article>`, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.QA, tc.want) {
			t.Errorf("%s: QA = %q, want %q", tc.name, a.QA, tc.want)
		}
	}
}
