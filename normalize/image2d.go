package normalize

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registers GIF with image.Decode
	_ "image/jpeg"
	_ "image/png"

	"github.com/medmd/medmd/shards"
	_ "golang.org/x/image/bmp" // BMP and TIFF from golang.org/x/image
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Image2DOptions bounds what DecodeImage accepts. Zero fields take the
// defaults; a negative MinSize or MaxAspect disables that check.
type Image2DOptions struct {
	// MinSize is the smallest allowed width and height in pixels (default
	// 32): icons and spacer GIFs are not figures.
	MinSize int
	// MaxAspect is the largest allowed long/short side ratio (default 10):
	// banners and strips are not figures.
	MaxAspect float64
	// MaxPixels caps width×height before any pixel is decoded (default
	// 64 Mpx), so a forged header cannot make us allocate gigabytes.
	MaxPixels int
}

// Drop reasons DecodeImage returns in a *DropError.
const (
	DropImageTooSmall = "image-too-small"
	DropImageAspect   = "image-aspect"
	DropImageTooLarge = "image-too-large"
)

func (o Image2DOptions) withDefaults() Image2DOptions {
	if o.MinSize == 0 {
		o.MinSize = 32
	}
	if o.MaxAspect == 0 {
		o.MaxAspect = 10
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 64 << 20
	}
	return o
}

// DecodeImage decodes a PNG, JPEG, GIF (first frame), TIFF (8- and 16-bit),
// BMP or WebP figure into a 2D image: Depth 1, C×H×W planes.
//
//   - Grayscale images, and colour images whose every pixel has R = G = B,
//     get 1 channel; true colour gets 3 (R, G, B).
//   - 16-bit sources (16-bit TIFF/PNG) are stored as uint16, others uint8.
//   - Transparency is composited onto white (figures are drawn on paper).
//   - A JPEG's EXIF orientation (tag 0x0112) is applied, so the pixels are
//     upright and the tag no longer matters.
//
// Images smaller than MinSize, with an aspect beyond MaxAspect or larger
// than MaxPixels are refused with a *DropError (checked from the header,
// before decoding); undecodable data returns an ordinary error. The
// transform "decode_2d" records format, orientation and channel choice.
func DecodeImage(data []byte, opts Image2DOptions) (shards.Image, error) {
	o := opts.withDefaults()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("decode image: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w*h > o.MaxPixels || w > 1<<20 || h > 1<<20 {
		return shards.Image{}, &DropError{Reason: DropImageTooLarge, Detail: fmt.Sprintf("%s %d×%d exceeds %d pixels or is empty", format, w, h, o.MaxPixels)}
	}
	if o.MinSize > 0 && (w < o.MinSize || h < o.MinSize) {
		return shards.Image{}, &DropError{Reason: DropImageTooSmall, Detail: fmt.Sprintf("%s %d×%d is below %d px", format, w, h, o.MinSize)}
	}
	if o.MaxAspect > 0 {
		a := float64(max(w, h)) / float64(min(w, h))
		if a > o.MaxAspect {
			return shards.Image{}, &DropError{Reason: DropImageAspect, Detail: fmt.Sprintf("%s %d×%d has aspect %.1f > %g", format, w, h, a, o.MaxAspect)}
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return shards.Image{}, fmt.Errorf("decode %s: %w", format, err)
	}
	planes, c, dt, grayFromRGB := toPlanes(img)
	b := img.Bounds()
	out := shards.Image{DType: dt, Channels: c, Depth: 1, Height: b.Dy(), Width: b.Dx(),
		Voxels: planes, Affine: shards.IdentityAffine(),
		Meta: map[string]string{"format": format}}
	orient := 1
	if format == "jpeg" {
		orient = exifOrientation(data)
	}
	if orient > 1 {
		applyOrientation(&out, orient)
		out.Meta["exif_orientation"] = fmt.Sprint(orient)
	}
	err = AddTransform(&out, "decode_2d", map[string]any{
		"format": format, "orientation": orient, "channels": c,
		"gray_from_rgb": grayFromRGB, "dtype": string(dt), "alpha": "white",
	})
	return out, err
}

// toPlanes converts any image to C×H×W planes: uint8 (or uint16 for 16-bit
// sources), 1 channel when gray.
func toPlanes(img image.Image) ([]byte, int, shards.DType, bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	switch m := img.(type) {
	case *image.Gray:
		out := make([]byte, n)
		for y := 0; y < h; y++ {
			copy(out[y*w:(y+1)*w], m.Pix[y*m.Stride:y*m.Stride+w])
		}
		return out, 1, shards.Uint8, false
	case *image.Gray16:
		out := make([]byte, 2*n)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				// Gray16 is big-endian in memory; voxels are little-endian.
				binary.LittleEndian.PutUint16(out[2*(y*w+x):], uint16(row[2*x])<<8|uint16(row[2*x+1]))
			}
		}
		return out, 1, shards.Uint16, false
	}
	// 16-bit colour: keep 16 bits.
	switch m := img.(type) {
	case *image.RGBA64, *image.NRGBA64:
		var pix []uint8
		var stride int
		premul := false
		if p, ok := m.(*image.RGBA64); ok {
			pix, stride, premul = p.Pix, p.Stride, true
		} else {
			q := m.(*image.NRGBA64)
			pix, stride = q.Pix, q.Stride
		}
		rgb := make([]uint16, 3*n)
		for y := 0; y < h; y++ {
			row := pix[y*stride:]
			for x := 0; x < w; x++ {
				p := row[8*x : 8*x+8]
				// big-endian 16-bit samples R, G, B, A
				a := uint32(p[6])<<8 | uint32(p[7])
				i := y*w + x
				for c, dst := range [3][]uint16{rgb[:n], rgb[n : 2*n], rgb[2*n:]} {
					v := uint32(p[2*c])<<8 | uint32(p[2*c+1])
					if premul {
						v += 0xffff - a
					} else if a != 0xffff {
						v = (v*a + 0xffff*(0xffff-a) + 0x7fff) / 0xffff
					}
					dst[i] = uint16(v)
				}
			}
		}
		if isGray16(rgb, n) {
			out := make([]byte, 2*n)
			copy(shards.View[uint16](out), rgb[:n])
			return out, 1, shards.Uint16, true
		}
		out := make([]byte, 6*n)
		copy(shards.View[uint16](out), rgb)
		return out, 3, shards.Uint16, false
	}
	out := make([]byte, 3*n)
	r, g, bl := out[:n], out[n:2*n], out[2*n:]
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				i := y*w + x
				r[i], g[i], bl[i] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := y*w + x
				p := row[4*x : 4*x+4]
				r[i], g[i], bl[i] = over(p[0], p[3]), over(p[1], p[3]), over(p[2], p[3])
			}
		}
	case *image.RGBA: // premultiplied: over white adds 255−a
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := y*w + x
				p := row[4*x : 4*x+4]
				bg := 255 - p[3]
				r[i], g[i], bl[i] = p[0]+bg, p[1]+bg, p[2]+bg
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := y*w + x
				p := row[4*x : 4*x+4]
				r[i], g[i], bl[i] = color.CMYKToRGB(p[0], p[1], p[2], p[3])
			}
		}
	case *image.Paletted:
		var pal [256][3]uint8
		for k, c := range m.Palette {
			cr, cg, cb, ca := c.RGBA()
			bg := 0xffff - ca
			pal[k] = [3]uint8{uint8((cr + bg) >> 8), uint8((cg + bg) >> 8), uint8((cb + bg) >> 8)}
		}
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < w; x++ {
				i := y*w + x
				p := pal[row[x]]
				r[i], g[i], bl[i] = p[0], p[1], p[2]
			}
		}
	default: // any other model, through its colour conversion
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				cr, cg, cb, ca := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				bg := 0xffff - ca
				i := y*w + x
				r[i], g[i], bl[i] = uint8((cr+bg)>>8), uint8((cg+bg)>>8), uint8((cb+bg)>>8)
			}
		}
	}
	if bytes.Equal(r, g) && bytes.Equal(g, bl) {
		return out[:n:n], 1, shards.Uint8, true
	}
	return out, 3, shards.Uint8, false
}

