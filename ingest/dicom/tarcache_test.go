package dicom

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestTarCache: each archive is filled once while it stays cached; the
// least recently used archive not in use goes first, an archive in use
// stays (its file too) until released; a failed fill is not kept; Close
// removes everything.
func TestTarCache(t *testing.T) {
	ctx := context.Background()
	var c tarCache
	fills := map[string]int{}
	fill := func(url string) func(*tarEntry) error {
		return func(e *tarEntry) error {
			fills[url]++
			if url == "bad" {
				return errors.New("bad archive")
			}
			return os.WriteFile(e.path, []byte(url), 0o644)
		}
	}
	get := func(url string) *tarEntry {
		t.Helper()
		e, err := c.acquire(ctx, url, fill(url))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(e.path); err != nil || string(b) != url {
			t.Fatalf("%s: file holds %q, %v", url, b, err)
		}
		return e
	}
	held := get("a")
	get("b").release()
	get("c").release() // a is in use: b goes
	get("a").release()
	held.release()
	get("c").release()
	get("d").release() // a is the least recently used now
	for _, url := range []string{"bad", "bad"} {
		if _, err := c.acquire(ctx, url, fill(url)); err == nil {
			t.Fatal("a failed fill was served")
		}
	}
	want := map[string]int{"a": 1, "b": 1, "c": 1, "d": 1, "bad": 2}
	for url, n := range want {
		if fills[url] != n {
			t.Errorf("%s filled %d times, want %d", url, fills[url], n)
		}
	}
	var urls []string
	for _, e := range c.entries {
		urls = append(urls, e.url)
	}
	names, _ := filepath.Glob(filepath.Join(c.dir, "*"))
	sort.Strings(urls)
	if len(urls) != 2 || urls[0] != "c" || urls[1] != "d" || len(names) != 2 {
		t.Errorf("cached %v in files %v, want c and d", urls, names)
	}
	dir := c.dir
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after Close: %v", dir, err)
	}
}
