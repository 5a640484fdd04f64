// Package load finds the image a montage is drawn from — a NIfTI file, a
// folder (or archive) of DICOM files, or an image of a sample stored in a
// corpus manifest — and writes the montage PNG (`medmd montage`).
//
// It lives beside the sources it reads so that the renderer
// (internal/montage) stays free of them: plumbing under internal/ never
// imports upward.
package load

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/ingest/dicom"
	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/internal/montage"
	"github.com/medmd/medmd/shards"
)

// Spec picks one image out of an input.
type Spec struct {
	// ID and Image pick image Image of sample ID in a manifest.
	ID    string
	Image int
	// Series picks the Series-th DICOM series (in scan order) of a folder.
	Series int
	// Volume picks a volume of a 4D NIfTI file or DICOM series.
	Volume int
}

// Kind of an input.
const (
	KindNIfTI    = "nifti"
	KindDICOM    = "dicom"
	KindManifest = "manifest"
)

// Kind tells what path is: a manifest (a .json file, or a folder holding
// manifest.json), a DICOM input (another folder, a .zip/.tar archive or a
// .dcm file), else NIfTI.
func Kind(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	lower := strings.ToLower(path)
	switch {
	case st.IsDir():
		if _, err := os.Stat(filepath.Join(path, shards.ManifestFile)); err == nil {
			return KindManifest, nil
		}
		return KindDICOM, nil
	case strings.HasSuffix(lower, ".json"):
		return KindManifest, nil
	case strings.HasSuffix(lower, ".dcm"), strings.HasSuffix(lower, ".zip"),
		strings.HasSuffix(lower, ".tar"), strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return KindDICOM, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 132)
	n, _ := f.Read(head)
	if n == 132 && string(head[128:132]) == "DICM" {
		return KindDICOM, nil
	}
	return KindNIfTI, nil
}

// Image reads the image of path that s picks. For a NIfTI file or DICOM
// series it is reoriented to canonical RAS+; a manifest's image is stored
// canonical already. The image owns its voxels. what describes it for
// messages, e.g. `anatomical.nii (33×41×25 int16)`.
func Image(ctx context.Context, path string, s Spec) (im *shards.Image, what string, err error) {
	kind, err := Kind(path)
	if err != nil {
		return nil, "", err
	}
	if kind != KindManifest && s.ID != "" {
		return nil, "", fmt.Errorf("%s: --id is for a corpus manifest, this is %s", path, kind)
	}
	switch kind {
	case KindManifest:
		im, what, err = fromManifest(ctx, path, s)
	case KindDICOM:
		im, what, err = fromDICOM(ctx, path, s)
	default:
		im, what, err = fromNIfTI(ctx, path, s)
	}
	if err != nil {
		return nil, "", err
	}
	return im, fmt.Sprintf("%s (%d×%d×%d %s%s)", what, im.Width, im.Height, im.Depth, im.DType, chans(im)), nil
}

func chans(im *shards.Image) string {
	if im.Channels == 1 {
		return ""
	}
	return fmt.Sprintf(", %d channels", im.Channels)
}

func fromNIfTI(ctx context.Context, path string, s Spec) (*shards.Image, string, error) {
	r, err := nifti.ReadFile(ctx, path, nifti.Options{AllVolumes: s.Volume > 0})
	if err != nil {
		return nil, "", err
	}
	if s.Volume < 0 || s.Volume >= len(r.Images) {
		return nil, "", fmt.Errorf("%s: volume %d of %d", path, s.Volume, r.NumVolumes)
	}
	what := path
	if r.NumVolumes > 1 {
		what = fmt.Sprintf("%s volume %d of %d", path, s.Volume, r.NumVolumes)
	}
	return r.Images[s.Volume], what, nil
}

