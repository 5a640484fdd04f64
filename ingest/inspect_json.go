package ingest

import "encoding/json"

// WriteJSONLine writes v as one line of JSON, the shape every inspector
// prints for `medmd inspect --json`.
func WriteJSONLine(w Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
