package stages

import (
	"context"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var textCleanSpec = ingest.Spec{
	Name: "text_clean",
	Summary: "Clean instruction and response text: Unicode NFC and whitespace normalisation always; optionally strip " +
		"bullets and Q:/A: prefixes, figure/table call-outs and [n] citations, and size measurements (RadFM's MedPix " +
		"rule). Image placements are remapped so each image stays at the same words. Edit counts go to Meta[\"text_clean\"].",
	Fields: []ingest.Field{
		{Name: "bullets", Type: ingest.TypeBool, Default: true, Description: "strip list bullets and 1./1) numbering at line starts", Example: "true"},
		{Name: "qa_prefixes", Type: ingest.TypeBool, Default: true, Description: "strip Q:/A:/Question:/Answer: at line starts", Example: "true"},
		{Name: "callouts", Type: ingest.TypeBool, Default: true, Description: `remove "(Fig. 2A)", "(Table 1)", "[12]" call-outs`, Example: "true"},
		{Name: "measurements", Type: ingest.TypeBool, Default: false, Description: `remove size measurements ("3.2 x 2.1 cm", "measuring 5 mm")`, Example: "true"},
	},
}

type textCleanStage struct{ rules []normalize.TextRule }

func newTextClean(p ingest.Params) (ingest.Stage, error) {
	return &textCleanStage{normalize.CleanRules(normalize.TextOptions{
		Bullets: p.Bool("bullets"), QAPrefixes: p.Bool("qa_prefixes"),
		Callouts: p.Bool("callouts"), Measurements: p.Bool("measurements"),
	})}, nil
}

func (s *textCleanStage) Apply(ctx context.Context, smp *shards.Sample) error {
	counts := normalize.RewriteSample(smp, s.rules)
	if len(counts) > 0 {
		setSampleMeta(smp, "text_clean", counts)
	}
	return nil
}

func init() { ingest.RegisterStage(textCleanSpec, newTextClean) }
