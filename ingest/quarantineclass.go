package ingest

import "errors"

// QuarantineClasser is implemented by read errors that belong to a class
// worth counting in the run summary, such as the DICOM transfer syntax a
// codec does not decode: the summary then says how many units each class
// quarantined ("3 quarantined [unsupported transfer syntax 1.2.840.10008.1.2.4.90
// (JPEG 2000 Image Compression (Lossless Only))=3]") instead of leaving the
// reader to group quarantine.jsonl by hand.
type QuarantineClasser interface {
	QuarantineClass() string
}

// QuarantineClass returns the class of a read error (the first in its chain
// that names one), or "".
func QuarantineClass(err error) string {
	var c QuarantineClasser
	if errors.As(err, &c) {
		return c.QuarantineClass()
	}
	return ""
}
