package datasets_test

import (
	"fmt"

	"github.com/medmd/medmd/ingest/datasets"
)

func ExampleParseReport() {
	r := datasets.ParseReport(` FINAL REPORT
 INDICATION:  Cough.
 FINDINGS:
 Lungs are clear.  No pleural
 effusion.
 IMPRESSION:  No acute process.
`)
	fmt.Printf("%q\n%q\n%q\n", r.Indication, r.Findings, r.Impression)
	// Output:
	// "Cough."
	// "Lungs are clear. No pleural effusion."
	// "No acute process."
}

func ExampleTemplates_Pick() {
	t, err := datasets.DefaultTemplates()
	if err != nil {
		panic(err)
	}
	id, text, _ := t.Pick("diagnosis_yesno", "chestxray14-0123456789abcdef0123", "", map[string]string{"label": "cardiomegaly"})
	id2, text2, _ := t.Pick("diagnosis_yesno", "chestxray14-0123456789abcdef0123", "", map[string]string{"label": "cardiomegaly"})
	fmt.Println(id == id2, text == text2)
	// Output: true true
}
