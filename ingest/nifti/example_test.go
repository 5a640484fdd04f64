package nifti_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medmd/medmd/ingest/nifti"
)

// ExampleReadFile reads a big-endian LAS volume and gets it back in
// canonical RAS order.
func ExampleReadFile() {
	res, err := nifti.ReadFile(context.Background(), "testdata/anatomical.nii", nifti.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	im := res.Images[0]
	fmt.Println(res.Orientation.Codes(), "→ RAS")
	fmt.Println(im.DType, im.Width, im.Height, im.Depth, im.Spacing)
	fmt.Println(im.Transforms[0].Name, im.Transforms[0].Params)
	// Output:
	// LAS → RAS
	// int16 33 41 25 [2 2 2]
	// canonical_ras {"flip":[true,false,false],"from":"LAS","perm":[0,1,2]}
}

// ExampleWriteFile writes an image back out as gzipped NIfTI-1 with its
// affine as sform and qform.
func ExampleWriteFile() {
	res, err := nifti.ReadFile(context.Background(), "testdata/small_64D.nii", nifti.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "nifti-example")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "b0.nii.gz")
	if err := nifti.WriteFile(out, res.Images[0]); err != nil {
		fmt.Println(err)
		return
	}
	back, _ := nifti.ReadFile(context.Background(), out, nifti.Options{})
	fmt.Println(back, back.Header.SformCode, back.Header.QformCode)
	// Output:
	// NIfTI-1 int16 10×10×10 RAS 1 1
}
