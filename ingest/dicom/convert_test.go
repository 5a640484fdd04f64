package dicom

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConvertMixedFolder runs dicom2nii's engine on a folder of mixed
// series, an unsupported file, a non-image object and junk, then compares
// the written MR volume with dcm2niix's conversion of the same folder.
func TestConvertMixedFolder(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	names, _ := filepath.Glob(filepath.Join(brainDir, "*.dcm"))
	for _, n := range names {
		// Names without extension, in a folder of their own: DICOM is
		// recognised by content.
		copyFile(t, n, filepath.Join(in, "mr", strings.TrimSuffix(filepath.Base(n), ".dcm")))
	}
	for _, n := range []string{"pydicom_CT_small.dcm", "pydicom_JPGExtended.dcm", "pydicom_rtstruct.dcm"} {
		copyFile(t, filepath.Join("testdata", n), filepath.Join(in, "misc", n))
	}
	os.WriteFile(filepath.Join(in, "misc", "junk.bin"), []byte("not dicom"), 0o644)
	out := t.TempDir()
	rep, err := Convert(context.Background(), in, out, ConvertOptions{Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Print(&buf)
	msg := buf.String()
	// The 12-bit JPEG file decodes now; it is skipped as secondary capture.
	if rep.VolumeN != 2 || len(rep.Failed) != 0 || !strings.Contains(msg, "pydicom_JPGExtended.dcm: secondary capture") {
		t.Fatalf("report:\n%s", msg)
	}
	var mr string
	for _, c := range rep.Written {
		if c.Shape == [4]int{1, 20, 256, 256} {
			mr = c.NIfTI
		}
		if _, err := os.Stat(c.Sidecar); err != nil {
			t.Fatal(err)
		}
	}
	if mr == "" {
		t.Fatalf("no MR volume written:\n%s", msg)
	}
	got, err := nifti.ReadFile(context.Background(), mr, nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed")
	}
	ref := t.TempDir()
	if b, err := exec.Command(bin, "-z", "y", "-f", "%s_%d", "-o", ref, filepath.Join(in, "mr")).CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, b)
	}
	refs, _ := filepath.Glob(filepath.Join(ref, "*.nii.gz"))
	if len(refs) != 1 {
		t.Fatalf("dcm2niix wrote %v", refs)
	}
	want, err := nifti.ReadFile(context.Background(), refs[0], nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	compareImages(t, got.Images[0], want.Images[0])
}

// TestConvertSaysWhyFilesAreSkipped: a series left out by the default
// exclusion rules is named with its reason, and the summary counts skips
// by kind, so a user whose series is missing knows --derived brings it back.
func TestConvertSaysWhyFilesAreSkipped(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	copyFile(t, filepath.Join("testdata", "pydicom_MR_small.dcm"), filepath.Join(in, "mr.dcm"))
	os.WriteFile(filepath.Join(in, "junk.bin"), []byte("not dicom"), 0o644)
	rep, err := Convert(context.Background(), in, t.TempDir(), ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Print(&buf)
	msg := buf.String()
	for _, want := range []string{"2 skipped (1 not DICOM, 1 excluded as localizer or derived)", "skipped " + filepath.Join(in, "mr.dcm") + ": derived secondary image (ImageType DERIVED\\SECONDARY\\OTHER)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
}

// TestConvertReplacesSidecarAtomically: a rerun replaces an existing
// sidecar by renaming a complete new file over it (a hard link to the old
// one keeps the old bytes), never by truncating and rewriting it in place.
func TestConvertReplacesSidecarAtomically(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	copyFile(t, filepath.Join("testdata", "pydicom_CT_small.dcm"), filepath.Join(in, "ct.dcm"))
	out := t.TempDir()
	rep, err := Convert(context.Background(), in, out, ConvertOptions{})
	if err != nil || len(rep.Written) != 1 {
		t.Fatalf("convert: %v %+v", err, rep)
	}
	side := rep.Written[0].Sidecar
	link := filepath.Join(t.TempDir(), "old.json")
	if err := os.Link(side, link); err != nil {
		t.Skip("no hard links here:", err)
	}
	os.WriteFile(link, []byte("old sidecar"), 0o644) // in place: side changes too
	if _, err := Convert(context.Background(), in, out, ConvertOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(link); string(b) != "old sidecar" {
		t.Error("the sidecar was rewritten in place, not replaced by a rename")
	}
	if b, _ := os.ReadFile(side); !strings.Contains(string(b), `"Converter": "medmd dicom2nii"`) {
		t.Errorf("new sidecar: %s", b)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
