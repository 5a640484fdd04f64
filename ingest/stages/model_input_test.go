package stages

import (
	"context"
	"strings"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

func TestModelInputStage(t *testing.T) {
	small := normalize.ModelInputPresets["small"]
	grey2D := func(h, w int) shards.Image {
		v := make([]byte, h*w)
		for i := range v {
			v[i] = byte(i % 251)
		}
		return shards.Image{DType: shards.Uint8, Channels: 1, Depth: 1, Height: h, Width: w, Voxels: v, Affine: shards.IdentityAffine()}
	}
	rgb := grey2D(20, 30)
	rgb.Channels, rgb.Voxels = 3, append(append(append([]byte{}, rgb.Voxels...), rgb.Voxels...), rgb.Voxels...)
	four := grey2D(8, 8)
	four.Channels, four.Voxels = 4, make([]byte, 4*64)
	for _, tc := range []struct {
		name, stage string
		in          shards.Image
		c, d, h, w  int
		dt          shards.DType
		wantErr     string
	}{
		{"3D small: depth rule, 256²", "{type: model_input}", volume("CT", 10, 40, 30), 1, 8, 256, 256, shards.Uint8, ""},
		{"3D deep: capped at 64", "{type: model_input, preset: small}", volume("CT", 90, 16, 16), 1, 64, 256, 256, shards.Uint8, ""},
		{"2D grey: 512², depth 1", "{type: model_input}", grey2D(100, 80), 1, 1, 512, 512, shards.Uint8, ""},
		{"2D RGB keeps 3 channels", "{type: model_input}", rgb, 3, 1, 512, 512, shards.Uint8, ""},
		{"tiny, float16", "{type: model_input, preset: tiny, image_dtype: float16}", volume("MR", 9, 12, 20), 1, 8, 8, 8, shards.Float16, ""},
		{"explicit keys", "{type: model_input, volume_height: 64, volume_width: 64, image_depth: 16, patch: [8, 32, 32]}", volume("MR", 13, 12, 20), 1, 16, 64, 64, shards.Uint8, ""},
		{"RGB into a grey model: channel mean", "{type: model_input, preset: tiny}", rgb, 1, 1, 16, 16, shards.Uint8, ""},
		{"4 channels do not fit", "{type: model_input}", four, 0, 0, 0, 0, "", "4 channels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := build(t, tc.stage)
			s := shards.Sample{Images: []shards.Image{tc.in}}
			err := st.Apply(context.Background(), &s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			im := s.Images[0]
			if im.Channels != tc.c || im.Depth != tc.d || im.Height != tc.h || im.Width != tc.w || im.DType != tc.dt {
				t.Fatalf("got %s %dx%dx%dx%d, want %s %dx%dx%dx%d", im.DType, im.Channels, im.Depth, im.Height, im.Width, tc.dt, tc.c, tc.d, tc.h, tc.w)
			}
			last := im.Transforms[len(im.Transforms)-1]
			if last.Name != "model_input" || params(t, last)["geometry"] == nil {
				t.Fatalf("last transform %+v", last)
			}
			if tc.stage == "{type: model_input}" {
				if err := small.Fits(im.Channels, im.Depth, im.Height, im.Width, im.DType); err != nil {
					t.Fatalf("output does not fit small: %v", err)
				}
			}
		})
	}
	if err := lintErr("{type: model_input, preset: huge}"); err == nil {
		t.Error("unknown preset accepted")
	}
}
