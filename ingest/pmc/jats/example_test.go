package jats_test

import (
	"fmt"

	"github.com/medmd/medmd/ingest/pmc/jats"
)

func ExampleParse() {
	src := `<article article-type="case-report"><front><article-meta>
<article-id pub-id-type="pmc">123</article-id>
<permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"/></permissions>
</article-meta></front><body><sec><title>Case presentation</title>
<p>A 60-year-old woman had chest pain [<xref ref-type="bibr" rid="b1">1</xref>]. CT showed a mass (<xref ref-type="fig" rid="f1">Fig. 1</xref>).</p></sec>
<fig id="f1"><label>Figure 1</label><caption><p>(A) Axial CT. (B) Coronal CT.</p></caption><graphic xlink:href="ct1"/></fig>
</body></article>`
	a, err := jats.Parse([]byte(src), jats.Options{Files: []string{"PMC123/ct1.tif", "PMC123/ct1.jpg"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(a.PMCID, a.License, a.CaseReport)
	fmt.Printf("%q\n", a.BodyText)
	f := a.Figures[0]
	fmt.Println(f.Label, f.Graphic, f.Compound, f.Panels)
	m := f.Mentions[0]
	fmt.Printf("%d %q %d %q\n", m.Offset, m.Sentence, m.RefOffset, m.RefText)
	// Output:
	// PMC123 CC BY 4.0 true
	// "Case presentation\n\nA 60-year-old woman had chest pain. CT showed a mass (Fig. 1)."
	// Figure 1 PMC123/ct1.jpg true [{A Axial CT.} {B Coronal CT.}]
	// 55 "CT showed a mass (Fig. 1)." 73 "Fig. 1"
}

func ExampleSplitPanels() {
	panels, compound := jats.SplitPanels("Brain MRI. (A) T1-weighted image. (B) FLAIR shows edema.")
	fmt.Println(compound, panels)
	// Output:
	// true [{A T1-weighted image.} {B FLAIR shows edema.}]
}
