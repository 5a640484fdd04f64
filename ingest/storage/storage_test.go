package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRoot(t *testing.T) {
	abs, _ := filepath.Abs("mirror")
	tests := []struct {
		root, url, local string
		wantErr          bool
	}{
		{"mirror", "", abs, false},
		{"file:///data/pmc", "", "/data/pmc", false},
		{"s3://pmc-oa-opendata?anonymous=true&region=us-east-1", "s3://pmc-oa-opendata?anonymous=true&region=us-east-1", "", false},
		{"s3://bucket/a/b?endpoint=http://127.0.0.1:9000", "s3://bucket?endpoint=http%3A%2F%2F127.0.0.1%3A9000&prefix=a%2Fb%2F", "", false},
		{"https://pmc-oa-opendata.s3.amazonaws.com/", "s3://pmc-oa-opendata?anonymous=true&region=us-east-1", "", false},
		{"https://s3.amazonaws.com/pmc-oa-opendata/metadata", "s3://pmc-oa-opendata?anonymous=true&prefix=metadata%2F&region=us-east-1", "", false},
		{"https://example.org/pmc/", "", "", true},
		{"ftp://ftp.ncbi.nlm.nih.gov/pub/pmc", "", "", true},
		{"", "", "", true},
		{"s3://AKIAEXAMPLE:hunter2@bucket/a", "", "", true},
		{"s3://AKIAEXAMPLE:hunter2/x+y@bucket/a", "", "", true}, // a "/" in the secret: no URL parse
		{"s3://bucket/a?endpoint=http://minio:hunter2@127.0.0.1:9000", "", "", true},
		{"s3://bucket/a?endpoint=minio:hunter2@127.0.0.1:9000", "", "", true},
		{"s3://bucket/a?endpoint=http://127.0.0.1:9000&endpoint=http://minio:hunter2@127.0.0.1:9000", "", "", true},
		{"s3://bucket/a?endpoint=http://minio:hunter2%zz@127.0.0.1", "", "", true},
		{"gs://someone@bucket", "", "", true},
		{"s3://bucket/user@site/", "s3://bucket?prefix=user%40site%2F", "", false}, // an "@" in a key prefix
	}
	for _, tc := range tests {
		u, l, err := ParseRoot(tc.root)
		if (err != nil) != tc.wantErr || u != tc.url || l != tc.local {
			t.Errorf("%q: %q %q %v; want %q %q err=%v", tc.root, u, l, err, tc.url, tc.local, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows the password: %v", tc.root, err)
		}
	}
}

func TestFolderReads(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{"a/1.txt": "one", "a/2.txt": "two!", "b/3.txt": "three"} {
		p := filepath.Join(dir, filepath.FromSlash(k))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(v), 0o644)
	}
	ctx := context.Background()
	b, err := Open(ctx, dir, Options{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var keys []string
	if err := b.List(ctx, "a/", func(o Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "a/1.txt" || keys[1] != "a/2.txt" {
		t.Errorf("listed %v over pages of one", keys)
	}
	if got, err := b.ReadAll(ctx, "a/2.txt", 0); err != nil || string(got) != "two!" {
		t.Errorf("ReadAll: %q %v", got, err)
	}
	if _, err := b.ReadAll(ctx, "a/2.txt", 3); err == nil {
		t.Error("ReadAll past its limit succeeded")
	}
	if got, err := b.ReadRange(ctx, "b/3.txt", 1, 3); err != nil || string(got) != "hre" {
		t.Errorf("ReadRange: %q %v", got, err)
	}
	if _, err := b.ReadAll(ctx, "nope", 0); !errors.Is(err, ErrNotExist) {
		t.Errorf("missing object: %v, want ErrNotExist", err)
	}
	var entries []string
	if err := b.ListDir(ctx, "", func(o Object) error {
		entries = append(entries, fmt.Sprintf("%s:%v", o.Key, o.Dir))
		return nil
	}); err != nil || strings.Join(entries, " ") != "a/:true b/:true" {
		t.Errorf("ListDir over pages of one: %v %v", entries, err)
	}
	if o, err := b.Stat(ctx, "a/2.txt"); err != nil || o.Size != 4 {
		t.Errorf("Stat: %+v %v", o, err)
	}
	if _, err := b.Stat(ctx, "a"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat of a folder: %v, want ErrNotExist", err)
	}
	ra := b.NewReaderAt(ctx, "b/3.txt", "b/3.txt", 5)
	buf := make([]byte, 3)
	if n, err := ra.ReadAt(buf, 2); n != 3 || err != nil || string(buf) != "ree" {
		t.Errorf("ReadAt: %q %d %v", buf, n, err)
	}
	if _, err := ra.Seek(-2, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(ra); err != nil || string(got) != "ee" {
		t.Errorf("Seek and Read: %q %v", got, err)
	}
	if _, err := b.NewReaderAt(ctx, "b/3.txt", "b/3.txt", 9).ReadAt(make([]byte, 9), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("object shorter than listed: %v", err)
	}
}

// TestObjectURL: names drop the connection parameters and keep the key
// prefix, however the root gives it.
func TestObjectURL(t *testing.T) {
	for _, c := range []struct{ root, key, want string }{
		{"s3://b/scans?region=x&endpoint=http://h:9000", "a/1.dcm", "s3://b/scans/a/1.dcm"},
		{"s3://b/scans/", "a/1.dcm", "s3://b/scans/a/1.dcm"},
		{"s3://b?prefix=scans/&region=x", "a/1.dcm", "s3://b/scans/a/1.dcm"},
		{"s3://b?region=x", "a/1.dcm", "s3://b/a/1.dcm"},
		{"gs://b/x?prefix=ignored/", "k", "gs://b/x/k"},
		{"/data/scans", "a/1.dcm", "/data/scans/a/1.dcm"},
		{"file:///data/scans", "k", "file:///data/scans/k"},
		{"file:///", "k", "file:///k"}, {"/", "k", "/k"},
	} {
		if got := ObjectURL(c.root, c.key); got != c.want {
			t.Errorf("ObjectURL(%q, %q) = %q, want %q", c.root, c.key, got, c.want)
		}
	}
}
