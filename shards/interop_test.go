package shards

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestInterop writes a small corpus and has interop/check.mjs open its
// Parquet parts with DuckDB and its Arrow IPC parts with apache-arrow (JS);
// both must report medmd's ids, counts and voxel checksums. `.ci/run`
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
	dir := t.TempDir()
	ss := testSamples(11)
	// Roll parts and batches so multi-part shards and multi-batch files
	// are exercised.
	if _, err := WriteCorpus(dir, "interop", "cfg", SamplesOf(ss), WriteOptions{MaxSamples: 4, BatchSamples: 3}); err != nil {
		t.Fatal(err)
	}
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
		Parquet, Arrow view
		Polars         struct {
			Files           int      `json:"files"`
			Count           int      `json:"count"`
			IDs             []string `json:"ids"`
			FirstImageShape [][]int  `json:"first_image_shape"`
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("check.mjs output: %v\n%s", err, out)
	}
	want := view{Files: 3, Count: len(ss)}
	for _, s := range ss {
		want.IDs = append(want.IDs, s.ID)
		h := ""
		if len(s.Images) > 0 {
			sum := sha256.Sum256(s.Images[0].Voxels)
			h = hex.EncodeToString(sum[:])
		}
		want.FirstImageSHA256 = append(want.FirstImageSHA256, h)
	}
	for name, v := range map[string]view{"DuckDB (Parquet)": got.Parquet, "apache-arrow (IPC)": got.Arrow} {
		if !reflect.DeepEqual(v, want) {
			t.Errorf("%s sees\n%+v\nwant\n%+v", name, v, want)
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
