package jats

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestNamespacedForms checks that the forms PMC serves one article in read
// identically: the .nxml of the OA packages (DOCTYPE, no namespace), the
// OAI-PMH / eFetch form (JATS 1.3 default namespace,
// https://jats.nlm.nih.gov/ns/archiving/1.3/, inside a <pmc-articleset>
// wrapper), and a prefixed-namespace form.
func TestNamespacedForms(t *testing.T) {
	doctype := regexp.MustCompile(`(?s)^(<\?xml[^>]*\?>\s*)?<!DOCTYPE[^>]*>\s*`)
	open := regexp.MustCompile(`<article(\s|>)`)
	for _, name := range []string{"pone.0046493.nxml", "1471-2180-11-174.nxml", "pone.0000217.nxml"} {
		src, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		plain := string(src)
		bare := doctype.ReplaceAllString(plain, "")
		forms := map[string]string{
			"default namespace": open.ReplaceAllString(bare, `<article xmlns="https://jats.nlm.nih.gov/ns/archiving/1.3/"$1`),
			"pmc-articleset": `<?xml version="1.0" encoding="UTF-8"?>` + "\n<pmc-articleset>" +
				open.ReplaceAllString(bare, `<article xmlns="https://jats.nlm.nih.gov/ns/archiving/1.4/"$1`) + "</pmc-articleset>\n",
		}
		files := []string{"x.jpg"}
		want, err := ParseString(plain, Options{Files: files})
		if err != nil {
			t.Fatal(err)
		}
		if want.Title == "" || len(want.Figures) == 0 {
			t.Fatalf("%s: plain form parsed without title or figures", name)
		}
		for form, s := range forms {
			got, err := ParseString(s, Options{Files: files})
			if err != nil {
				t.Errorf("%s %s: %v", name, form, err)
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: differs from the .nxml form: title %q vs %q, %d vs %d figures, body %d vs %d bytes",
					name, form, got.Title, want.Title, len(got.Figures), len(want.Figures), len(got.BodyText), len(want.BodyText))
			}
			if strings.Contains(got.BodyText, "pmc-articleset") {
				t.Errorf("%s %s: wrapper leaked into the text", name, form)
			}
		}
	}
}
