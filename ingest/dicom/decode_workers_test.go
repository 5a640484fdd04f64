package dicom

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scanOne scans dir and returns its only series.
func scanOne(t *testing.T, dir string) *Series {
	t.Helper()
	res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 1 {
		t.Fatalf("%d series, skipped %v", len(res.Series), res.Skipped)
	}
	return res.Series[0]
}

// TestDecodeWorkersIdentical decodes a compressed multi-slice series on
// one and on several goroutines: the volumes must be byte-identical, and
// the slices must differ (identical slices would hide a slice decoded
// into the wrong slot).
func TestDecodeWorkersIdentical(t *testing.T) {
	s := scanOne(t, "testdata/j2k_series")
	if s.Depth != 6 {
		t.Fatalf("depth %d", s.Depth)
	}
	one, err := ReadSeries(context.Background(), s, ReadOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	plane := len(one[0].Voxels) / s.Depth
	for k := 1; k < s.Depth; k++ {
		if bytes.Equal(one[0].Voxels[(k-1)*plane:k*plane], one[0].Voxels[k*plane:(k+1)*plane]) {
			t.Fatalf("slices %d and %d are equal", k-1, k)
		}
	}
	for _, tc := range []struct {
		name string
		o    ReadOptions
	}{
		{"2 workers", ReadOptions{Workers: 2}},
		{"6 workers", ReadOptions{Workers: 6}},
		{"16 workers", ReadOptions{Workers: 16}},
		{"GOMAXPROCS", ReadOptions{}},
		{"canonical, 3 workers", ReadOptions{Workers: 3, Canonical: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := one
			if tc.o.Canonical {
				if want, err = ReadSeries(context.Background(), s, ReadOptions{Workers: 1, Canonical: true}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadSeries(context.Background(), s, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d volumes, want %d", len(got), len(want))
			}
			for v := range got {
				compareImages(t, got[v], want[v])
				if !bytes.Equal(got[v].Voxels, want[v].Voxels) || got[v].Meta["photometric"] != want[v].Meta["photometric"] {
					t.Fatalf("volume %d differs", v)
				}
			}
		})
	}
}

// TestDecodeWorkersFirstError breaks two files of a scanned series: with
// any number of workers the error is the first broken file's in slice
// order, as when decoding one at a time; a cancelled context stops the
// read.
func TestDecodeWorkersFirstError(t *testing.T) {
	dir := t.TempDir()
	ents, err := os.ReadDir("testdata/j2k_series")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".dcm") {
			b, err := os.ReadFile(filepath.Join("testdata/j2k_series", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := scanOne(t, dir)
	refs := s.Refs()
	for _, k := range []int{4, 2} {
		if err := os.WriteFile(refs[k].Path, []byte("not a DICOM file any more"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err1 := ReadSeries(context.Background(), s, ReadOptions{Workers: 1})
	if err1 == nil || !strings.Contains(err1.Error(), refs[2].Path) {
		t.Fatalf("one worker: %v, want an error naming %s", err1, refs[2].Path)
	}
	for _, w := range []int{2, 3, 6} {
		_, err := ReadSeries(context.Background(), s, ReadOptions{Workers: w})
		if err == nil || err.Error() != err1.Error() {
			t.Fatalf("%d workers: %v, want %v", w, err, err1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadSeries(ctx, scanOne(t, "testdata/j2k_series"), ReadOptions{Workers: 4}); err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("cancelled: %v", err)
	}
}
