package dicom

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBvalBvecMatchDcm2niix converts a 4-volume oblique-gradient DWI and
// compares the .bval with dcm2niix's and each .bvec column, taken back to
// world space through the written affine, with dcm2niix's column taken
// back through its sform (testdata/dwi_bvec/golden.json): the vectors must
// agree whatever voxel order each converter chose.
func TestBvalBvecMatchDcm2niix(t *testing.T) {
	var golden struct {
		Sform []float64
		Bval  []float64
		Bvec  [][]float64
	}
	b, err := os.ReadFile(filepath.Join("testdata", "dwi_bvec", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	var ref [16]float64
	copy(ref[:], golden.Sform)
	ref[15] = 1
	// The gradients make_dwi_bvec.py stored, patient LPS.
	stored := [][3]float64{{0, 0, 0}, {0.6, 0.8, 0}, {0, 0.6, -0.8}, {-0.48, 0.6, 0.64}}
	for v, g := range stored {
		w := bvecWorld(ref, [3]float64{golden.Bvec[0][v], golden.Bvec[1][v], golden.Bvec[2][v]})
		for a := range w {
			if math.Abs(w[a]-g[a]) > 1e-5 {
				t.Fatalf("volume %d: dcm2niix's bvec maps back to %v, stored %v", v, w, g)
			}
		}
	}
	for _, tc := range []struct {
		name      string
		canonical bool
	}{{"canonical", true}, {"native", false}} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "in")
			if err := os.MkdirAll(in, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(in, "dwi.dcm"), readGz(t, filepath.Join("testdata", "dwi_bvec", "enhanced_dwi4.dcm.gz")), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Convert(context.Background(), in, t.TempDir(), ConvertOptions{Canonical: tc.canonical})
			if err != nil || len(rep.Gradients) != 1 || len(rep.Written) != 4 {
				t.Fatalf("convert: %v; %d volumes, gradients %v", err, len(rep.Written), rep.Gradients)
			}
			bval := readColumns(t, rep.Gradients[0])
			bvec := readColumns(t, strings.TrimSuffix(rep.Gradients[0], ".bval")+".bvec")
			if len(bval) != 1 || len(bvec) != 3 {
				t.Fatalf("bval %d rows, bvec %d rows", len(bval), len(bvec))
			}
			for v, want := range golden.Bval {
				if bval[0][v] != want {
					t.Errorf("volume %d: b=%g, dcm2niix %g", v, bval[0][v], want)
				}
			}
			// Every volume has the same affine; the first sidecar's will do.
			var sc struct{ Affine [16]float64 }
			sb, err := os.ReadFile(rep.Written[0].Sidecar)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(sb, &sc); err != nil {
				t.Fatal(err)
			}
			for v := range golden.Bval {
				got := bvecWorld(sc.Affine, [3]float64{bvec[0][v], bvec[1][v], bvec[2][v]})
				want := bvecWorld(ref, [3]float64{golden.Bvec[0][v], golden.Bvec[1][v], golden.Bvec[2][v]})
				for a := range got {
					if math.Abs(got[a]-want[a]) > 1e-5 {
						t.Errorf("volume %d: gradient %v in world space, dcm2niix %v", v, got, want)
						break
					}
				}
			}
		})
	}
}

// bvecWorld undoes FSL's bvec convention: the vector along the affine's
// unit voxel axes, its first component negated when the determinant is
// positive.
func bvecWorld(affine [16]float64, bv [3]float64) [3]float64 {
	// voxelGradient is an orthogonal map of the gradient, so its
	// inverse is its transpose: probe it with the three LPS axes. (The
	// test also checks that dcm2niix's columns come back to the
	// gradients make_dwi_bvec.py wrote, so an error here would show.)
	var m [3][3]float64
	for r := 0; r < 3; r++ {
		var lps [3]float64
		lps[r] = 1
		m[r] = voxelGradient(affine, lps) // bvec of LPS axis r
	}
	var lps [3]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			lps[r] += m[r][c] * bv[c]
		}
	}
	return lps
}

func readColumns(t *testing.T, path string) [][]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row []float64
		for _, f := range strings.Fields(line) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			row = append(row, x)
		}
		rows = append(rows, row)
	}
	return rows
}
