package pmc

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/medmd/medmd/ingest"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		path, head string
		jats, pkg  bool
	}{
		{"a.nxml", "", true, false},
		{"a.xml", `<?xml version="1.0"?><!DOCTYPE article><article xmlns:xlink="x">`, true, false},
		{"a.xml", `<?xml version="1.0"?><html>`, false, false},
		{"PMC1.tar.gz", "\x1f\x8b\x08", false, true},
		{"scan.nii.gz", "\x1f\x8b\x08", false, false},
	}
	for _, tc := range tests {
		if got := sniffJATS(tc.path, []byte(tc.head)); got != tc.jats {
			t.Errorf("sniffJATS(%q) = %v", tc.path, got)
		}
		if got := sniffPackage(tc.path, []byte(tc.head)); got != tc.pkg {
			t.Errorf("sniffPackage(%q) = %v", tc.path, got)
		}
	}
}

// inspectJSON is the contract DESIGN.md gives for `medmd inspect --json`.
type inspectJSON struct {
	PMCID       string `json:"pmcid"`
	ArticleType string `json:"article_type"`
	License     string `json:"license"`
	BodyText    string `json:"body_text"`
	Figures     []struct {
		ID, Label, Caption, Graphic string
		Compound                    bool
		Panels                      []struct{ Label, Caption string }
		Mentions                    []struct {
			Offset   int
			Sentence string
		}
	} `json:"figures"`
}

func TestInspectJSON(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "PMC3460867.tar.gz")
	os.WriteFile(pkg, buildPackage(t, testArticles[0]), 0o644)
	for _, path := range []string{"jats/testdata/pone.0046493.nxml", pkg} {
		var buf bytes.Buffer
		inspect := inspectJATS
		if strings.HasSuffix(path, ".gz") {
			inspect = inspectPackage
		}
		if err := inspect(context.Background(), path, ingest.InspectOptions{JSON: true}, &buf); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
			t.Error("want one JSON object on one line")
		}
		var got inspectJSON
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.PMCID != "PMC3460867" || got.ArticleType != "research-article" || got.License != "CC BY" || len(got.Figures) != 4 {
			t.Fatalf("%s: %+v", path, got.PMCID)
		}
		body := []rune(got.BodyText)
		for _, f := range got.Figures {
			for _, m := range f.Mentions {
				if !strings.HasPrefix(string(body[m.Offset:]), m.Sentence) {
					t.Errorf("%s: mention offset %d does not start %q", f.ID, m.Offset, m.Sentence)
				}
			}
		}
		if f := got.Figures[2]; !f.Compound || len(f.Panels) != 4 || f.Panels[3].Label != "D" || f.Mentions[0].Offset != utf8.RuneCountInString(string(body[:f.Mentions[0].Offset])) {
			t.Errorf("figure 3: %+v", f.Panels)
		}
		if strings.HasSuffix(path, ".gz") && got.Figures[0].Graphic != "PMC3460867/pone.0046493.g001.jpg" {
			t.Errorf("graphic %q", got.Figures[0].Graphic)
		}
	}
}
