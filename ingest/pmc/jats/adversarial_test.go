package jats

import (
	"strings"
	"testing"
)

// TestAdversarialInputsStayLinear feeds inputs shaped to trigger quadratic
// paths (deep nesting, huge paragraphs full of references and sentence
// ends, long captions full of labels). No timing is asserted: a quadratic
// path on these sizes runs for many minutes and trips the test timeout.
func TestAdversarialInputsStayLinear(t *testing.T) {
	fig := `<fig id="f1"><caption><p>` + strings.Repeat("(A) x. (B) y; a) z ", 5000) + `</p></caption><graphic xlink:href="g"/></fig>`
	inputs := map[string]string{
		"deep":     "<article><body>" + strings.Repeat("<sec><p>", 100000) + "x",
		"mentions": "<article><body><p>" + strings.Repeat(`See <xref ref-type="fig" rid="f1">Fig. 1</xref>. `, 20000) + "</p>" + fig + "</body></article>",
		"periods":  "<article><body><p>" + strings.Repeat("a.A ", 100000) + strings.Repeat("x", 100000) + "</p></body></article>",
		"cites":    "<article><body><p>" + strings.Repeat(`x [<xref ref-type="bibr" rid="b">1</xref>,<xref ref-type="bibr" rid="b">2</xref>] `, 20000) + "</p></body></article>",
		"attrs":    "<article " + strings.Repeat(`a="b" `, 100000) + "><body/></article>",
	}
	for name, src := range inputs {
		a, err := ParseString(src, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkInvariants(t, a)
		if name == "mentions" && len(a.Figures[0].Mentions) != 20000 {
			t.Errorf("mentions: %d", len(a.Figures[0].Mentions))
		}
	}
}
