package main

import (
	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/internal/perf"
)

// The dicom package also registers the "dicom" source and inspector.
func init() {
	perf.Register("dicom", "DICOM CT series (512×512×200) → HU volume vs dcm2niix and pydicom; peak RSS", dicom.Perf)
}
