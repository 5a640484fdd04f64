package shards

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestBigWriter: large writes through a publish reach the file whole
// (raw chunks, a remainder, and writes that fall back to os.File.Write
// once one is slow); a read-only file's error names it; pipes are
// written as they are.
func TestBigWriter(t *testing.T) {
	const mib = 1 << 20
	sizes := []int{0, 1, 64 << 10, mib - 1, mib, 4*mib - 1, 4 * mib, 4*mib + 1, 9*mib + 7}
	var all []byte
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*31 + j*7)
		}
		all = append(all, b...)
	}
	for _, slow := range []bool{false, true} {
		if slow {
			defer setSlowChunk(0)()
		}
		path := filepath.Join(t.TempDir(), "big.bin")
		err := Publish(nil, path, func(w io.Writer) error {
			for at, i := 0, 0; i < len(sizes); i++ {
				if _, err := w.Write(all[at : at+sizes[i]]); err != nil {
					return err
				}
				at += sizes[i]
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, all) {
			t.Fatalf("slow=%v: %d bytes read back (%v), %d written", slow, len(got), err, len(all))
		}
	}

	ro := filepath.Join(t.TempDir(), "ro.bin")
	if err := os.WriteFile(ro, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(ro)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := newBigWriter(f).Write(make([]byte, 2*mib))
	var pe *fs.PathError
	if n != 0 || !errors.As(err, &pe) || pe.Path != ro {
		t.Fatalf("write to a read-only file: %d, %v", n, err)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := newBigWriter(w); got != io.Writer(w) {
		t.Fatalf("a pipe is written through %T", got)
	}
}
