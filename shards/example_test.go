package shards_test

import (
	"context"
	"fmt"
	"os"

	"github.com/medmd/medmd/shards"
)

func exampleSamples() []shards.Sample {
	var ss []shards.Sample
	for i := 0; i < 6; i++ {
		im := shards.Image{Modality: "CT", DType: shards.Uint8, Channels: 1, Depth: 2, Height: 4, Width: 4, Affine: shards.IdentityAffine()}
		im.Voxels = make([]byte, im.NumVoxels())
		ss = append(ss, shards.Sample{ID: fmt.Sprintf("ex-%d", i), Source: "nifti", Task: shards.TaskReport,
			Response: "No acute findings.", Images: []shards.Image{im}})
	}
	return ss
}

// Write a corpus, verify it, and read it back zero-copy.
func ExampleWriteCorpus() {
	dir, _ := os.MkdirTemp("", "medmd-example-")
	defer os.RemoveAll(dir)
	m, err := shards.WriteCorpus(dir, "example", "cfg", shards.SamplesOf(exampleSamples()), shards.WriteOptions{MaxSamples: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(m.Shards), "shards,", m.Samples, "samples")
	if err := shards.Verify(m.Path(shards.ManifestFile)); err != nil {
		fmt.Println(err)
	}
	for s, err := range m.Iter(context.Background()) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s.ID, s.Images[0].Depth, len(s.Images[0].Voxels))
		break
	}
	// Output:
	// 2 shards, 6 samples
	// ex-0 2 32
}

// Serve 3D batches of two volumes, rank 0 of 1, for one epoch.
func ExampleNewLoader() {
	dir, _ := os.MkdirTemp("", "medmd-example-")
	defer os.RemoveAll(dir)
	m, _ := shards.WriteCorpus(dir, "example", "cfg", shards.SamplesOf(exampleSamples()), shards.WriteOptions{})
	l, err := shards.NewLoader([]*shards.Manifest{m}, shards.LoaderConfig{Seed: 1, Shuffle: true, BatchSize3D: 2, Epochs: 1}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	for {
		b, err := l.Next(context.Background())
		if err != nil {
			break // io.EOF after one epoch
		}
		fmt.Println(b.Kind, b.Shape, len(b.Voxels))
		b.Release()
	}
	// Output:
	// 3d [2 1 1 2 4 4] 64
	// 3d [2 1 1 2 4 4] 64
	// 3d [2 1 1 2 4 4] 64
}
