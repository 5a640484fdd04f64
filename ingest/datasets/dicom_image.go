package datasets

import (
	"context"
	"errors"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/shards"
)

// decodeDICOM decodes one DICOM file (a radiograph: VinDr-CXR, MIMIC-CXR)
// with the project's DICOM reader, as a one-file series: rescale applied,
// MONOCHROME1 kept as stored and recorded in Meta["photometric"], pixel
// spacing and modality from the header. A multi-frame file keeps its first
// volume.
func decodeDICOM(ctx context.Context, path string) (shards.Image, error) {
	r, err := dicom.ReadImages(ctx, path, dicom.ImagesOptions{
		Scan: dicom.ScanOptions{IncludeDerived: true, IncludeLocalizers: true},
		Only: func(i int, _ *dicom.Series) bool { return i == 0 },
	})
	if err != nil {
		return shards.Image{}, err
	}
	if len(r.Volumes[0]) == 0 || r.Volumes[0][0] == nil {
		return shards.Image{}, errors.New("DICOM: no image")
	}
	return *r.Volumes[0][0], nil
}
