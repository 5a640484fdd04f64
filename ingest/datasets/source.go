package datasets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
type rowSource struct {
	a adapter
	b *builder // names the source and root in errors
}

// Plan plans the adapter's units. A plan without a single unit is an
// error: a dataset root that yields nothing is a wrong root or a layout the
// adapter does not know, never a successful run of an empty corpus.
func (s rowSource) Plan(ctx context.Context) ([]ingest.Unit, error) {
	if err := s.b.fs.open(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", s.b.source, err)
	}
	units, err := s.a.plan(ctx)
	if perr := s.b.fs.probe(); err == nil && perr != nil {
		// A file taken for missing may have been there.
		err = fmt.Errorf("%s: %w", s.b.source, perr)
	}
	if err == nil && len(units) == 0 {
		return nil, fmt.Errorf("%s: %s: %w", s.b.source, s.b.opts.Root, ErrNoRows)
	}
	return units, err
}

// ErrNoRows is returned by Plan when a dataset's index files hold no row
// to read (or sample_ratio kept none).
var ErrNoRows = errors.New("the dataset's index files hold no rows (or sample_ratio kept none)")

// layoutError is the one-line error of a root that holds none of a
// dataset's known layouts: it names every file or folder looked for.
func layoutError(dataset, root string, lookedFor ...string) error {
	return fmt.Errorf("%s: %s holds none of the known layouts (looked for %s)", dataset, root, strings.Join(lookedFor, ", "))
}

func (s rowSource) Read(ctx context.Context, u ingest.Unit) ([]shards.Sample, error) {
	if bad, ok := u.Data.(badUnit); ok {
		return nil, bad.Err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.b.fs.open(ctx); err != nil {
		return nil, err
	}
	return s.a.read(ctx, u)
}

// utf8BOM is the byte-order mark some publishers' tools (Windows editors,
// pandas' to_json with encoding="utf-8-sig") put before JSON and CSV text.
var utf8BOM = []byte("\ufeff")

// readJSONFile reads a whole JSON (or JSON Lines) index file without its
// UTF-8 byte-order mark: encoding/json rejects a BOM as an invalid
// character, as readCSV already strips it from a header.
func (t *tree) readJSONFile(ctx context.Context, path string) ([]byte, error) {
	data, err := t.readFile(ctx, path, maxIndexBytes)
	if err != nil {
		return nil, err
	}
	return bytes.TrimPrefix(data, utf8BOM), nil
}

// readJSONList reads a file holding one JSON array and returns its entries
// undecoded, so a malformed entry can be reported (and quarantined) alone.
func (t *tree) readJSONList(ctx context.Context, path string) ([]json.RawMessage, error) {
	data, err := t.readJSONFile(ctx, path)
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
