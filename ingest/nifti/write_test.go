package nifti

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestWriteRoundTrip writes canonical images of several real files back out
// (plain and gzipped) and reads them again: same voxels, dtype, shape,
// affine, spacing; and the re-read orientation is the identity.
func TestWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"anatomical.nii", "small_64D.nii", "derived/rgb24.nii.gz", "derived/scaled_int16.nii.gz", "derived/qform_only_oblique.nii", "derived/dtype_uint64_be.nii", "derived/sform_pir_sheared.nii.gz"} {
		res, err := ReadFile(ctx, filepath.Join("testdata", name), Options{})
		if err != nil {
			t.Fatal(err)
		}
		im := res.Images[0]
		for _, ext := range []string{".nii", ".nii.gz"} {
			out := filepath.Join(dir, filepath.Base(name)+ext)
			if err := WriteFile(out, im); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v, want 0644 (err %v)", out, fi.Mode().Perm(), err)
			}
			back, err := ReadFile(ctx, out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := back.Images[0]
			if !back.Orientation.IsIdentity() {
				t.Errorf("%s%s: re-read orientation %s, want RAS", name, ext, back.Orientation.Codes())
			}
			if !bytes.Equal(got.Voxels, im.Voxels) || got.DType != im.DType || got.Channels != im.Channels ||
				got.Width != im.Width || got.Height != im.Height || got.Depth != im.Depth {
				t.Errorf("%s%s: voxels/shape differ after round trip", name, ext)
			}
			for i := range 16 {
				// the sform is float32 on disk
				if math.Abs(got.Affine[i]-im.Affine[i]) > 1e-5*math.Max(1, math.Abs(im.Affine[i])) {
					t.Errorf("%s%s: affine %v, want %v", name, ext, got.Affine, im.Affine)
					break
				}
			}
			for i := range 3 {
				if math.Abs(got.Spacing[i]-im.Spacing[i]) > 1e-6 {
					t.Errorf("%s%s: spacing %v, want %v", name, ext, got.Spacing, im.Spacing)
				}
			}
		}
	}
}

// TestWriteNibabelReads checks that nibabel opens what WriteFile writes,
// with the same voxels (hashed in medmd's order), affine (sform) and a qform
// that agrees with the sform. Skipped only when Debian's python3 with
// nibabel is absent.
func TestWriteNibabelReads(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3: install Debian python3-nibabel (`make deps-apt`) to enable this test")
	}
	if err := exec.Command(py, "-c", "import nibabel").Run(); err != nil {
		t.Skip("nibabel not importable by /usr/bin/python3: install Debian python3-nibabel (`make deps-apt`) to enable this test")
	}
	dir := t.TempDir()
	names := []string{"aniso_vox.nii.gz", "derived/rgb24.nii.gz", "derived/qform_only_oblique.nii", "derived/scaled_int32.nii.gz"}
	var ims = map[string]*shards.Image{}
	var outs []string
	for i, name := range names {
		res, err := ReadFile(ctx, filepath.Join("testdata", name), Options{})
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("out%d.nii.gz", i))
		if err := WriteFile(out, res.Images[0]); err != nil {
			t.Fatal(err)
		}
		ims[out] = res.Images[0]
		outs = append(outs, out)
	}
	script := `
import sys, json, hashlib, numpy as np, nibabel as nib
for path in sys.argv[1:]:
    img = nib.load(path)
    a = np.asanyarray(img.dataobj)
    chans = [a[n] for n in a.dtype.names] if a.dtype.names else [a]
    h = hashlib.sha256()
    for c in chans:
        h.update(np.ascontiguousarray(c.transpose(2, 1, 0)).astype(c.dtype.newbyteorder("<")).tobytes())
    print(json.dumps({"path": path, "sha": h.hexdigest(), "affine": img.affine.ravel().tolist(),
        "qform": img.get_qform().ravel().tolist()}))
`
	b, err := exec.Command(py, append([]string{"-c", script}, outs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(outs) {
		t.Fatalf("nibabel printed %d lines for %d files:\n%s", len(lines), len(outs), b)
	}
	for _, line := range lines {
		var got struct {
			Path   string
			SHA    string
			Affine [16]float64
			Qform  [16]float64
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		im := ims[got.Path]
		name := got.Path
		sum := sha256.Sum256(im.Voxels)
		if got.SHA != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: nibabel reads different voxels", name)
		}
		for i := range 16 {
			if d := math.Abs(got.Affine[i] - im.Affine[i]); d > 1e-5*math.Max(1, math.Abs(im.Affine[i])) {
				t.Errorf("%s: nibabel affine %v, want %v", name, got.Affine, im.Affine)
				break
			}
			if d := math.Abs(got.Qform[i] - im.Affine[i]); d > 1e-4*math.Max(1, math.Abs(im.Affine[i])) {
				t.Errorf("%s: nibabel qform %v, want %v", name, got.Qform, im.Affine)
				break
			}
		}
	}
}
