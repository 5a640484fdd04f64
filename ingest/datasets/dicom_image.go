package datasets

import (
	"context"
	"errors"
	"fmt"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/shards"
)

// decodeDICOM decodes one DICOM file (a radiograph: VinDr-CXR, MIMIC-CXR)
// with the project's DICOM reader, as a one-file series: rescale applied,
// MONOCHROME1 kept as stored and recorded in Meta["photometric"], pixel
// spacing and modality from the header. A multi-frame file keeps its first
// volume.
func decodeDICOM(path string) (shards.Image, error) {
	res, err := dicom.Scan(context.Background(), []string{path}, dicom.ScanOptions{IncludeDerived: true, IncludeLocalizers: true})
	if err != nil {
		return shards.Image{}, err
	}
	if len(res.Series) == 0 {
		for _, sk := range res.Skipped {
			return shards.Image{}, fmt.Errorf("DICOM: %s", sk.Reason)
		}
		return shards.Image{}, errors.New("DICOM: no image")
	}
	ims, err := dicom.ReadSeries(context.Background(), res.Series[0], dicom.ReadOptions{})
	if err != nil {
		return shards.Image{}, err
	}
	if len(ims) == 0 || ims[0] == nil {
		return shards.Image{}, errors.New("DICOM: no image")
	}
	im := *ims[0]
	if h := res.Series[0].Header(); h != nil && im.Modality == "" {
		im.Modality = h.Modality
	}
	return im, nil
}
