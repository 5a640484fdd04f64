package load

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/internal/montage"
	"github.com/medmd/medmd/shards"
)

func repo(rel string) string { return filepath.Join("..", "..", rel) }

// corpus writes a one-sample corpus holding anatomical.nii and returns
// its manifest path.
func corpus(t *testing.T) string {
	t.Helper()
	r, err := nifti.ReadFile(context.Background(), repo("testdata/nifti/anatomical.nii"), nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := shards.Sample{ID: "s1", Source: "nifti", Task: shards.TaskCaption, Group: "g",
		Instruction: "look", Response: "brain", Images: []shards.Image{*r.Images[0]},
		Placements: []shards.Placement{{Image: 0, Field: shards.FieldInstruction}}}
	dir := t.TempDir()
	if _, err := shards.WriteCorpus(dir, "test", "h", shards.SamplesOf([]shards.Sample{s}), shards.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, shards.ManifestFile)
}

func TestWriteMontage(t *testing.T) {
	man := corpus(t)
	for _, tc := range []struct {
		name    string
		in      string
		spec    Spec
		o       montage.Options
		w, h    int
		tiles   int
		wantErr string
	}{
		{"nifti", repo("testdata/nifti/anatomical.nii"), Spec{}, montage.Options{}, 418, 518, 16, ""},
		{"nifti 4D volume 1", repo("testdata/nifti/example_nifti2.nii.gz"), Spec{Volume: 1}, montage.Options{Tiles: 4}, 258, 162, 4, ""},
		{"nifti volume out of range", repo("testdata/nifti/example_nifti2.nii.gz"), Spec{Volume: 2}, montage.Options{}, 0, 0, 0, "volume 2 of 2"},
		{"dicom folder", repo("testdata/dicom/mr-brain-20"), Spec{}, montage.Options{Tiles: 4}, 514, 514, 4, ""},
		{"dicom series out of range", repo("testdata/dicom/mr-brain-20"), Spec{Series: 1}, montage.Options{}, 0, 0, 0, "series 1 of 1"},
		{"manifest", man, Spec{ID: "s1"}, montage.Options{Plane: montage.Coronal}, 518, 394, 16, ""},
		{"manifest folder", filepath.Dir(man), Spec{ID: "s1"}, montage.Options{Tiles: 1}, 103, 128, 1, ""},
		{"manifest without id", man, Spec{}, montage.Options{}, 0, 0, 0, "needs --id"},
		{"manifest unknown id", man, Spec{ID: "nope"}, montage.Options{}, 0, 0, 0, `no sample with id "nope"`},
		{"manifest bad image", man, Spec{ID: "s1", Image: 3}, montage.Options{}, 0, 0, 0, "no image 3"},
		{"id on nifti", repo("testdata/nifti/anatomical.nii"), Spec{ID: "x"}, montage.Options{}, 0, 0, 0, "--id is for a corpus manifest"},
		{"missing", "nope.nii", Spec{}, montage.Options{}, 0, 0, 0, "nope.nii"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.png")
			rep, err := WriteMontage(context.Background(), tc.in, out, tc.spec, tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Error("failed run left a picture")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm()&0o044 != 0o044 {
				t.Errorf("picture mode %v (%v), want group/other readable like any written file", fi.Mode(), err)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			pic, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if b := pic.Bounds(); b != image.Rect(0, 0, tc.w, tc.h) || rep.Width != tc.w || rep.Height != tc.h {
				t.Errorf("picture %v (report %d×%d), want %d×%d", b, rep.Width, rep.Height, tc.w, tc.h)
			}
			if len(rep.Slices) != tc.tiles {
				t.Errorf("%d slices, want %d", len(rep.Slices), tc.tiles)
			}
			if !(rep.Hi > rep.Lo) {
				t.Errorf("window %g…%g", rep.Lo, rep.Hi)
			}
		})
	}
}

// TestWriteMontageNoFolder: a failure to write names the picture the user
// asked for, not the hidden temporary file.
func TestWriteMontageNoFolder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "nofolder", "m.png")
	_, err := WriteMontage(context.Background(), repo("testdata/nifti/anatomical.nii"), out, Spec{}, montage.Options{Tiles: 1})
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Fatalf("err = %v, want it to name %s", err, out)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{repo("testdata/nifti/anatomical.nii"), KindNIfTI},
		{repo("testdata/nifti/aniso_vox.nii.gz"), KindNIfTI},
		{repo("testdata/dicom/mr-brain-20"), KindDICOM},
		{repo("testdata/dicom/mr-brain-20/brain_001.dcm"), KindDICOM},
		{repo("testdata/nifti/README.md"), KindNIfTI}, // then fails as NIfTI, naming the file
	} {
		if got, err := Kind(tc.path); err != nil || got != tc.want {
			t.Errorf("Kind(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}