func fromDICOM(ctx context.Context, path string, s Spec) (*shards.Image, string, error) {
	r, err := dicom.ReadImages(ctx, path, dicom.ImagesOptions{
		Read: dicom.ReadOptions{Canonical: true},
		Only: func(i int, _ *dicom.Series) bool { return i == s.Series },
	})
	if err != nil {
		return nil, "", err
	}
	if s.Series < 0 || s.Series >= len(r.Series) {
		return nil, "", fmt.Errorf("%s: series %d of %d", path, s.Series, len(r.Series))
	}
	se, imgs := r.Series[s.Series], r.Volumes[s.Series]
	if s.Volume < 0 || s.Volume >= len(imgs) {
		return nil, "", fmt.Errorf("%s: series %s: volume %d of %d", path, se.ID, s.Volume, len(imgs))
	}
	what := fmt.Sprintf("%s series %d of %d", path, s.Series, len(r.Series))
	if len(imgs) > 1 {
		what += fmt.Sprintf(" volume %d of %d", s.Volume, len(imgs))
	}
	return imgs[s.Volume], what, nil
}

// fromManifest streams the corpus (m.Iter) to the sample and copies only the
// chosen image's voxels out of the mapping.
func fromManifest(ctx context.Context, path string, s Spec) (*shards.Image, string, error) {
	if s.ID == "" {
		return nil, "", fmt.Errorf("%s: a manifest needs --id SAMPLE_ID (medmd shards head %s lists the ids)", path, path)
	}
	m, err := shards.ReadManifest(path)
	if err != nil {
		return nil, "", err
	}
	for smp, err := range m.Iter(ctx) {
		if err != nil {
			return nil, "", err
		}
		if smp.ID != s.ID {
			continue
		}
		if s.Image < 0 || s.Image >= len(smp.Images) {
			return nil, "", fmt.Errorf("%s: sample %s has %d images, no image %d", path, s.ID, len(smp.Images), s.Image)
		}
		im := smp.Images[s.Image]
		im.Voxels = append([]byte(nil), im.Voxels...)
		return &im, fmt.Sprintf("%s sample %s image %d", path, s.ID, s.Image), nil
	}
	return nil, "", fmt.Errorf("%s: no sample with id %q", path, s.ID)
}

// Report says what WriteMontage drew.
type Report struct {
	What          string // the input image, as Image describes it
	Width, Height int    // of the picture
	Slices        []int  // slice indices shown
	Lo, Hi        float64
	AsIs          bool // uint8 shown without windowing
}

// WriteMontage reads the image of in that s picks, renders its montage and
// writes it as a PNG to out (temp file, then rename: a failed run leaves
// no partial picture).
func WriteMontage(ctx context.Context, in, out string, s Spec, o montage.Options) (*Report, error) {
	im, what, err := Image(ctx, in, s)
	if err != nil {
		return nil, err
	}
	rep := &Report{What: what}
	switch {
	case o.Width > 0:
		rep.Lo, rep.Hi = o.Level-o.Width/2, o.Level+o.Width/2
	case im.DType == shards.Uint8:
		rep.AsIs = true
	default:
		// Measure the percentiles once, for the report and the picture.
		if rep.Lo, rep.Hi, err = montage.AutoWindow(im, o.LowPct, o.HighPct); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		o.Level, o.Width = (rep.Lo+rep.Hi)/2, rep.Hi-rep.Lo
	}
	pic, err := montage.Render(im, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rep.Width, rep.Height = pic.Bounds().Dx(), pic.Bounds().Dy()
	n := im.Depth
	switch o.Plane {
	case montage.Coronal:
		n = im.Height
	case montage.Sagittal:
		n = im.Width
	}
	rep.Slices = montage.Slices(n, o.Tiles)
	enc := &png.Encoder{CompressionLevel: png.BestSpeed}
	if err := shards.Publish(nil, out, func(w io.Writer) error { return enc.Encode(w, pic) }); err != nil {
		return nil, fmt.Errorf("%s: %w", out, err)
	}
	return rep, nil
}
