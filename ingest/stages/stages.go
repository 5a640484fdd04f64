// Package stages wraps normalize's pure transforms as pipeline stages.
//
// Each stage is one file that registers itself with ingest.RegisterStage;
// the CLI blank-imports this package. A stage records its parameters on
// every image it touches (shards.Image.Transforms, canonical JSON) or, for
// text stages, in the sample's Meta, so a sample says how it was made.
package stages

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/medmd/medmd/shards"
)

// dtypes every stage accepts as an output element type.
var dtypeNames = []string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float16", "float32", "float64"}

func imageErr(i int, im *shards.Image, err error) error {
	if im.SourcePath != "" {
		return fmt.Errorf("image %d (%s): %w", i, im.SourcePath, err)
	}
	return fmt.Errorf("image %d: %w", i, err)
}

// setSampleMeta stores v under k in the sample's Meta as canonical JSON
// (strings stay bare).
func setSampleMeta(s *shards.Sample, k string, v any) {
	if s.Meta == nil {
		s.Meta = map[string]string{}
	}
	if str, ok := v.(string); ok {
		s.Meta[k] = str
		return
	}
	b, _ := json.Marshal(v)
	s.Meta[k] = string(b)
}

// parseFloats reads a list of numbers written as YAML strings.
func parseFloats(field string, ss []string) ([]float64, error) {
	out := make([]float64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", field, s)
		}
		out[i] = v
	}
	return out, nil
}
