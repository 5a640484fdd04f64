package bench

import (
	"fmt"
	"os"

	"github.com/medmd/medmd/normalize"
)

// ReadTermList reads a medical term list, one term a line (`radbench
// score --terms`); path "" returns nil, which Score takes as the bundled
// radiology starter list.
func ReadTermList(path string) (*normalize.TermList, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	terms, err := normalize.ParseTermList(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return terms, nil
}
