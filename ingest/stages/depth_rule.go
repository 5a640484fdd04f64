package stages

import (
	"context"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var depthRuleSpec = ingest.Spec{
	Name: "depth_rule",
	Summary: "Resample only the slice axis of 3D volumes to the RadFM depth: the multiple of 4 nearest the " +
		"input depth, ties down (6→4, 10→8), at least 4, at most 64. 2D images stay depth 1. In-plane size is kept.",
	Fields: []ingest.Field{
		{Name: "mode", Type: ingest.TypeString, Default: "linear", Enum: []string{"nearest", "linear", "area", "antialias"},
			Description: "interpolation along the slice axis", Example: "linear"},
		{Name: "dtype", Type: ingest.TypeString, Default: "float32", Enum: dtypeNames, Description: "stored element type", Example: "float32"},
	},
}

type depthRuleStage struct{ o normalize.ResizeOptions }

func newDepthRule(p ingest.Params) (ingest.Stage, error) {
	return &depthRuleStage{normalize.ResizeOptions{Mode: normalize.Interp(p.String("mode")), OutDType: shards.DType(p.String("dtype"))}}, nil
}

func (s *depthRuleStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		im := &smp.Images[i]
		if !im.Is3D() {
			continue
		}
		o := s.o
		o.Depth = normalize.TargetDepth(im.Depth)
		if err := normalize.Resize(im, o); err != nil {
			return imageErr(i, im, err)
		}
	}
	return nil
}

func init() { ingest.RegisterStage(depthRuleSpec, newDepthRule) }
