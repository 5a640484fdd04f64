package train

import (
	"context"
	"fmt"

	"github.com/medmd/medmd/shards"
)

// batchStream serves the training batches and records its position in a
// checkpoint. Two implementations: permStream (a seeded permutation per
// epoch over any Source) and loaderStream (the shards.Loader: bucketed by
// image shape, rank-sharded, prefetching, resumable).
type batchStream interface {
	next(ctx context.Context) ([]*shards.Sample, error)
	save(st *CheckpointState)
	close() error
}

type permStream struct {
	b     *batcher
	batch int
}

func (p *permStream) next(context.Context) ([]*shards.Sample, error) { return p.b.next(p.batch) }
func (p *permStream) save(st *CheckpointState)                       { st.Loader = p.b.state }
func (p *permStream) close() error                                   { return nil }

// loaderStream takes the order of samples from a shards.Loader and the
// samples themselves (with full image geometry, zero-copy) from a
// ManifestSource looked up by id: the trainer resizes every image on the
// host anyway, and samples whose images differ in shape (the loader's
// "mixed" kind) come with views only.
type loaderStream struct {
	l   *shards.Loader
	src *ManifestSource
	ids map[string]int
}

// newLoaderStream opens the loader over the manifest at path, resuming
// from resume when it is not nil. Batches hold cfg.Batch samples of one
// kind (2D, 3D or text) — fewer at a bucket's tail.
func newLoaderStream(path string, src *ManifestSource, cfg Config, resume *shards.LoaderState) (*loaderStream, error) {
	m, err := shards.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	l, err := shards.NewLoader([]*shards.Manifest{m}, shards.LoaderConfig{
		Seed: uint64(cfg.Seed), Shuffle: true, BatchSize2D: cfg.Batch, BatchSize3D: cfg.Batch,
	}, resume)
	if err != nil {
		return nil, err
	}
	ls := &loaderStream{l: l, src: src, ids: map[string]int{}}
	for i := 0; i < src.Len(); i++ {
		s, err := src.Sample(i)
		if err != nil {
			l.Close()
			return nil, err
		}
		if _, dup := ls.ids[s.ID]; !dup {
			ls.ids[s.ID] = i
		}
	}
	return ls, nil
}

func (s *loaderStream) next(ctx context.Context) ([]*shards.Sample, error) {
	b, err := s.l.Next(ctx)
	if err != nil {
		return nil, err
	}
	defer b.Release()
	out := make([]*shards.Sample, 0, len(b.IDs))
	for _, id := range b.IDs {
		i, ok := s.ids[id]
		if !ok {
			return nil, fmt.Errorf("loader served sample %s, not in the manifest", id)
		}
		smp, err := s.src.Sample(i)
		if err != nil {
			return nil, err
		}
		out = append(out, smp)
	}
	return out, nil
}

func (s *loaderStream) save(st *CheckpointState) {
	ls := s.l.State()
	st.ShardLoader = &ls
}

func (s *loaderStream) close() error { return s.l.Close() }

// zeroWeight returns a copy of s that contributes nothing to the loss.
func zeroWeight(s *seq) *seq {
	c := *s
	c.weight = make([]float32, len(s.weight))
	return &c
}
