package ingest

import (
	"fmt"

	"github.com/medmd/medmd/shards"
)

// ModelInputStage is implemented by a stage that makes every image
// exactly what a training model takes (the model_input stage). The
// manifest of a pipeline records the geometry of its last such stage, so
// `medmd train` checks that a corpus fits its model before reading a
// shard.
type ModelInputStage interface {
	Stage
	ModelInput() shards.ModelInput
}

// modelInput returns the geometry of p's last ModelInputStage, nil when
// it has none. The stages are built again from their parameters (which
// reads no input): a merge runs without the run's stages.
func (p *Pipeline) modelInput() (*shards.ModelInput, error) {
	var out *shards.ModelInput
	for i, sc := range p.Stages {
		se, ok := lookupStage(sc.Type)
		if !ok {
			return nil, fmt.Errorf("pipeline %q: unknown stage %q", p.Name, sc.Type)
		}
		st, err := se.new(sc.Params)
		if err != nil {
			return nil, fmt.Errorf("%s: pipeline %q: stage %d %q: %w", sc.Pos, p.Name, i, sc.Type, err)
		}
		if mi, ok := st.(ModelInputStage); ok {
			g := mi.ModelInput()
			out = &g
		}
	}
	return out, nil
}
