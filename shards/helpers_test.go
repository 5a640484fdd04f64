package shards

import (
	"fmt"
	"math/rand/v2"
)

// testSample builds a deterministic sample with nImages images of the
// given shape; voxel bytes are pseudo-random from the seed i.
func testSample(i, nImages, d, h, w int, dt DType) Sample {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	s := Sample{
		ID:          MakeID("test", fmt.Sprint(i)),
		Source:      []string{"nifti", "pmc-oa", "vqa-rad"}[i%3],
		Task:        []string{TaskCaption, TaskVQA}[i%2],
		Group:       fmt.Sprintf("case-%d", i/2),
		Split:       "train",
		License:     "CC-BY-4.0",
		Instruction: fmt.Sprintf("What is shown in image %d? ünïcödé", i),
		Response:    "A chest radiograph.",
		Meta:        map[string]string{"z": "last", "a": "first", "n": fmt.Sprint(i)},
	}
	for k := 0; k < nImages; k++ {
		im := Image{Modality: "CT", Plane: "axial", DType: dt, Channels: 1, Depth: d, Height: h, Width: w,
			Spacing: [3]float64{0.7, 0.7, 2.5}, Affine: IdentityAffine(),
			Transforms:   []Transform{{Name: "canonical", Params: `{"from":"LPS"}`}, {Name: "resize", Params: fmt.Sprintf(`{"depth":%d}`, d)}},
			SourcePath:   fmt.Sprintf("in/%d_%d.nii.gz", i, k),
			SourceSHA256: HashString(fmt.Sprint(i, k)),
			Meta:         map[string]string{"series": fmt.Sprint(k)},
		}
		im.Affine[3] = float64(i)
		im.Voxels = make([]byte, im.NumVoxels()*dt.Size())
		for j := 0; j+8 <= len(im.Voxels); j += 8 {
			v := r.Uint64()
			for b := 0; b < 8; b++ {
				im.Voxels[j+b] = byte(v >> (8 * b))
			}
		}
		s.Images = append(s.Images, im)
		s.Placements = append(s.Placements, Placement{Image: k, Field: FieldInstruction, Offset: k})
	}
	return s
}

func testSamples(n int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		switch i % 4 {
		case 0:
			out[i] = testSample(i, 1, 8, 16, 16, Int16) // 3D
		case 1:
			out[i] = testSample(i, 2, 1, 32, 32, Uint8) // two 2D
		case 2:
			out[i] = testSample(i, 0, 0, 0, 0, Uint8) // text only
		default:
			out[i] = testSample(i, 1, 1, 24, 20, Float32)
		}
	}
	return out
}
