package stages

import (
	"context"
	"fmt"
	"strconv"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var resizeSpec = ingest.Spec{
	Name: "resize",
	Summary: "Resample every image to a fixed size: 3D volumes to height×width and the RadFM depth rule " +
		"(nearest multiple of 4, ties down, 4–64), 2D images to height_2d×width_2d at depth 1. " +
		"Pixel-centre convention (scipy zoom grid_mode=True, torch align_corners=False); the affine is updated.",
	Fields: []ingest.Field{
		{Name: "height", Type: ingest.TypeInt, Default: normalize.Default3DSize, Description: "rows of 3D volumes", Example: "256"},
		{Name: "width", Type: ingest.TypeInt, Default: normalize.Default3DSize, Description: "columns of 3D volumes", Example: "256"},
		{Name: "depth", Type: ingest.TypeString, Default: "rule", Description: `slices of 3D volumes: "rule" (RadFM depth rule), "keep", or a number`, Example: "rule"},
		{Name: "height_2d", Type: ingest.TypeInt, Default: normalize.Default2DSize, Description: "rows of 2D images", Example: "512"},
		{Name: "width_2d", Type: ingest.TypeInt, Default: normalize.Default2DSize, Description: "columns of 2D images", Example: "512"},
		{Name: "mode", Type: ingest.TypeString, Default: "linear", Enum: []string{"nearest", "linear", "area", "antialias"},
			Description: "interpolation: nearest, linear (trilinear), area (footprint average) or antialias (Gaussian σ=(s−1)/2 then linear, like skimage)", Example: "area"},
		{Name: "keep_aspect", Type: ingest.TypeBool, Default: false, Description: "fit in-plane preserving the physical aspect ratio and pad", Example: "true"},
		{Name: "pad", Type: ingest.TypeString, Default: "min", Description: `padding value with keep_aspect: "min" (image minimum) or a number`, Example: "0"},
		{Name: "spacing_mm", Type: ingest.TypeStrings, Description: "resample to this voxel size (columns, rows, slices in mm) before sizing, like MONAI Spacing; empty = off", Example: "[1, 1, 2]"},
		{Name: "dtype", Type: ingest.TypeString, Default: "float32", Enum: dtypeNames, Description: "stored element type (integers round and saturate)", Example: "float32"},
		{Name: "nonfinite", Type: ingest.TypeFloat, Default: 0.0, Description: "value that replaces NaN/Inf in float inputs (counted in Meta[\"nonfinite\"])", Example: "0"},
	},
}

type resizeStage struct {
	h, w, h2, w2 int
	depth        string
	depthN       int
	opts         normalize.ResizeOptions
	spacing      []float64
}

func newResize(p ingest.Params) (ingest.Stage, error) {
	s := &resizeStage{h: p.Int("height"), w: p.Int("width"), h2: p.Int("height_2d"), w2: p.Int("width_2d"), depth: p.String("depth")}
	for _, v := range []int{s.h, s.w, s.h2, s.w2} {
		if v <= 0 || v > 1<<15 {
			return nil, fmt.Errorf("sizes must be in 1…32768, got %d", v)
		}
	}
	switch s.depth {
	case "rule", "keep":
	default:
		n, err := strconv.Atoi(s.depth)
		if err != nil || n <= 0 || n > 4096 {
			return nil, fmt.Errorf(`depth: want "rule", "keep" or a slice count, got %q`, s.depth)
		}
		s.depthN = n
	}
	s.opts = normalize.ResizeOptions{Mode: normalize.Interp(p.String("mode")), KeepAspect: p.Bool("keep_aspect"),
		OutDType: shards.DType(p.String("dtype")), NonFinite: float32(p.Float("nonfinite"))}
	if pad := p.String("pad"); pad == "min" {
		s.opts.PadMin = true
	} else if v, err := strconv.ParseFloat(pad, 64); err == nil {
		s.opts.PadValue = v
	} else {
		return nil, fmt.Errorf(`pad: want "min" or a number, got %q`, pad)
	}
	if sp := p.Strings("spacing_mm"); len(sp) > 0 {
		v, err := parseFloats("spacing_mm", sp)
		if err != nil {
			return nil, err
		}
		if len(v) != 3 || v[0] < 0 || v[1] < 0 || v[2] < 0 {
			return nil, fmt.Errorf("spacing_mm: want 3 non-negative numbers (columns, rows, slices), got %v", sp)
		}
		s.spacing = v
	}
	return s, nil
}

func (s *resizeStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		if err := ctx.Err(); err != nil {
			return err
		}
		im := &smp.Images[i]
		if s.spacing != nil {
			if err := normalize.ResampleSpacing(im, [3]float64{s.spacing[0], s.spacing[1], s.spacing[2]}, s.opts.Mode, s.opts.NonFinite); err != nil {
				return imageErr(i, im, err)
			}
		}
		o := s.opts
		if im.Is3D() {
			o.Height, o.Width = s.h, s.w
			switch s.depth {
			case "rule":
				o.Depth = normalize.TargetDepth(im.Depth)
			case "keep":
				o.Depth = im.Depth
			default:
				o.Depth = s.depthN
			}
		} else {
			o.Height, o.Width, o.Depth = s.h2, s.w2, 1
		}
		if err := normalize.Resize(im, o); err != nil {
			return imageErr(i, im, err)
		}
	}
	return nil
}

func init() { ingest.RegisterStage(resizeSpec, newResize) }
