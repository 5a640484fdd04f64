package datasets

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/shards"
)

// decodeDICOM decodes one DICOM file (a radiograph: VinDr-CXR, MIMIC-CXR)
// with the project's DICOM reader, as a one-file series: rescale applied,
// MONOCHROME1 kept as stored and recorded in Meta["photometric"], pixel
// spacing and modality from the header. A multi-frame file keeps its first
// volume. data is the file's bytes, read already: an object's are written
// to a temporary file for the reader, which reads files.
func (t *tree) decodeDICOM(ctx context.Context, path string, data []byte) (shards.Image, error) {
	if _, remote := t.key(path); remote {
		tmp, err := os.CreateTemp("", "medmd-dataset-*.dcm")
		if err != nil {
			return shards.Image{}, err
		}
		defer os.Remove(tmp.Name())
		_, err = tmp.Write(data)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return shards.Image{}, err
		}
		im, err := t.decodeDICOM(ctx, tmp.Name(), nil)
		if err != nil {
			return im, shards.Reworded(err, strings.ReplaceAll(err.Error(), tmp.Name(), path))
		}
		return im, nil
	}
	r, err := dicom.ReadImages(ctx, path, dicom.ImagesOptions{
		Scan: dicom.ScanOptions{IncludeDerived: true, IncludeLocalizers: true},
		Only: func(i int, _ *dicom.Series) bool { return i == 0 },
	})
	if err != nil {
		return shards.Image{}, classifySyntax(err)
	}
	if len(r.Volumes[0]) == 0 || r.Volumes[0][0] == nil {
		return shards.Image{}, errors.New("DICOM: no image")
	}
	return *r.Volumes[0][0], nil
}

// unsupportedSyntaxRe finds the transfer syntax UID in ingest/dicom's
// documented error text "unsupported transfer syntax <UID> (<name>)".
var unsupportedSyntaxRe = regexp.MustCompile(`unsupported transfer syntax ([0-9.]+)`)

// syntaxError is the read error of a DICOM image whose transfer syntax
// medmd does not decode. Its QuarantineClass names the syntax, so the run
// summary counts quarantined images per transfer syntax (VinDr-CXR ships
// some of its images as JPEG 2000).
type syntaxError struct {
	err   error
	class string
}

func (e *syntaxError) Error() string           { return e.err.Error() }
func (e *syntaxError) Unwrap() error           { return e.err }
func (e *syntaxError) QuarantineClass() string { return e.class }

// classifySyntax wraps an unsupported-transfer-syntax error as a
// syntaxError; other errors are returned as they are.
func classifySyntax(err error) error {
	m := unsupportedSyntaxRe.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return &syntaxError{err: err, class: "unsupported transfer syntax " + m[1] + " (" + dicom.SyntaxName(m[1]) + ")"}
}
