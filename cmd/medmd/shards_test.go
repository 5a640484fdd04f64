package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/ingest/storage/s3test"
	"github.com/medmd/medmd/shards"
)

// runShards runs `medmd shards ARGS...` in-process.
func runShards(args ...string) error {
	rootCmd.SetArgs(append([]string{"shards"}, args...))
	return rootCmd.ExecuteContext(context.Background())
}

func TestShardsCLI(t *testing.T) {
	dir := t.TempDir()
	var ss []shards.Sample
	for i := 0; i < 5; i++ {
		im := shards.Image{Modality: "MR", DType: shards.Int16, Channels: 1, Depth: 3, Height: 4, Width: 5,
			Spacing: [3]float64{1, 1, 2}, Affine: shards.IdentityAffine()}
		im.Affine[3] = -10
		im.Voxels = make([]byte, im.NumVoxels()*2)
		for j := range im.Voxels {
			im.Voxels[j] = byte(i + j)
		}
		ss = append(ss, shards.Sample{ID: fmt.Sprintf("s%d", i), Source: "nifti", Task: shards.TaskReport, Images: []shards.Image{im}})
	}
	if _, err := shards.WriteCorpus(dir, "test", "cfg", shards.SamplesOf(ss), shards.WriteOptions{MaxSamples: 2}); err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, shards.ManifestFile)
	for _, args := range [][]string{{"ls", mp}, {"stats", mp}, {"stats", "--json", mp}, {"verify", mp}, {"head", mp}, {"head", "--json", "-n", "2", mp}} {
		if err := runShards(args...); err != nil {
			t.Fatalf("shards %v: %v", args, err)
		}
	}
	out := filepath.Join(t.TempDir(), "s3.nii.gz")
	if err := runShards("export", mp, "--id", "s3", "-o", out); err != nil {
		t.Fatal(err)
	}
	back, err := nifti.ReadFile(context.Background(), out, nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := back.Images[0]
	if string(got.Voxels) != string(ss[3].Images[0].Voxels) || got.Affine != ss[3].Images[0].Affine || got.DType != shards.Int16 {
		t.Fatalf("exported image differs: %+v", got)
	}
	// From a bucket: head stages the leading shard only, export the
	// shard of its sample, into the user's cache.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv := s3test.Start(t, "corpus")
	srv.PutDir(t, "corpus", "c/", dir)
	url := srv.URL("corpus", "c")
	stageDir, err := ingest.StageDir(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := runShards("head", "-n", "1", url); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, stageDir); fmt.Sprint(names) != "[shard-00000.arrow shard-00000.parquet shard-00000.stats.json]" {
		t.Errorf("head -n 1 staged %v", names)
	}
	fromBucket := filepath.Join(t.TempDir(), "s3.nii.gz")
	if err := runShards("export", strings.Replace(url, "us-east-1", "eu-west-1", 1), "--id", "s3", "-o", fromBucket); err != nil {
		t.Fatal(err)
	}
	if a, b := readFile(t, out), readFile(t, fromBucket); a != b {
		t.Error("the image exported from the bucket differs from the one exported from disk")
	}
	// s3 is in the second shard: export staged it alone, found from the
	// shards' Parquet parts.
	if names := dirNames(t, stageDir); fmt.Sprint(names) != "[shard-00000.arrow shard-00000.parquet shard-00000.stats.json shard-00001.arrow shard-00001.parquet shard-00001.stats.json]" {
		t.Errorf("after head -n 1 and export of s3, the stage folder holds %v", names)
	}
	if err := runShards("export", url, "--id", "nope", "-o", fromBucket); err == nil || !strings.Contains(err.Error(), `no sample with id "nope"`) {
		t.Errorf("export of a missing id: %v", err)
	}

	// verify must fail after one flipped byte.
	arrow := filepath.Join(dir, "shard-00001.arrow")
	b, _ := os.ReadFile(arrow)
	b[len(b)/3] ^= 0x40
	os.WriteFile(arrow, b, 0o644)
	if err := runShards("verify", mp); !errors.Is(err, shards.ErrChecksum) {
		t.Fatalf("verify after a flipped byte: %v", err)
	}
}

// TestShardsExportFloat16: the intensity and window stages can store
// float16, which NIfTI-1 has no code for; export widens it to float32
// (exactly) instead of failing.
func TestShardsExportFloat16(t *testing.T) {
	dir := t.TempDir()
	im := shards.Image{Modality: "MR", DType: shards.Float16, Channels: 1, Depth: 1, Height: 2, Width: 2,
		Spacing: [3]float64{1, 1, 1}, Affine: shards.IdentityAffine()}
	// 0, 0.5, 1, -2 as binary16
	im.Voxels = []byte{0x00, 0x00, 0x00, 0x38, 0x00, 0x3c, 0x00, 0xc0}
	ss := []shards.Sample{{ID: "h", Source: "nifti", Task: shards.TaskReport, Images: []shards.Image{im}}}
	if _, err := shards.WriteCorpus(dir, "test", "cfg", shards.SamplesOf(ss), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "h.nii")
	if err := runShards("export", filepath.Join(dir, shards.ManifestFile), "--id", "h", "-o", out); err != nil {
		t.Fatal(err)
	}
	back, err := nifti.ReadFile(context.Background(), out, nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := back.Images[0]
	want := []float32{0, 0.5, 1, -2}
	if got.DType != shards.Float32 || len(got.Voxels) != 16 {
		t.Fatalf("exported %s with %d bytes", got.DType, len(got.Voxels))
	}
	for i, w := range want {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(got.Voxels[4*i:])); v != w {
			t.Errorf("voxel %d = %v, want %v", i, v, w)
		}
	}
}

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
