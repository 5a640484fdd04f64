package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

type imageGolden struct {
	Name, Input, Dtype, Mode, Sha256 string
	Channels, Height, Width          int
	Grid                             []float64
}

func TestDecodeImageGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Op string
			imageGolden
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range g.Cases {
		if c.Op != "decode2d" {
			continue
		}
		n++
		c := c.imageGolden
		t.Run(c.Name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.Input))
			if err != nil {
				t.Fatal(err)
			}
			im, err := DecodeImage(data, Image2DOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rgb48 := strings.Contains(c.Input, "16bit") && c.Channels == 3
			if im.Channels != c.Channels || im.Height != c.Height || im.Width != c.Width || im.Depth != 1 {
				t.Fatalf("got %d×%d×%d, PIL %d×%d×%d", im.Channels, im.Height, im.Width, c.Channels, c.Height, c.Width)
			}
			if err := checkVoxels(&im); err != nil {
				t.Fatal(err)
			}
			lossless := !strings.HasSuffix(c.Input, ".jpg") && !strings.HasSuffix(c.Input, ".jpeg") && !rgb48
			if lossless {
				if string(im.DType) != c.Dtype {
					t.Errorf("dtype %s, PIL %s", im.DType, c.Dtype)
				}
				sum := sha256.Sum256(im.Voxels)
				if hex.EncodeToString(sum[:]) != c.Sha256 {
					t.Errorf("planes differ from PIL's")
				}
			}
			grid := gridMeans(&im)
			scale := 1.0
			if rgb48 {
				scale = 257
			}
			for i := range grid {
				if math.Abs(grid[i]/scale-c.Grid[i]) > 2 {
					t.Errorf("block %d mean %.2f, PIL %.2f", i, grid[i]/scale, c.Grid[i])
				}
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d decode cases in golden.json", n)
	}
}

func gridMeans(im *shards.Image) []float64 {
	var out []float64
	h, w := im.Height, im.Width
	for by := 0; by < 4; by++ {
		for bx := 0; bx < 4; bx++ {
			var s float64
			var n int
			for c := 0; c < im.Channels; c++ {
				for y := by * h / 4; y < (by+1)*h/4; y++ {
					for x := bx * w / 4; x < (bx+1)*w/4; x++ {
						i := (c*h+y)*w + x
						if im.DType == shards.Uint16 {
							s += float64(shards.View[uint16](im.Voxels)[i])
						} else {
							s += float64(im.Voxels[i])
						}
						n++
					}
				}
			}
			out = append(out, s/float64(n))
		}
	}
	return out
}

func encodePNG(t *testing.T, m image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeImageRules(t *testing.T) {
	grayRGB := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	colour := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			v := uint8(x + y)
			grayRGB.Set(x, y, color.NRGBA{v, v, v, 255})
			colour.Set(x, y, color.NRGBA{v, 0, 255 - v, 255})
		}
	}
	// half-transparent black over white = mid grey
	alpha := image.NewNRGBA(image.Rect(0, 0, 40, 40))
	for i := range alpha.Pix {
		if i%4 == 3 {
			alpha.Pix[i] = 128
		}
	}
	alpha16 := image.NewNRGBA64(image.Rect(0, 0, 40, 40))
	for i := range alpha16.Pix {
		if i%8 == 6 {
			alpha16.Pix[i] = 0x80 // alpha 0x8000, colour black
		}
	}
	for _, tc := range []struct {
		name      string
		data      []byte
		opts      Image2DOptions
		channels  int
		drop      string
		errSubstr string
	}{
		{"gray in RGB", encodePNG(t, grayRGB), Image2DOptions{}, 1, "", ""},
		{"colour", encodePNG(t, colour), Image2DOptions{}, 3, "", ""},
		{"alpha over white", encodePNG(t, alpha), Image2DOptions{}, 1, "", ""},
		{"alpha16 over white", encodePNG(t, alpha16), Image2DOptions{}, 1, "", ""},
		{"too small", encodePNG(t, image.NewGray(image.Rect(0, 0, 20, 200))), Image2DOptions{}, 0, DropImageTooSmall, ""},
		{"aspect", encodePNG(t, image.NewGray(image.Rect(0, 0, 40, 800))), Image2DOptions{}, 0, DropImageAspect, ""},
		{"aspect allowed", encodePNG(t, image.NewGray(image.Rect(0, 0, 40, 800))), Image2DOptions{MaxAspect: -1}, 1, "", ""},
		{"too many pixels", encodePNG(t, image.NewGray(image.Rect(0, 0, 100, 100))), Image2DOptions{MaxPixels: 5000}, 0, DropImageTooLarge, ""},
		{"garbage", []byte("not an image at all"), Image2DOptions{}, 0, "", "decode image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := DecodeImage(tc.data, tc.opts)
			var de *DropError
			switch {
			case tc.drop != "":
				if !errors.As(err, &de) || de.Reason != tc.drop {
					t.Fatalf("err = %v, want drop %s", err, tc.drop)
				}
			case tc.errSubstr != "":
				if err == nil || errors.As(err, &de) || !strings.Contains(err.Error(), tc.errSubstr) {
					t.Fatalf("err = %v", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if im.Channels != tc.channels {
					t.Errorf("channels = %d, want %d", im.Channels, tc.channels)
				}
				if tc.name == "alpha over white" && (im.Voxels[0] < 126 || im.Voxels[0] > 128) {
					t.Errorf("alpha composite = %d, want 127", im.Voxels[0])
				}
				if tc.name == "alpha16 over white" {
					if v := shards.View[uint16](im.Voxels)[0]; im.DType != shards.Uint16 || v < 0x7ffe || v > 0x8000 {
						t.Errorf("16-bit alpha composite = %s %#x, want uint16 0x7fff", im.DType, v)
					}
				}
			}
		})
	}
}

func TestEXIFOrientationAllEight(t *testing.T) {
	// A 3×2 image with distinct pixels, turned by each orientation, must
	// land where PIL puts it (checked with PIL Image.transpose: FLIP_LEFT_RIGHT,
	// ROTATE_180, FLIP_TOP_BOTTOM, TRANSPOSE, ROTATE_270, TRANSVERSE, ROTATE_90).
	base := shards.Image{DType: shards.Uint8, Channels: 1, Depth: 1, Height: 2, Width: 3, Voxels: []byte{1, 2, 3, 4, 5, 6}}
	want := map[int][]byte{
		1: {1, 2, 3, 4, 5, 6},
		2: {3, 2, 1, 6, 5, 4},
		3: {6, 5, 4, 3, 2, 1},
		4: {4, 5, 6, 1, 2, 3},
		5: {1, 4, 2, 5, 3, 6},
		6: {4, 1, 5, 2, 6, 3},
		7: {6, 3, 5, 2, 4, 1},
		8: {3, 6, 2, 5, 1, 4},
	}
	for o := 2; o <= 8; o++ {
		im := base
		im.Voxels = append([]byte(nil), base.Voxels...)
		applyOrientation(&im, o)
		if !bytes.Equal(im.Voxels, want[o]) {
			t.Errorf("orientation %d: %v, want %v", o, im.Voxels, want[o])
		}
	}
}

func FuzzDecodeImage(f *testing.F) {
	files, _ := filepath.Glob("testdata/images/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := DecodeImage(data, Image2DOptions{MaxPixels: 1 << 20})
		if err == nil {
			if err := checkVoxels(&im); err != nil {
				t.Fatal(err)
			}
		}
		exifOrientation(data)
	})
}
