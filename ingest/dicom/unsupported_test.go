package dicom

import (
	"bytes"
	"os"
	"testing"
)

// unsupportedSyntax is a real transfer syntax medmd does not decode
// (JPEG 2000 Part 2 multi-component), the same length as .4.91 so a file
// can be relabelled in place.
const unsupportedSyntax = JPEG2000Part2

// asUnsupported relabels a JPEG 2000 (.4.91) file's transfer syntax as
// one medmd does not decode, for tests of the quarantine path.
func asUnsupported(t testing.TB, b []byte) []byte {
	t.Helper()
	out := bytes.Replace(b, []byte(JPEG2000), []byte(unsupportedSyntax), 1)
	if bytes.Equal(out, b) {
		t.Fatal("no JPEG 2000 transfer syntax to relabel")
	}
	return out
}

// writeUnsupported writes testdata/pydicom_JPEG2000.dcm relabelled by
// asUnsupported to path.
func writeUnsupported(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile("testdata/pydicom_JPEG2000.dcm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, asUnsupported(t, b), 0o644); err != nil {
		t.Fatal(err)
	}
}
