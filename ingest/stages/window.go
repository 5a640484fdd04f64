package stages

import (
	"context"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var windowSpec = ingest.Spec{
	Name: "window",
	Summary: "Apply CT HU windows to CT images only (Modality \"CT\"), one channel per window; other images pass " +
		"unchanged. Presets: brain 40/80, subdural 75/215, stroke 40/40, lung −600/1500, mediastinum 50/350, " +
		"abdomen 40/400, liver 30/150, bone 400/1800, or level/width.",
	Fields: []ingest.Field{
		{Name: "windows", Type: ingest.TypeStrings, Default: []string{"brain"}, Description: "presets or level/width; several become channels", Example: "[brain, subdural, bone]"},
		{Name: "dtype", Type: ingest.TypeString, Default: "uint8", Enum: []string{"uint8", "float16", "float32"}, Description: "stored element type", Example: "uint8"},
		{Name: "nonfinite", Type: ingest.TypeFloat, Default: 0.0, Description: "output value (0…1 scale) for NaN/Inf voxels", Example: "0"},
	},
}

type windowStage struct{ o normalize.IntensityOptions }

func newWindow(p ingest.Params) (ingest.Stage, error) {
	s := &windowStage{normalize.IntensityOptions{Method: normalize.MethodWindow, OutDType: shards.DType(p.String("dtype")), NonFinite: p.Float("nonfinite")}}
	for _, w := range p.Strings("windows") {
		win, err := normalize.ParseWindow(w)
		if err != nil {
			return nil, err
		}
		s.o.Windows = append(s.o.Windows, win)
	}
	return s, nil
}

func (s *windowStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		im := &smp.Images[i]
		if im.Modality != "CT" {
			continue
		}
		if err := normalize.Intensity(im, s.o); err != nil {
			return imageErr(i, im, err)
		}
	}
	return nil
}

func init() { ingest.RegisterStage(windowSpec, newWindow) }
