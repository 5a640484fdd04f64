package montage_test

import (
	"context"
	"fmt"
	"image"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/internal/montage"
)

// ExampleRender draws 9 coronal slices of a bundled brain volume.
func ExampleRender() {
	r, err := nifti.ReadFile(context.Background(), "../../testdata/nifti/anatomical.nii", nifti.Options{})
	if err != nil {
		panic(err)
	}
	pic, err := montage.Render(r.Images[0], montage.Options{Plane: montage.Coronal, Tiles: 9})
	if err != nil {
		panic(err)
	}
	_, grey := pic.(*image.Gray)
	fmt.Println(pic.Bounds().Dx(), pic.Bounds().Dy(), grey, montage.Slices(41, 9))
	// Output: 388 295 true [2 6 11 15 20 25 29 34 38]
}
