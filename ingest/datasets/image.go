package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // the datasets ship JPEG and PNG
	_ "image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/shards"
)

// maxImageFileBytes bounds one image file read whole into memory.
const maxImageFileBytes = 1 << 30

// maxPixels bounds the decoded size of one 2D image (a 4k×4k mammogram is
// 16 M pixels; 100 M is well past anything the datasets hold).
const maxPixels = 100 << 20

// readBounded reads a whole file, refusing files over limit.
func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte limit", path, st.Size(), limit)
	}
	return os.ReadFile(path)
}

// loadImages reads the image(s) in one file: a PNG or JPEG (one 2D image),
// a DICOM file, or a NumPy .npy array (one or more volumes, RadFM's
// Radiopaedia layout; see npy.go). rel is the path recorded on the image
// (relative to the dataset root, so it is the same on every machine);
// modality is recorded where the file does not say.
func loadImages(path, rel, modality string) ([]shards.Image, error) {
	data, err := readBounded(path, maxImageFileBytes)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	var ims []shards.Image
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".npy":
		ims, err = decodeNpyImages(data)
	case ext == ".dcm" || ext == ".dicom" || isDICOM(data):
		var im shards.Image
		im, err = decodeDICOM(path, data)
		ims = []shards.Image{im}
	default:
		var im shards.Image
		im, err = decode2D(data)
		ims = []shards.Image{im}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range ims {
		ims[i].SourcePath = rel
		ims[i].SourceSHA256 = sha
		if ims[i].Modality == "" {
			ims[i].Modality = modality
		}
		if ims[i].Affine == ([16]float64{}) {
			ims[i].Affine = shards.IdentityAffine()
		}
	}
	return ims, nil
}

// isDICOM sniffs the DICM magic at offset 128.
func isDICOM(data []byte) bool {
	return len(data) >= 132 && string(data[128:132]) == "DICM"
}

// decode2D decodes a PNG or JPEG into the project layout: grey images keep
// one channel (8- or 16-bit), colour images become 3 planar uint8 channels
// (alpha dropped). Channels are planes, not interleaved: channel, then
// rows, then columns.
func decode2D(data []byte) (shards.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return shards.Image{}, fmt.Errorf("%s image of %d×%d pixels is out of range", format, cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("%s: %w", format, err)
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	im := shards.Image{Depth: 1, Height: h, Width: w, Affine: shards.IdentityAffine(),
		Meta: map[string]string{"format": format}}
	switch s := src.(type) {
	case *image.Gray:
		im.DType, im.Channels = shards.Uint8, 1
		im.Voxels = make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(im.Voxels[y*w:(y+1)*w], s.Pix[y*s.Stride:y*s.Stride+w])
		}
	case *image.Gray16:
		im.DType, im.Channels = shards.Uint16, 1
		im.Voxels = make([]byte, 2*w*h)
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride:]
			for x := 0; x < w; x++ {
				// Gray16 is big-endian; voxels are little-endian.
				im.Voxels[2*(y*w+x)] = row[2*x+1]
				im.Voxels[2*(y*w+x)+1] = row[2*x]
			}
		}
	default:
		if isGrey(src) {
			im.DType, im.Channels = shards.Uint8, 1
			im.Voxels = make([]byte, w*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					g := color.GrayModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.Gray)
					im.Voxels[y*w+x] = g.Y
				}
			}
			break
		}
		im.DType, im.Channels = shards.Uint8, 3
		im.Voxels = make([]byte, 3*w*h)
		plane := w * h
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := y*w + x
				im.Voxels[i] = c.R
				im.Voxels[plane+i] = c.G
				im.Voxels[2*plane+i] = c.B
			}
		}
	}
	return im, nil
}

// isGrey reports whether a decoded image is greyscale in disguise (a
// palette or YCbCr JPEG whose chroma is neutral everywhere).
func isGrey(src image.Image) bool {
	switch s := src.(type) {
	case *image.YCbCr:
		for _, v := range s.Cb {
			if v != 128 {
				return false
			}
		}
		for _, v := range s.Cr {
			if v != 128 {
				return false
			}
		}
		return true
	case *image.Paletted:
		for _, c := range s.Palette {
			r, g, b, _ := c.RGBA()
			if r != g || g != b {
				return false
			}
		}
		return true
	}
	return false
}
