package pmc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/pmc/jats"
)

func init() {
	ingest.RegisterInspector(ingest.Inspector{Name: "jats", Sniff: sniffJATS, Inspect: inspectJATS})
	ingest.RegisterInspector(ingest.Inspector{Name: "pmc-package", Sniff: sniffPackage, Inspect: inspectPackage})
}

// sniffJATS accepts .nxml files and XML whose first bytes hold an <article
// element (or a PMC article set).
func sniffJATS(path string, head []byte) bool {
	l := strings.ToLower(path)
	if strings.HasSuffix(l, ".nxml") {
		return true
	}
	h := bytes.TrimLeft(head, "\xef\xbb\xbf \t\r\n")
	return bytes.HasPrefix(h, []byte("<")) && (bytes.Contains(head, []byte("<article")) || bytes.Contains(head, []byte("<pmc-articleset")) || bytes.Contains(head, []byte(":article ")))
}

// sniffPackage accepts gzip files named .tar.gz or .tgz (PMC packages).
func sniffPackage(path string, head []byte) bool {
	l := strings.ToLower(path)
	return len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b && (strings.HasSuffix(l, ".tar.gz") || strings.HasSuffix(l, ".tgz"))
}

func inspectJATS(ctx context.Context, path string, o ingest.InspectOptions, w ingest.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Resolve graphics against the files beside the article, as in a
	// package folder.
	var files []string
	if ents, err := os.ReadDir(filepath.Dir(path)); err == nil {
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, e.Name())
			}
		}
	}
	a, err := jats.Parse(data, jats.Options{Files: files})
	if err != nil {
		return err
	}
	return printArticle(w, a, nil, o.JSON)
}

func inspectPackage(ctx context.Context, path string, o ingest.InspectOptions, w ingest.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pkg, err := ReadPackage(f, path, DefaultLimits, true)
	if err != nil {
		return err
	}
	xml, err := pkg.Article()
	if err != nil {
		return err
	}
	a, err := jats.Parse(xml, jats.Options{Files: pkg.Names})
	if err != nil {
		return fmt.Errorf("%s: %w", pkg.NXML, err)
	}
	return printArticle(w, a, pkg, o.JSON)
}

// inspectOutput is the JSON `medmd inspect` prints: the parsed article and,
// for a package, its members and refusals.
type inspectOutput struct {
	*jats.Article
	Package *packageInfo `json:"package,omitempty"`
}

type packageInfo struct {
	Article string    `json:"article"`
	Members []string  `json:"members"`
	Refused []Refusal `json:"refused"`
}

func printArticle(w ingest.Writer, a *jats.Article, pkg *Package, asJSON bool) error {
	out := inspectOutput{Article: a}
	if pkg != nil {
		out.Package = &packageInfo{Article: pkg.NXML, Members: pkg.Names, Refused: pkg.Refused}
		if out.Package.Refused == nil {
			out.Package.Refused = []Refusal{}
		}
	}
	if asJSON {
		return ingest.WriteJSONLine(w, out)
	}
	var sb strings.Builder
	orDash := func(s string) string { // an absent identifier reads "-", not a gap
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(&sb, "%s  PMID %s  doi:%s\n%s\n%s %d · %s · licence %q\n", orDash(a.PMCID), orDash(a.PMID), orDash(a.DOI), a.Title, a.Journal, a.Year, a.ArticleType, a.License)
	fmt.Fprintf(&sb, "body: %d sections, %d paragraphs, %d sentences, %d characters\n", len(a.Sections), len(a.Paragraphs), len(a.Sentences), len([]rune(a.BodyText)))
	if a.CaseReport {
		fmt.Fprintf(&sb, "case report: %d characters of case text\n", len([]rune(a.CaseText)))
	}
	for _, f := range a.Figures {
		fmt.Fprintf(&sb, "figure %s %q → %s, %d mentions", f.ID, f.Label, f.Graphic, len(f.Mentions))
		if f.Compound {
			var ls []string
			for _, p := range f.Panels {
				ls = append(ls, p.Label)
			}
			fmt.Fprintf(&sb, ", panels %s", strings.Join(ls, ","))
		}
		cap := f.Caption
		if r := []rune(cap); len(r) > 100 {
			cap = string(r[:100]) + "…"
		}
		fmt.Fprintf(&sb, "\n    %s\n", cap)
	}
	if pkg != nil {
		fmt.Fprintf(&sb, "package: %d members, article %s\n", len(pkg.Names), pkg.NXML)
		for _, r := range pkg.Refused {
			fmt.Fprintf(&sb, "refused %s: %s\n", r.Member, r.Reason)
		}
	}
	_, err := w.Write([]byte(sb.String()))
	return err
}
