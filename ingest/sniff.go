package ingest

import (
	"fmt"
	"io"
	"os"
)

// Sniff returns the registered inspector that recognises path from its
// name and first 1024 bytes (`medmd inspect`), or an error naming the
// formats medmd reads.
func Sniff(path string) (Inspector, error) {
	f, err := os.Open(path)
	if err != nil {
		return Inspector{}, err
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return Inspector{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, in := range Inspectors() {
		if in.Sniff(path, head[:n]) {
			return in, nil
		}
	}
	return Inspector{}, fmt.Errorf("%s: not a format medmd reads (DICOM, NIfTI, JATS .nxml, PMC .tar.gz)", path)
}
