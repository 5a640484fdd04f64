package normalize

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

func f32Image(c, d, h, w int, f func(i int) float32) *shards.Image {
	v := make([]float32, c*d*h*w)
	for i := range v {
		v[i] = f(i)
	}
	return &shards.Image{DType: shards.Float32, Channels: c, Depth: d, Height: h, Width: w,
		Voxels: shards.Bytes(v), Affine: shards.IdentityAffine(), Spacing: [3]float64{1, 1, 1}}
}

func TestResizeKeepAspectPad(t *testing.T) {
	// 2D, 16 rows × 32 columns of spacing 1 → fit in 16×16 = 8×16, padded
	// 4 rows above and below with the minimum.
	im := f32Image(1, 1, 16, 32, func(i int) float32 { return 5 + float32(i%32) })
	if err := Resize(im, ResizeOptions{Height: 16, Width: 16, KeepAspect: true, PadMin: true, OutDType: shards.Float32}); err != nil {
		t.Fatal(err)
	}
	if im.Height != 16 || im.Width != 16 || im.Depth != 1 {
		t.Fatalf("dims %d×%d×%d", im.Depth, im.Height, im.Width)
	}
	v := shards.View[float32](im.Voxels)
	if v[0] != 5.5 || v[3*16] != 5.5 || v[15*16+15] != 5.5 {
		t.Errorf("padding not the image minimum: %v %v", v[0], v[3*16])
	}
	// row 4 is the first image row: column 0 averages input columns 0,1
	if got := v[4*16]; math.Abs(float64(got)-5.5) > 1e-5 {
		t.Errorf("first image pixel = %v, want 5.5", got)
	}
	// world position of new voxel (0, 4) = old (0.5, 0.5): half a pixel in.
	x := im.Affine[0]*0 + im.Affine[1]*4 + im.Affine[3]
	y := im.Affine[4]*0 + im.Affine[5]*4 + im.Affine[7]
	if math.Abs(x-0.5) > 1e-9 || math.Abs(y-0.5) > 1e-9 {
		t.Errorf("affine maps (0,4) to (%g,%g), want (0.5,0.5)", x, y)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(im.Transforms[0].Params), &p); err != nil || p["keep_aspect"] != true || p["pad"] != "min" {
		t.Errorf("params %s", im.Transforms[0].Params)
	}
}

func TestResizeDTypesAndNonFinite(t *testing.T) {
	nan := float32(math.NaN())
	im := f32Image(1, 4, 4, 4, func(i int) float32 {
		if i == 3 {
			return nan
		}
		return float32(i)
	})
	if err := Resize(im, ResizeOptions{Depth: 2, Height: 2, Width: 2, Mode: Area, OutDType: shards.Uint8, NonFinite: 0}); err != nil {
		t.Fatal(err)
	}
	if im.DType != shards.Uint8 || len(im.Voxels) != 8 {
		t.Fatalf("dtype %s len %d", im.DType, len(im.Voxels))
	}
	if im.Meta["nonfinite"] != "1" {
		t.Errorf("nonfinite meta = %q", im.Meta["nonfinite"])
	}
	// block (0..1)^3 mean of i = 16z+4y+x with voxel 3 outside: mean of
	// 0,1,4,5,16,17,20,21 = 10.5 → 11 (round half away)
	if im.Voxels[0] != 11 {
		t.Errorf("voxel 0 = %d, want 11", im.Voxels[0])
	}
	// 2D images keep depth 1 whatever Depth says
	im2 := f32Image(3, 1, 8, 8, func(i int) float32 { return float32(i) })
	if err := Resize(im2, ResizeOptions{Depth: 4, Height: 4, Width: 4, OutDType: shards.Float16}); err != nil {
		t.Fatal(err)
	}
	if im2.Depth != 1 || im2.Channels != 3 || len(im2.Voxels) != 3*16*2 {
		t.Errorf("2D resize: %d×%d×%d×%d, %d bytes", im2.Channels, im2.Depth, im2.Height, im2.Width, len(im2.Voxels))
	}
	// channel 2, pixel (0,0): bilinear at input (0.5, 0.5) = mean of 128+{0,1,8,9}
	h := shards.View[uint16](im2.Voxels)
	if got, want := shards.HalfToFloat32(h[32]), float32(132.5); got != want {
		t.Errorf("float16 output %v, want %v", got, want)
	}
}

func TestFloat16RoundTrip(t *testing.T) {
	for _, f := range []float32{0, 1, -2.5, 65504, 1e-7, 6.1035156e-05, 0.1, 3.14159} {
		h := float32ToFloat16(f)
		g := shards.HalfToFloat32(h)
		if math.Abs(float64(g-f)) > math.Abs(float64(f))/1024+6e-8 {
			t.Errorf("%v → %#x → %v", f, h, g)
		}
	}
	if h := float32ToFloat16(1e6); h != 0x7c00 {
		t.Errorf("overflow → %#x", h)
	}
}

func TestResampleSpacing(t *testing.T) {
	im := f32Image(1, 10, 20, 20, func(i int) float32 { return float32(i % 7) })
	im.Spacing = [3]float64{0.5, 0.5, 3}
	if err := ResampleSpacing(im, [3]float64{1, 1, 1.5}, Linear, 0); err != nil {
		t.Fatal(err)
	}
	if im.Width != 10 || im.Height != 10 || im.Depth != 20 {
		t.Errorf("dims %d×%d×%d", im.Depth, im.Height, im.Width)
	}
	if im.Spacing != [3]float64{1, 1, 1.5} {
		t.Errorf("spacing %v", im.Spacing)
	}
}

// TestResampleSpacingBoundsOutput: voxel sizes come from untrusted file
// headers; a pixdim of 1e9 mm (or +Inf) must be an error, not a
// multi-terabyte allocation that kills the whole run.
func TestResampleSpacingBoundsOutput(t *testing.T) {
	for _, sp := range [][3]float64{{1e9, 1, 1}, {1, math.Inf(1), 1}, {1, 1, 1e7}} {
		im := f32Image(1, 4, 4, 4, func(i int) float32 { return float32(i) })
		im.Spacing = sp
		err := ResampleSpacing(im, [3]float64{1, 1, 1}, Linear, 0)
		if err == nil || !strings.Contains(err.Error(), "voxels") {
			t.Errorf("spacing %v: err = %v, want a size-limit error", sp, err)
		}
		if im.Depth != 4 || im.Height != 4 || im.Width != 4 {
			t.Errorf("spacing %v: image changed to %d×%d×%d", sp, im.Depth, im.Height, im.Width)
		}
	}
}
