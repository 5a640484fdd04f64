package shards

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
)

// ShardName returns the zero-padded name of shard index i ("shard-00003").
func ShardName(i int) string { return fmt.Sprintf("shard-%05d", i) }

// SamplesOf adapts a slice to the sequence WriteCorpus takes.
func SamplesOf(ss []Sample) iter.Seq[*Sample] {
	return func(yield func(*Sample) bool) {
		for i := range ss {
			if !yield(&ss[i]) {
				return
			}
		}
	}
}

// WriteCorpus writes samples, in order, as shards shard-00000,
// shard-00001… of at most opts.MaxSamples samples each (parts roll on
// opts.MaxBytes inside a shard), then writes dir/manifest.json listing
// exactly those shards. It is the convenience path for derived corpora
// (RadMD, RadBench splits) and tests; the staged runner drives
// CreateShard itself. On error no manifest is written and the shard in
// progress is aborted.
func WriteCorpus(dir, pipeline, configHash string, samples iter.Seq[*Sample], opts WriteOptions) (*Manifest, error) {
	opts = opts.withDefaults()
	st, err := WriteShards(dir, samples, opts)
	if err != nil {
		return nil, err
	}
	m := &Manifest{SchemaVersion: SchemaVersion, Pipeline: pipeline, ConfigHash: configHash, Parquet: opts.Parquet, Shards: st, dir: dir}
	m.recount()
	if err := m.write(opts.FS, filepath.Join(dir, ManifestFile)); err != nil {
		return nil, err
	}
	return m, nil
}

// WriteShards writes the shards of WriteCorpus and returns their stats in
// order, without a manifest: for a caller that publishes its own. Each
// shard is published while the next is written (Publisher), so opts.FS
// is used from two goroutines at once. On error the shard in progress is
// aborted; shards already published stay, and so may the one written
// while a failed one was being published (Publisher.Go), so the shards
// left are not always a prefix of the corpus: a rerun rewrites them all.
func WriteShards(dir string, samples iter.Seq[*Sample], opts WriteOptions) ([]ShardStats, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	var (
		w       *ShardWriter
		pub     Publisher
		done    = []ShardStats{} // appended by the publishes, read after Wait
		made    int              // shards created
		inShard int
	)
	closeShard := func() error {
		sw := w
		w, inShard = nil, 0
		if err := sw.Finish(); err != nil {
			sw.Abort()
			return err
		}
		return pub.Go(func() error {
			st, err := sw.Publish()
			if err != nil {
				sw.Abort()
				return err
			}
			done = append(done, *st)
			return nil
		})
	}
	fail := func(err error) ([]ShardStats, error) {
		if w != nil {
			w.Abort()
		}
		return nil, errors.Join(err, pub.Wait())
	}
	for s := range samples {
		if w == nil {
			var err error
			if w, err = CreateShard(dir, ShardName(made), opts); err != nil {
				return fail(err)
			}
			made++
		}
		if err := w.Add(s); err != nil {
			return fail(err)
		}
		inShard++
		if inShard >= opts.MaxSamples {
			if err := closeShard(); err != nil {
				return fail(err)
			}
		}
	}
	if w == nil && made == 0 {
		// An empty corpus still has one empty shard, so readers see the
		// schema.
		var err error
		if w, err = CreateShard(dir, ShardName(0), opts); err != nil {
			return fail(err)
		}
	}
	if w != nil {
		if err := closeShard(); err != nil {
			return fail(err)
		}
	}
	if err := pub.Wait(); err != nil {
		return nil, err
	}
	return done, nil
}

// Iter iterates every sample of the manifest in corpus order (shards
// by name, parts in order, rows in order). A yielded Sample's voxels alias
// a mapping that is unmapped once iteration moves past its part: copy
// what must outlive the loop body. Iteration stops at the first error,
// which is yielded, or when ctx is done.
func (m *Manifest) Iter(ctx context.Context) iter.Seq2[Sample, error] {
	return func(yield func(Sample, error) bool) {
		for _, path := range m.ArrowPaths() {
			if err := ctx.Err(); err != nil {
				yield(Sample{}, err)
				return
			}
			sh, err := OpenShard(path)
			if err != nil {
				yield(Sample{}, err)
				return
			}
			for i := 0; i < sh.Len(); i++ {
				if i%256 == 0 {
					if err := ctx.Err(); err != nil {
						sh.Close()
						yield(Sample{}, err)
						return
					}
				}
				s, err := sh.Sample(i)
				if !yield(s, err) || err != nil {
					sh.Close()
					return
				}
			}
			sh.Close()
		}
	}
}
