package stages

import (
	"context"
	"fmt"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var deidCategories = []string{"email", "date", "phone", "id", "name"}

var deidentifySpec = ingest.Spec{
	Name: "deidentify",
	Summary: "Replace obvious identifiers in instruction and response with [EMAIL], [DATE], [PHONE], [ID], [NAME] " +
		"(e-mail, numeric/written dates, phone numbers, MRN-like numbers, Dr./Mr./Mrs./Ms./Prof. Name). " +
		"Counts per category go to Meta[\"deid_<category>\"] and Meta[\"deid_total\"]; placements are remapped.",
	Fields: []ingest.Field{
		{Name: "categories", Type: ingest.TypeStrings, Default: deidCategories, Enum: deidCategories,
			Description: "which identifier kinds to replace", Example: "[email, phone, date]"},
	},
}

type deidStage struct{ rules []normalize.TextRule }

func newDeidentify(p ingest.Params) (ingest.Stage, error) {
	want := map[string]bool{}
	for _, c := range p.Strings("categories") {
		want[c] = true
	}
	s := &deidStage{}
	for _, r := range normalize.DeidRules {
		if want[r.Name] {
			s.rules = append(s.rules, r)
		}
	}
	if len(s.rules) == 0 {
		return nil, fmt.Errorf("categories: none selected")
	}
	return s, nil
}

func (s *deidStage) Apply(ctx context.Context, smp *shards.Sample) error {
	counts := normalize.RewriteSample(smp, s.rules)
	total := 0
	for k, v := range counts {
		setSampleMeta(smp, "deid_"+k, fmt.Sprint(v))
		total += v
	}
	setSampleMeta(smp, "deid_total", fmt.Sprint(total))
	return nil
}

func init() { ingest.RegisterStage(deidentifySpec, newDeidentify) }
