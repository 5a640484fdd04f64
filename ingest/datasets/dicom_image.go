package datasets

import (
	"errors"

	"github.com/medmd/medmd/shards"
)

// errNoDICOM is returned for DICOM images until the DICOM package exposes
// single-file pixel decoding; convert such datasets to PNG/JPEG meanwhile.
var errNoDICOM = errors.New("DICOM images are not supported by this build (use the PNG/JPEG conversion of the dataset)")

// decodeDICOM decodes one DICOM file into a 2D image.
func decodeDICOM(path string, data []byte) (shards.Image, error) {
	return shards.Image{}, errNoDICOM
}
