package shards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OpenCorpus reads what a user names as a corpus: a manifest.json, the
// folder holding one, or one shard part file (.arrow or .parquet), which
// stands for its shard: the manifest beside it, restricted to that shard.
// A file that is not a manifest gets an error saying what was expected
// rather than the JSON decoder's complaint.
func OpenCorpus(path string) (*Manifest, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".arrow" && ext != ".parquet" {
		m, err := ReadManifest(path)
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syn) || errors.As(err, &typ) {
			return nil, fmt.Errorf("%s is not a corpus manifest (expected a manifest.json, the folder holding it, or a shard's .arrow/.parquet file)", path)
		}
		return m, err
	}
	dir := filepath.Dir(path)
	beside := filepath.Join(dir, ManifestFile)
	if _, err := os.Stat(beside); err != nil {
		return nil, fmt.Errorf("%s is a shard part but there is no %s beside it; give the corpus's manifest.json or folder", path, ManifestFile)
	}
	m, err := ReadManifest(beside)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			for _, f := range p.Files() {
				if f.File == name {
					m.Shards = []ShardStats{s}
					m.recount()
					return m, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("%s is not listed in %s (a leftover or a part of another corpus?)", path, beside)
}
