package stages

import (
	"context"
	"fmt"
	"sort"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var modelInputSpec = ingest.Spec{
	Name: "model_input",
	Summary: "Make every image exactly what a training preset's model takes (RadFM's geometry): 2D images " +
		"channels×1×image_height×image_width (the trainer broadcasts depth on the device), 3D volumes " +
		"channels×D×volume_height×volume_width with D from the depth rule (multiples of the patch depth, up to " +
		"image_depth), stored in image_dtype, the type the trainer uploads as is. Channels are kept (1 for grey, " +
		"or the model's count, e.g. 3 CT windows); values are min–max scaled unless an intensity stage already " +
		"stored them in image_dtype. `medmd train` checks a corpus fits its preset at start-up.",
	Fields: []ingest.Field{
		{Name: "preset", Type: ingest.TypeString, Default: "small", Enum: presetNames(),
			Description: "training preset whose image geometry to use; the fields below override it", Example: "small"},
		{Name: "image_channels", Type: ingest.TypeInt, Description: "channels the model takes (0: the preset's)", Example: "3"},
		{Name: "image_height", Type: ingest.TypeInt, Description: "rows of 2D images (0: the preset's)", Example: "512"},
		{Name: "image_width", Type: ingest.TypeInt, Description: "columns of 2D images (0: the preset's)", Example: "512"},
		{Name: "volume_height", Type: ingest.TypeInt, Description: "rows of 3D volumes (0: the preset's)", Example: "256"},
		{Name: "volume_width", Type: ingest.TypeInt, Description: "columns of 3D volumes (0: the preset's)", Example: "256"},
		{Name: "image_depth", Type: ingest.TypeInt, Description: "most slices of a 3D volume (0: the preset's)", Example: "64"},
		{Name: "patch", Type: ingest.TypeStrings, Description: "patch depth, rows, columns (empty: the preset's)", Example: "[4, 32, 32]"},
		{Name: "image_dtype", Type: ingest.TypeString, Default: "", Enum: []string{"", "uint8", "float16", "float32"},
			Description: "stored element type (empty: the preset's, uint8)", Example: "uint8"},
		{Name: "mode", Type: ingest.TypeString, Default: "linear", Enum: []string{"nearest", "linear", "area", "antialias"},
			Description: "interpolation when an image must be resized", Example: "area"},
	},
}

func presetNames() []string {
	var out []string
	for k := range normalize.ModelInputPresets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type modelInputStage struct {
	g    normalize.ModelInput
	mode normalize.Interp
}

func newModelInput(p ingest.Params) (ingest.Stage, error) {
	g, ok := normalize.ModelInputPresets[p.String("preset")]
	if !ok {
		return nil, fmt.Errorf("preset %q: want one of %v", p.String("preset"), presetNames())
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"image_channels", &g.Channels}, {"image_height", &g.ImageHeight}, {"image_width", &g.ImageWidth},
		{"volume_height", &g.VolumeHeight}, {"volume_width", &g.VolumeWidth}, {"image_depth", &g.ImageDepth}} {
		if v := p.Int(f.name); v != 0 {
			*f.dst = v
		}
	}
	if ps := p.Strings("patch"); len(ps) > 0 {
		v, err := parseFloats("patch", ps)
		if err != nil {
			return nil, err
		}
		if len(v) != 3 {
			return nil, fmt.Errorf("patch: want 3 numbers (depth, rows, columns), got %v", ps)
		}
		g.Patch = [3]int{int(v[0]), int(v[1]), int(v[2])}
	}
	if dt := p.String("image_dtype"); dt != "" {
		g.DType = shards.DType(dt)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &modelInputStage{g: g, mode: normalize.Interp(p.String("mode"))}, nil
}

func (s *modelInputStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := normalize.ApplyModelInput(&smp.Images[i], s.g, s.mode); err != nil {
			return imageErr(i, &smp.Images[i], err)
		}
	}
	return nil
}

// ModelInput is the geometry the stage makes every image into; the
// pipeline's manifest records it (ingest.ModelInputStage).
func (s *modelInputStage) ModelInput() shards.ModelInput { return shards.ModelInput(s.g) }

func init() { ingest.RegisterStage(modelInputSpec, newModelInput) }
