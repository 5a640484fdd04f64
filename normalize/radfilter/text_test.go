package radfilter

import (
	"strings"
	"testing"
)

func TestEnglishCheck(t *testing.T) {
	for _, tc := range []struct {
		text    string
		english bool
	}{
		{"Axial CT shows a hypodense lesion in the right lobe of the liver.", true},
		{"No acute intracranial abnormality.", true}, // short: stopword test not applied
		{"Sagittal T2 image, L4-L5 disc herniation, severe canal stenosis, nerve root compression", true},
		{"Contrast-enhanced CT: hypodense liver lesion with rim enhancement.", true},
		{"Le scanner montre une masse hépatique avec une nécrose centrale.", false},
		{"A TC mostra uma massa hepática com necrose central e realce periférico.", false},
		{"La TC mostra una massa epatica con necrosi centrale.", false},
		{"Die CT zeigt eine Raumforderung in der Leber.", false},
		{"Die Computertomographie zeigt eine große Raumforderung in der Leber mit zentraler Nekrose.", false},
		{"La tomografía computarizada muestra una masa hepática de gran tamaño con necrosis central.", false},
		{"胸部CT显示右肺下叶有一个结节，边缘不规则。", false},
		{"Рентгенограмма грудной клетки: инфильтрат в нижней доле правого легкого.", false},
		{"Chest radiograph demonstrating bilateral infiltrates, more pronounced on the left, with small effusions.", true},
	} {
		why := EnglishCheck(tc.text, 0.9, 6)
		if (why == "") != tc.english {
			t.Errorf("EnglishCheck(%q) = %q, want english=%v", tc.text, why, tc.english)
		}
	}
}

func TestBoilerplate(t *testing.T) {
	res, err := compileBoilerplate(DefaultRules().Text.Boilerplate)
	if err != nil {
		t.Fatal(err)
	}
	match := func(s string) bool {
		for _, re := range res {
			if re.MatchString(strings.TrimSpace(s)) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"Figure 3.", true}, {"Fig. 2a", true}, {"Image", true}, {"See text for details.", true},
		{"Supplementary Figure S1. Additional cases.", true}, {"Graphical abstract", true}, {"N/A", true},
		{"Figure 3 shows an axial CT of the abdomen.", false},
		{"Image of the chest showing a pneumothorax.", false},
	} {
		if got := match(tc.text); got != tc.want {
			t.Errorf("boilerplate(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestEnglishCheckOnRealCaptions: every caption of the evaluation sets
// (real PMC captions and written ones, all English) passes.
func TestEnglishCheckOnRealCaptions(t *testing.T) {
	r := DefaultRules().Text
	for _, file := range []string{"testdata/captions.jsonl", "testdata/captions_holdout.jsonl"} {
		for _, l := range readCaptions(t, file) {
			if why := EnglishCheck(l.Text, r.EnglishMinLatin, r.EnglishMinWords); why != "" {
				t.Errorf("%s: %q judged not English: %s", l.Origin, l.Text, why)
			}
		}
	}
}
