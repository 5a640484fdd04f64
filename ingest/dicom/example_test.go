package dicom_test

import (
	"context"
	"fmt"

	"github.com/medmd/medmd/ingest/dicom"
)

// Scan a folder (headers only), then assemble each series into canonical
// RAS volumes.
func Example() {
	res, err := dicom.Scan(context.Background(), []string{"../../testdata/dicom/mr-brain-20"}, dicom.ScanOptions{})
	if err != nil {
		panic(err)
	}
	for _, s := range res.Series {
		imgs, err := dicom.ReadSeries(context.Background(), s, dicom.ReadOptions{Canonical: true})
		if err != nil {
			panic(err)
		}
		im := imgs[0]
		fmt.Println(im.Modality, im.DType, im.Width, im.Height, im.Depth, len(s.Warnings))
	}
	// Output: MR int16 256 256 20 0
}

// Read a folder (or one file, or a zip or tar of them) into assembled
// volumes in one call.
func ExampleReadImages() {
	r, err := dicom.ReadImages(context.Background(), "../../testdata/dicom/mr-brain-20", dicom.ImagesOptions{Read: dicom.ReadOptions{Canonical: true}})
	if err != nil {
		panic(err)
	}
	for i, s := range r.Series {
		im := r.Volumes[i][0]
		fmt.Println(s.Header().Modality, im.DType, im.Width, im.Height, im.Depth)
	}
	// Output: MR int16 256 256 20
}
