package train

import (
	"errors"
	"fmt"
	"sort"

	"github.com/medmd/medmd/shards"
)

// ManifestSource is random access over every sample of a shard manifest:
// all Arrow parts stay memory-mapped (zero-copy: a sample's voxels alias
// the mapping) until Close. Batching order is decided by the trainer's
// seeded batcher; the Source interface keeps the trainer independent of
// how samples are stored.
type ManifestSource struct {
	parts  []*shards.Shard
	starts []int // cumulative sample counts; starts[i] = first index of parts[i]
	n      int
}

// OpenManifest opens every Arrow part listed in the manifest at path.
func OpenManifest(path string) (*ManifestSource, error) {
	m, err := shards.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	src := &ManifestSource{}
	for _, p := range m.ArrowPaths() {
		sh, err := shards.OpenShard(p)
		if err != nil {
			src.Close()
			return nil, fmt.Errorf("manifest %s: %w", path, err)
		}
		src.parts = append(src.parts, sh)
		src.starts = append(src.starts, src.n)
		src.n += sh.Len()
	}
	return src, nil
}

// Len is the number of samples.
func (s *ManifestSource) Len() int { return s.n }

// Sample returns sample i in manifest order.
func (s *ManifestSource) Sample(i int) (*shards.Sample, error) {
	if i < 0 || i >= s.n {
		return nil, fmt.Errorf("sample %d out of range [0, %d)", i, s.n)
	}
	k := sort.Search(len(s.starts), func(j int) bool { return s.starts[j] > i }) - 1
	smp, err := s.parts[k].Sample(i - s.starts[k])
	if err != nil {
		return nil, fmt.Errorf("%s: row %d: %w", s.parts[k].Path(), i-s.starts[k], err)
	}
	return &smp, nil
}

// Close unmaps every part.
func (s *ManifestSource) Close() error {
	var errs []error
	for _, p := range s.parts {
		errs = append(errs, p.Close())
	}
	s.parts = nil
	return errors.Join(errs...)
}

// trainingText is the text a new tokenizer is trained on: up to limit
// samples of the training manifest (read once, before training) or of
// the in-memory Source.
func trainingText(o Options, limit int) ([]string, error) {
	if o.TrainManifest == "" {
		return collectText(o.Train, limit)
	}
	src, err := OpenManifest(o.TrainManifest)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return collectText(src, limit)
}
