package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/shards"
)

// TestShardsCLILayouts runs every `medmd shards` verb over a corpus of
// each Parquet layout and over the committed schema version 1 corpus:
// export reads voxels from the Arrow parts, so it works whatever the
// Parquet part holds.
func TestShardsCLILayouts(t *testing.T) {
	im := shards.Image{Modality: "CT", DType: shards.Int16, Channels: 1, Depth: 2, Height: 3, Width: 4,
		Spacing: [3]float64{1, 1, 2}, Affine: shards.IdentityAffine()}
	im.Voxels = make([]byte, im.NumVoxels()*2)
	for j := range im.Voxels {
		im.Voxels[j] = byte(7 * j)
	}
	ss := []shards.Sample{{ID: "a", Source: "dicom", Task: shards.TaskReport, Images: []shards.Image{im}},
		{ID: "b", Source: "dicom", Task: shards.TaskReport, Response: "text only"}}
	type corpus struct {
		name, manifest, id string
		voxels             []byte
	}
	var cs []corpus
	for _, l := range shards.ParquetLayouts {
		dir := t.TempDir()
		if _, err := shards.WriteCorpus(dir, "test", "cfg", shards.SamplesOf(ss), shards.WriteOptions{Parquet: l}); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, corpus{string(l), filepath.Join(dir, shards.ManifestFile), "a", im.Voxels})
	}
	cs = append(cs, corpus{"v1", filepath.Join("..", "..", "shards", "testdata", "v1corpus", shards.ManifestFile), "", nil})
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{{"ls", c.manifest}, {"stats", "--json", c.manifest}, {"verify", c.manifest}, {"head", "--json", c.manifest}} {
				if err := runShards(args...); err != nil {
					t.Fatalf("shards %v: %v", args, err)
				}
			}
			id := c.id
			if id == "" {
				m, err := shards.ReadManifest(c.manifest)
				if err != nil {
					t.Fatal(err)
				}
				for s, err := range m.Iter(context.Background()) {
					if err != nil {
						t.Fatal(err)
					}
					if len(s.Images) > 0 {
						id, c.voxels = s.ID, append([]byte(nil), s.Images[0].Voxels...)
						break
					}
				}
			}
			out := filepath.Join(t.TempDir(), fmt.Sprintf("%s.nii", id))
			if err := runShards("export", c.manifest, "--id", id, "-o", out); err != nil {
				t.Fatal(err)
			}
			back, err := nifti.ReadFile(context.Background(), out, nifti.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if string(back.Images[0].Voxels) != string(c.voxels) {
				t.Fatal("exported voxels differ from the stored ones")
			}
		})
	}
}
