package nifti

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// goldenEntry is one row of testdata/golden.json (see make_golden.py).
type goldenEntry struct {
	File        string      `json:"file"`
	Volume      int         `json:"volume"`
	NVols       int         `json:"nvols"`
	OrigAxcodes string      `json:"orig_axcodes"`
	Ornt        [3][2]int   `json:"ornt"`
	Shape       [3]int      `json:"shape"`
	Channels    int         `json:"channels"`
	DType       string      `json:"dtype"`
	Affine      [16]float64 `json:"affine"`
	Zooms       [3]float64  `json:"zooms"`
	SHA256      string      `json:"sha256"`
}

func loadGolden(t testing.TB) map[string][]goldenEntry {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []goldenEntry
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string][]goldenEntry{}
	for _, r := range rows {
		out[r.File] = append(out[r.File], r)
	}
	return out
}

// TestGoldenNibabel reads every real and derived test file and compares the
// canonical voxels, dtype, shape, affine and spacing with nibabel's
// as_closest_canonical (testdata/make_golden.py).
func TestGoldenNibabel(t *testing.T) {
	golden := loadGolden(t)
	if len(golden) < 30 {
		t.Fatalf("golden.json has %d files, want ≥ 30", len(golden))
	}
	// Gzipped files are inflated by libdeflate or compress/gzip: both must
	// match nibabel.
	eachInflater(t, func(t *testing.T) { testGolden(t, golden) })
}

func testGolden(t *testing.T, golden map[string][]goldenEntry) {
	for file, want := range golden {
		t.Run(file, func(t *testing.T) {
			res, err := ReadFile(context.Background(), filepath.Join("testdata", file), Options{AllVolumes: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.NumVolumes != want[0].NVols || len(res.Images) != len(want) {
				t.Fatalf("volumes: got %d (%d images), want %d", res.NumVolumes, len(res.Images), want[0].NVols)
			}
			if got := res.Orientation.Codes(); got != want[0].OrigAxcodes {
				t.Errorf("axcodes %s, want %s", got, want[0].OrigAxcodes)
			}
			for a, m := range res.Orientation {
				flip := 1
				if m.Flip {
					flip = -1
				}
				if w := want[0].Ornt[a]; w != [2]int{m.Axis, flip} {
					t.Errorf("ornt[%d] = %v, want %v", a, [2]int{m.Axis, flip}, w)
				}
			}
			for v, w := range want {
				im := res.Images[v]
				if got := [3]int{im.Width, im.Height, im.Depth}; got != w.Shape || im.Channels != w.Channels {
					t.Fatalf("vol %d shape %v×%d, want %v×%d", v, got, im.Channels, w.Shape, w.Channels)
				}
				if string(im.DType) != w.DType {
					t.Errorf("vol %d dtype %s, want %s", v, im.DType, w.DType)
				}
				if len(im.Voxels) != im.NumVoxels()*im.DType.Size() {
					t.Fatalf("vol %d: %d voxel bytes for %d voxels of %s", v, len(im.Voxels), im.NumVoxels(), im.DType)
				}
				sum := sha256.Sum256(im.Voxels)
				if got := hex.EncodeToString(sum[:]); got != w.SHA256 {
					t.Errorf("vol %d voxel sha256 %s, want %s", v, got, w.SHA256)
				}
				for i := range 16 {
					if math.Abs(im.Affine[i]-w.Affine[i]) > 1e-6 {
						t.Errorf("vol %d affine %v\nwant %v", v, im.Affine, w.Affine)
						break
					}
				}
				for i := range 3 {
					if math.Abs(im.Spacing[i]-w.Zooms[i]) > 1e-9 {
						t.Errorf("vol %d spacing %v, want %v", v, im.Spacing, w.Zooms)
						break
					}
				}
			}
		})
	}
}
