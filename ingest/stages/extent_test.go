package stages

import (
	"context"
	"fmt"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestStagesExtentOne runs every image stage on volumes with an extent of
// 1 along each axis after canonical orientation (a single sagittal slice,
// a NIfTI with dim[1]=1, a scout) and on a 1×1×1 image: each stage returns
// an image or an error, never panics, and the bytes match the dims.
func TestStagesExtentOne(t *testing.T) {
	stages := []string{
		"{type: resize, height: 16, width: 12, height_2d: 20, width_2d: 20, mode: area}",
		"{type: resize, height: 16, width: 12, mode: antialias}",
		"{type: resize, height: 16, width: 12, mode: nearest}",
		"{type: depth_rule}",
		"{type: intensity}",
		"{type: intensity, method: percentile}",
		"{type: window, windows: [brain, bone]}",
		"{type: model_input}",
		"{type: model_input, mode: area}",
	}
	shapes := [][3]int{{1, 1, 1}, {1, 40, 1}, {1, 1, 30}, {12, 1, 30}, {12, 40, 1}, {12, 1, 1}, {1, 40, 30}, {70, 1, 30}}
	for _, st := range stages {
		for _, sh := range shapes {
			for _, mod := range []string{"CT", "MR"} {
				t.Run(fmt.Sprintf("%s/%v/%s", st, sh, mod), func(t *testing.T) {
					stage := build(t, st)
					s := shards.Sample{Images: []shards.Image{volume(mod, sh[0], sh[1], sh[2])}}
					if err := stage.Apply(context.Background(), &s); err != nil {
						t.Logf("error (allowed): %v", err)
						return
					}
					im := s.Images[0]
					if n := int64(im.Channels) * int64(im.Depth) * int64(im.Height) * int64(im.Width) * int64(im.DType.Size()); n != int64(len(im.Voxels)) || n == 0 {
						t.Fatalf("%d voxel bytes for %dx%dx%dx%d %s", len(im.Voxels), im.Channels, im.Depth, im.Height, im.Width, im.DType)
					}
				})
			}
		}
	}
}
