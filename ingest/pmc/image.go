package pmc

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // figure formats PMC ships
	_ "image/jpeg"
	_ "image/png"

	"github.com/medmd/medmd/shards"
)

// decodeFigure decodes a figure file (JPEG, PNG, GIF) into a 2D uint8 image:
// 1 channel when the picture is grayscale, else 3 (RGB, alpha dropped),
// laid out channels, rows, columns as shards.Image requires. The declared
// dimensions are checked against maxPixels before any pixel is decoded.
//
// This is a private stand-in for normalize.DecodeImage, which will replace
// it once it lands (TIFF and 16-bit support live there).
func decodeFigure(data []byte, name string, maxPixels int) (shards.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || maxPixels > 0 && cfg.Width*cfg.Height > maxPixels {
		return shards.Image{}, fmt.Errorf("image %s: %dx%d %s exceeds %d pixels", name, cfg.Width, cfg.Height, format, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("image %s: %w", name, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	gray := true
	if _, ok := img.(*image.Gray); !ok {
		for y := b.Min.Y; y < b.Max.Y && gray; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r != g || g != bl {
					gray = false
					break
				}
			}
		}
	}
	out := shards.Image{DType: shards.Uint8, Depth: 1, Height: h, Width: w, Affine: shards.IdentityAffine()}
	if gray {
		out.Channels = 1
		out.Voxels = make([]byte, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.Voxels[y*w+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
	} else {
		out.Channels = 3
		out.Voxels = make([]byte, 3*w*h)
		plane := w * h
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				i := y*w + x
				out.Voxels[i], out.Voxels[plane+i], out.Voxels[2*plane+i] = c.R, c.G, c.B
			}
		}
	}
	out.Meta = map[string]string{"format": format}
	return out, nil
}
