package normalize_test

import (
	"fmt"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

func ExampleTargetDepth() {
	for _, d := range []int{1, 3, 6, 7, 10, 25, 316} {
		fmt.Print(normalize.TargetDepth(d), " ")
	}
	// Output: 1 4 4 8 8 24 64
}

func ExampleResize() {
	// A 2-slice, 4×4 uint8 volume, 1 mm voxels, halved in-plane.
	im := &shards.Image{DType: shards.Uint8, Channels: 1, Depth: 2, Height: 4, Width: 4,
		Voxels: make([]byte, 32), Affine: shards.IdentityAffine(), Spacing: [3]float64{1, 1, 1}}
	for i := range im.Voxels {
		im.Voxels[i] = byte(i)
	}
	if err := normalize.Resize(im, normalize.ResizeOptions{Height: 2, Width: 2, Mode: normalize.Area, OutDType: shards.Uint8}); err != nil {
		panic(err)
	}
	fmt.Println(im.Depth, im.Height, im.Width, im.Voxels)
	// New voxel 0 covers old voxels 0–1: its centre is at old index 0.5.
	fmt.Println(im.Spacing, im.Affine[3])
	fmt.Println(im.Transforms[0].Params)
	// Output:
	// 2 2 2 [3 5 11 13 19 21 27 29]
	// [2 2 1] 0.5
	// {"convention":"pixel-centre","depth":2,"dtype":"uint8","from":[2,4,4],"height":2,"mode":"area","width":2}
}

func ExampleRewriteSample() {
	s := shards.Sample{
		Response:   "Axial CT (Fig. 2A) shows a mass [12].",
		Placements: []shards.Placement{{Image: 0, Field: shards.FieldResponse, Offset: 9}},
	}
	counts := normalize.RewriteSample(&s, normalize.CleanRules(normalize.TextOptions{Callouts: true}))
	fmt.Printf("%q %d %v\n", s.Response, s.Placements[0].Offset, counts["callout"])
	// Output: "Axial CT shows a mass." 8 1
}
