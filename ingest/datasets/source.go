package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// adapter is what each dataset implements; rowSource turns it into an
// ingest.Source.
type adapter interface {
	plan(ctx context.Context) ([]ingest.Unit, error)
	read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error)
}

// rowSource adapts an adapter to ingest.Source: a unit planned from a
// malformed row fails its Read with the row's error, so the runner
// quarantines that row (file:row: reason) and nothing else.
type rowSource struct{ a adapter }

func (s rowSource) Plan(ctx context.Context) ([]ingest.Unit, error) { return s.a.plan(ctx) }

func (s rowSource) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	if bad, ok := u.Data.(badUnit); ok {
		return nil, bad.Err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.a.read(ctx, u)
}

// readJSONList reads a file holding one JSON array and returns its entries
// undecoded, so a malformed entry can be reported (and quarantined) alone.
func readJSONList(path string) ([]json.RawMessage, error) {
	data, err := readBounded(path, maxIndexBytes)
	if err != nil {
		return nil, err
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: not a JSON list: %w", path, err)
	}
	return list, nil
}

// jsonText converts a JSON scalar to text: VQA-RAD stores some answers as
// numbers, SLAKE some as numbers or booleans.
func jsonText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return string(raw), true
	case bool:
		if x {
			return "yes", true
		}
		return "no", true
	}
	return "", false
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
