package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMontageVerb runs `medmd montage` on a bundled NIfTI file and decodes
// the PNG it writes.
func TestMontageVerb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the medmd binary; run without -short")
	}
	dir := t.TempDir()
	in := repoFile(t, "testdata/nifti/anatomical.nii")
	for _, tc := range []struct {
		args []string
		w, h int
		say  string
	}{
		// 33×41×25 at 2 mm: 16 axial tiles of 103×128 in a 4×4 grid.
		{[]string{"-o", "ax.png"}, 4*103 + 3*2, 4*128 + 3*2, "16 axial slices"},
		{[]string{"--plane", "sagittal", "--tiles", "4", "--level", "6000", "--width", "10000", "-o", "sag.png"}, 2*128 + 2, 2*78 + 2, "window 1000…1.1e+04"},
	} {
		out := medmd(t, dir, true, append([]string{"montage", in}, tc.args...)...)
		if !strings.Contains(out, tc.say) {
			t.Errorf("output %q does not say %q", out, tc.say)
		}
		name := tc.args[len(tc.args)-1]
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		pic, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pic.Bounds() != image.Rect(0, 0, tc.w, tc.h) {
			t.Errorf("%s: %v, want %d×%d", name, pic.Bounds(), tc.w, tc.h)
		}
		g, ok := pic.(*image.Gray)
		if !ok {
			t.Fatalf("%s: %T, want grey", name, pic)
		}
		var lit int
		for _, v := range g.Pix {
			if v > 64 {
				lit++
			}
		}
		if lit < len(g.Pix)/4 {
			t.Errorf("%s: only %d of %d pixels lit", name, lit, len(g.Pix))
		}
	}
	medmd(t, dir, false, "montage", in)                                // no -o
	medmd(t, dir, false, "montage", in, "--level", "5", "-o", "x.png") // level without width
	medmd(t, dir, false, "montage", in, "--plane", "oblique", "-o", "x.png")
	if help := medmd(t, dir, true, "montage", "--help"); !strings.Contains(help, "radiological") || !strings.Contains(help, "--id ID") {
		t.Errorf("help lacks the convention or examples:\n%s", help)
	}
}
