package train

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/normalize"

	"github.com/medmd/medmd/shards"
)

// Real-ish radiology captions and questions (written for these tests).
var testCaptions = []string{
	"Axial CT of the chest shows a small left pleural effusion.",
	"Frontal chest radiograph shows cardiomegaly without pneumothorax.",
	"Axial T2 MRI of the brain shows a hyperintense lesion in the left frontal lobe.",
	"Contrast-enhanced CT of the abdomen shows a hypodense liver lesion.",
	"Ultrasound of the gallbladder shows gallstones without cholecystitis.",
	"Sagittal MRI of the lumbar spine shows disc herniation at L4-L5.",
	"CT angiography shows an aneurysm of the abdominal aorta.",
	"Chest radiograph shows bilateral consolidation consistent with pneumonia.",
}

var testQuestions = []string{
	"Describe the findings in this image.",
	"What does this scan show?",
	"Write a caption for the figure.",
}

// testSamples builds n samples: 2D uint8 images (16×16) for even i, 3D
// int16 volumes (9×12×20) for odd i, image placed at the start of the
// instruction; every 5th sample has no image.
func testSamples(n int) []shards.Sample {
	var out []shards.Sample
	for i := 0; i < n; i++ {
		cap := testCaptions[i%len(testCaptions)]
		s := shards.Sample{
			ID:          fmt.Sprintf("test-%03d", i),
			Source:      "test",
			Task:        shards.TaskCaption,
			Group:       fmt.Sprintf("g%d", i),
			Instruction: testQuestions[i%len(testQuestions)],
			Response:    cap,
		}
		if i%5 != 4 {
			var im shards.Image
			if i%2 == 0 {
				im = shards.Image{Modality: "CT", DType: shards.Uint8, Channels: 1, Depth: 1, Height: 16, Width: 16}
				im.Voxels = make([]byte, 256)
				for k := range im.Voxels {
					im.Voxels[k] = byte((k*7 + i*13) % 251)
				}
			} else {
				im = shards.Image{Modality: "MR", DType: shards.Int16, Channels: 1, Depth: 9, Height: 12, Width: 20}
				im.Voxels = make([]byte, 2*9*12*20)
				for k := 0; k < 9*12*20; k++ {
					binary.LittleEndian.PutUint16(im.Voxels[2*k:], uint16(int16((k*31+i)%2000-1000)))
				}
			}
			im.Affine = shards.IdentityAffine()
			s.Images = []shards.Image{im}
			s.Placements = []shards.Placement{{Image: 0, Field: shards.FieldInstruction, Offset: 0}}
		}
		out = append(out, s)
	}
	return out
}

// modelReady returns testSamples(n) made exactly what cfg's model takes,
// as the model_input ingest stage does (the 3D volumes become 8 slices:
// two depth patches of the tiny preset).
func modelReady(t testing.TB, n int, cfg Config) []shards.Sample {
	t.Helper()
	smps := testSamples(n)
	for i := range smps {
		for k := range smps[i].Images {
			if err := normalize.ApplyModelInput(&smps[i].Images[k], cfg.ModelInput, normalize.Linear); err != nil {
				t.Fatal(err)
			}
		}
	}
	return smps
}

// writeCorpus writes smps as a shard corpus and returns its manifest.
func writeCorpus(t testing.TB, smps []shards.Sample, perShard int) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := shards.WriteCorpus(dir, "test", "h", shards.SamplesOf(smps), shards.WriteOptions{MaxSamples: perShard}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "manifest.json")
}
