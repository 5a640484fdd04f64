package dicom

import (
	"context"
	"path/filepath"
	"testing"
)

// TestJPEGColourSpace builds RGB images from baseline JPEG files whose
// colour space is told in different ways and compares them with
// pydicom+gdcm's pixels (testdata/lossy, RGB for these files): a stream
// with neither JFIF nor Adobe APP14 under an RGB header holds R, G, B
// (gdcm decodes it untransformed); an Adobe APP14 flag of 0 says RGB; the
// dcmtk and gdcm files carry YCbCr.
func TestJPEGColourSpace(t *testing.T) {
	cases := []struct{ file, lossy string }{
		{"pydicom_SC_jpeg_no_color_transform.dcm", "pydicom_SC_jpeg_no_color_transform.u8.gz"},
		{"pydicom_SC_rgb_jpeg_lossy_gdcm.dcm", "pydicom_SC_rgb_jpeg_lossy_gdcm.u8.gz"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, err := Scan(context.Background(), []string{filepath.Join("testdata", c.file)}, ScanOptions{IncludeDerived: true, IncludeLocalizers: true})
			if err != nil || len(res.Series) != 1 {
				t.Fatalf("scan: %v %+v", err, res)
			}
			imgs, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			im := imgs[0]
			ref := readGz(t, filepath.Join("testdata", "lossy", c.lossy))
			if im.Channels != 3 || len(im.Voxels) != len(ref) {
				t.Fatalf("%d channels, %d bytes; want 3, %d", im.Channels, len(im.Voxels), len(ref))
			}
			// ref is interleaved (pixel_array); Voxels hold one plane per
			// channel.
			maxd, npix := 0, len(ref)/3
			for i := range ref {
				d := int(ref[i]) - int(im.Voxels[i%3*npix+i/3])
				maxd = max(maxd, d, -d)
			}
			if maxd > lossyTolerance {
				t.Fatalf("RGB differs from pydicom+gdcm by up to %d (tolerance %d)", maxd, lossyTolerance)
			}
		})
	}
}
