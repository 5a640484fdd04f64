package stages

import (
	"context"
	"fmt"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var intensitySpec = ingest.Spec{
	Name: "intensity",
	Summary: "Map voxel values to 0…1 and store them as uint8 (default), float16 or float32. method auto: CT images " +
		"with windows set use those HU windows, everything else the percentile clip (default 0.5–99.5, numpy.percentile " +
		"linear); minmax is RadFM's (x−min)/(max−min). NaN/Inf are counted in Meta[\"nonfinite\"] and set to nonfinite.",
	Fields: []ingest.Field{
		{Name: "method", Type: ingest.TypeString, Default: "auto", Enum: []string{"auto", "percentile", "minmax", "window"},
			Description: "auto, percentile, minmax or window", Example: "auto"},
		{Name: "windows", Type: ingest.TypeStrings, Description: "CT windows: presets (brain, subdural, stroke, lung, mediastinum, abdomen, liver, bone) or level/width; several become channels",
			Example: "[lung, mediastinum, bone]"},
		{Name: "percentile_lo", Type: ingest.TypeFloat, Default: 0.5, Description: "lower clip percentile", Example: "0.5"},
		{Name: "percentile_hi", Type: ingest.TypeFloat, Default: 99.5, Description: "upper clip percentile", Example: "99.5"},
		{Name: "dtype", Type: ingest.TypeString, Default: "uint8", Enum: []string{"uint8", "float16", "float32"}, Description: "stored element type", Example: "uint8"},
		{Name: "nonfinite", Type: ingest.TypeFloat, Default: 0.0, Description: "output value (0…1 scale) for NaN/Inf voxels", Example: "0"},
	},
}

type intensityStage struct {
	method string
	o      normalize.IntensityOptions
}

func newIntensity(p ingest.Params) (ingest.Stage, error) {
	s := &intensityStage{method: p.String("method"), o: normalize.IntensityOptions{
		PercentileLo: p.Float("percentile_lo"), PercentileHi: p.Float("percentile_hi"),
		OutDType: shards.DType(p.String("dtype")), NonFinite: p.Float("nonfinite"),
	}}
	for _, w := range p.Strings("windows") {
		win, err := normalize.ParseWindow(w)
		if err != nil {
			return nil, err
		}
		s.o.Windows = append(s.o.Windows, win)
	}
	if s.method == "window" && len(s.o.Windows) == 0 {
		return nil, fmt.Errorf("method window needs windows")
	}
	if !(0 <= s.o.PercentileLo && s.o.PercentileLo < s.o.PercentileHi && s.o.PercentileHi <= 100) {
		return nil, fmt.Errorf("percentiles %g–%g out of order or range", s.o.PercentileLo, s.o.PercentileHi)
	}
	return s, nil
}

func (s *intensityStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		im := &smp.Images[i]
		o := s.o
		switch s.method {
		case "auto":
			o.Method = normalize.MethodPercentile
			if im.Modality == "CT" && len(o.Windows) > 0 {
				o.Method = normalize.MethodWindow
			}
		default:
			o.Method = s.method
		}
		if err := normalize.Intensity(im, o); err != nil {
			return imageErr(i, im, err)
		}
	}
	return nil
}

func init() { ingest.RegisterStage(intensitySpec, newIntensity) }
