package normalize

import (
	"os"
	"path/filepath"
	"regexp"
)

// readPMCArticle reads one of the real PMC Open Access articles committed
// under ingest/pmc/jats/testdata (origin and licences in the README there).
func readPMCArticle(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "ingest", "pmc", "jats", "testdata", name+".nxml"))
}

var reTag = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return reTag.ReplaceAllString(s, " ") }