// over composites a straight-alpha channel value onto white.
func over(c, a uint8) uint8 {
	if a == 255 {
		return c
	}
	return uint8((uint32(c)*uint32(a) + 255*uint32(255-a) + 127) / 255)
}

func isGray16(rgb []uint16, n int) bool {
	for i := 0; i < n; i++ {
		if rgb[i] != rgb[n+i] || rgb[i] != rgb[2*n+i] {
			return false
		}
	}
	return true
}

// exifOrientation returns the EXIF Orientation (TIFF tag 0x0112 in IFD0 of
// the APP1 "Exif" segment, EXIF 2.32 §4.6.4) of a JPEG, or 1 when absent
// or unreadable. Every offset is bounds-checked: the data is untrusted.
func exifOrientation(jpg []byte) int {
	if len(jpg) < 4 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		return 1
	}
	p := 2
	for p+4 <= len(jpg) {
		if jpg[p] != 0xff {
			return 1
		}
		marker := jpg[p+1]
		if marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) {
			p += 2
			continue
		}
		if marker == 0xda || marker == 0xd9 { // start of scan: no more headers
			return 1
		}
		l := int(binary.BigEndian.Uint16(jpg[p+2:]))
		if l < 2 || p+2+l > len(jpg) {
			return 1
		}
		seg := jpg[p+4 : p+2+l]
		if marker == 0xe1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + l
	}
	return 1
}

func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[ifd:]))
	for i := 0; i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 {
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// applyOrientation turns the stored pixels upright for EXIF orientation
// 2–8 (mirror / rotate as the tag says the camera was held).
func applyOrientation(im *shards.Image, orient int) {
	sz := im.DType.Size()
	w, h := im.Width, im.Height
	ow, oh := w, h
	if orient >= 5 {
		ow, oh = h, w
	}
	// src returns the source (x, y) of output pixel (x, y).
	src := func(x, y int) (int, int) {
		switch orient {
		case 2:
			return w - 1 - x, y
		case 3:
			return w - 1 - x, h - 1 - y
		case 4:
			return x, h - 1 - y
		case 5:
			return y, x
		case 6:
			return y, h - 1 - x
		case 7:
			return w - 1 - y, h - 1 - x
		case 8:
			return w - 1 - y, x
		}
		return x, y
	}
	out := make([]byte, len(im.Voxels))
	plane := w * h * sz
	for c := 0; c < im.Channels; c++ {
		s, d := im.Voxels[c*plane:(c+1)*plane], out[c*plane:(c+1)*plane]
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sx, sy := src(x, y)
				copy(d[(y*ow+x)*sz:(y*ow+x+1)*sz], s[(sy*w+sx)*sz:(sy*w+sx+1)*sz])
			}
		}
	}
	im.Voxels, im.Width, im.Height = out, ow, oh
}
