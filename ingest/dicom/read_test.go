package dicom

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadImages(t *testing.T) {
	dir := t.TempDir()
	writeArchives(t, dir)
	writeUnsupported(t, filepath.Join(dir, "unsupported.dcm"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	first := func(i int, _ *Series) bool { return i == 0 }
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		path    string
		o       ImagesOptions
		series  int    // series found
		volumes []int  // volumes read per series
		dims    [3]int // width, height, depth of the first image read
		wantErr string
		sentry  error
	}{
		{name: "file", path: "testdata/pydicom_CT_small.dcm", series: 1, volumes: []int{1}, dims: [3]int{128, 128, 1}},
		{name: "folder", path: brainDir, series: 1, volumes: []int{1}, dims: [3]int{256, 256, 20}},
		{name: "zip", path: filepath.Join(dir, "ct.zip"), series: 1, volumes: []int{1}, dims: [3]int{128, 128, 1}},
		{name: "tar.gz", path: filepath.Join(dir, "mr.tar.gz"), series: 1, volumes: []int{1}, dims: [3]int{10, 10, 15}},
		{name: "only none", path: brainDir, o: ImagesOptions{Only: func(int, *Series) bool { return false }}, series: 1, volumes: []int{0}},
		{name: "only first", path: brainDir, o: ImagesOptions{Only: first}, series: 1, volumes: []int{1}, dims: [3]int{256, 256, 20}},
		{name: "no series", path: "testdata/pydicom_rtstruct.dcm", wantErr: "pydicom_rtstruct.dcm: no pixel data", sentry: ErrNoSeries},
		{name: "unsupported only", path: filepath.Join(dir, "unsupported.dcm"), wantErr: "unsupported transfer syntax", sentry: ErrNoSeries},
		{name: "missing", path: "testdata/nope.dcm", wantErr: "nope.dcm"},
		{name: "cancelled", ctx: cancelled, path: brainDir, wantErr: "context canceled", sentry: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			r, err := ReadImages(ctx, tc.path, tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if tc.sentry != nil && !errors.Is(err, tc.sentry) {
					t.Errorf("err = %v, want it to wrap %v", err, tc.sentry)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Series) != tc.series || len(r.Volumes) != len(r.Series) {
				t.Fatalf("%d series, %d volume lists; want %d", len(r.Series), len(r.Volumes), tc.series)
			}
			for i, n := range tc.volumes {
				if len(r.Volumes[i]) != n {
					t.Errorf("series %d: %d volumes, want %d", i, len(r.Volumes[i]), n)
				}
			}
			if tc.volumes[0] > 0 {
				im := r.Volumes[0][0]
				if got := [3]int{im.Width, im.Height, im.Depth}; got != tc.dims {
					t.Errorf("dims %v, want %v", got, tc.dims)
				}
			}
		})
	}
}
