package shards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestInterop writes a small corpus of each Parquet layout and has
// interop/check.mjs open its Parquet parts with DuckDB and Polars and its
// Arrow IPC parts with apache-arrow (JS); all must report medmd's ids,
// counts and voxel checksums, and in the "metadata" layout DuckDB must
// join every image's recorded location to its voxels in the Arrow parts. `.ci/run`
// installs interop/node_modules (npm ci --prefix interop) first.
func TestInterop(t *testing.T) {
	interop, _ := filepath.Abs(filepath.Join("..", "interop"))
	if _, err := os.Stat(filepath.Join(interop, "node_modules")); err != nil {
		t.Skip("interop/node_modules is absent: run `npm ci --prefix interop` to enable the DuckDB/apache-arrow interop test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("interop/node_modules exists but node is not on PATH: %v", err)
	}
	ss := testSamples(11)
	// The layouts as a SQL user meets them: "metadata" (voxels joined
	// from the Arrow parts through the recorded locations), "full"
	// (voxels in Parquet), "none" (Arrow only), and the committed schema
	// version 1 corpus ("full", written before layouts existed).
	for _, layout := range append(ParquetLayouts, "v1") {
		t.Run(string(layout), func(t *testing.T) {
			dir := t.TempDir()
			var want []Sample
			if layout == "v1" {
				dir, _ = filepath.Abs(filepath.Join("testdata", "v1corpus"))
				// What medmd reads from it (TestReadV1Corpus checks that
				// against the golden written with the corpus).
				m, err := ReadManifest(dir)
				if err != nil {
					t.Fatal(err)
				}
				for s, err := range m.Iter(context.Background()) {
					if err != nil {
						t.Fatal(err)
					}
					for k := range s.Images {
						s.Images[k].Voxels = bytes.Clone(s.Images[k].Voxels)
					}
					want = append(want, s)
				}
			} else {
				want = ss
				// Roll parts and batches so multi-part shards and
				// multi-batch files are exercised.
				if _, err := WriteCorpus(dir, "interop", "cfg", SamplesOf(ss), WriteOptions{MaxSamples: 4, BatchSamples: 3, Parquet: layout}); err != nil {
					t.Fatal(err)
				}
			}
			checkInterop(t, node, interop, dir, layout, want)
		})
	}
}

func checkInterop(t *testing.T, node, interop, dir string, layout ParquetLayout, ss []Sample) {
	cmd := exec.Command(node, filepath.Join(interop, "check.mjs"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.String())
	}
	type view struct {
		Files            int      `json:"files"`
		Count            int      `json:"count"`
		IDs              []string `json:"ids"`
		FirstImageSHA256 []string `json:"first_image_sha256"`
	}
	var got struct {
		Layout         ParquetLayout `json:"layout"`
		Parquet, Arrow view
		Polars         struct {
			Files           int      `json:"files"`
			Count           int      `json:"count"`
			IDs             []string `json:"ids"`
			FirstImageShape [][]int  `json:"first_image_shape"`
		}
		Join *struct {
			Images        int `json:"images"`
			Matched       int `json:"matched"`
			OffsetMatched int `json:"offset_matched"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check.mjs output: %v\n%s", err, out)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	parts := len(m.ArrowPaths())
	if got.Layout != m.ParquetLayout() {
		t.Errorf("check.mjs read layout %q, manifest says %q", got.Layout, m.ParquetLayout())
	}
	want := view{Files: parts, Count: len(ss)}
	images := 0
	for _, s := range ss {
		want.IDs = append(want.IDs, s.ID)
		h := ""
		if len(s.Images) > 0 {
			sum := sha256.Sum256(s.Images[0].Voxels)
			h = hex.EncodeToString(sum[:])
		}
		want.FirstImageSHA256 = append(want.FirstImageSHA256, h)
		images += len(s.Images)
	}
	if !reflect.DeepEqual(got.Arrow, want) {
		t.Errorf("apache-arrow (IPC) sees\n%+v\nwant\n%+v", got.Arrow, want)
	}
	if m.ParquetLayout() == ParquetNone {
		if got.Parquet.Files != 0 || got.Polars.Files != 0 {
			t.Errorf("layout none: DuckDB read %d, Polars %d Parquet files", got.Parquet.Files, got.Polars.Files)
		}
		return
	}
	if !reflect.DeepEqual(got.Parquet, want) {
		t.Errorf("DuckDB (Parquet) sees\n%+v\nwant\n%+v", got.Parquet, want)
	}
	if m.ParquetLayout() == ParquetMetadata {
		t.Logf("SQL join: %+v", got.Join)
		if j := got.Join; j == nil || j.Images != images || j.Matched != images || j.OffsetMatched != images {
			t.Errorf("SQL join of Parquet locations to Arrow voxels: %+v, want all %d images matched", j, images)
		}
	}
	var wantShapes [][]int
	for _, s := range ss {
		shape := []int{}
		if len(s.Images) > 0 {
			im := s.Images[0]
			shape = []int{im.Channels, im.Depth, im.Height, im.Width}
		}
		wantShapes = append(wantShapes, shape)
	}
	pol := got.Polars
	if pol.Files != want.Files || pol.Count != want.Count || !reflect.DeepEqual(pol.IDs, want.IDs) || !reflect.DeepEqual(pol.FirstImageShape, wantShapes) {
		t.Errorf("Polars (Parquet) sees %+v\nwant ids %v shapes %v", pol, want.IDs, wantShapes)
	}
}
