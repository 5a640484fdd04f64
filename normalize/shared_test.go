package normalize

import (
	"os"
	"path/filepath"
	"regexp"
)

// readShared reads a file from the project's shared test data
// (../shared/data relative to the repository root).
func readShared(rel string) ([]byte, error) {
	for _, root := range []string{"../../shared/data", "../../../shared/data"} {
		if b, err := os.ReadFile(filepath.Join(root, rel)); err == nil {
			return b, nil
		}
	}
	return nil, os.ErrNotExist
}

var reTag = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return reTag.ReplaceAllString(s, " ") }
