// Package testtree walks a folder of test files for the loopback object
// stores (s3test, gcstest), which upload a tree the way a user's sync
// tool would.
package testtree

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Each calls put with the slash-separated path relative to dir and the
// bytes of every regular file under dir, in lexical order.
func Each(t testing.TB, dir string, put func(rel string, data []byte)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		put(filepath.ToSlash(rel), data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
