package bench

import (
	"os"
	"path/filepath"

	"github.com/medmd/medmd/shards"
)

// corpusWriter writes one derived corpus (a RadBench split) shard by
// shard, so that many of them can be filled from a single pass over the
// input; finish publishes its manifest. Unlike shards.WriteCorpus it does
// not own the loop, and it writes no manifest until finish.
type corpusWriter struct {
	dir, pipeline, configHash string
	opts                      shards.WriteOptions
	w                         *shards.ShardWriter
	shard, inShard            int
}

func newCorpusWriter(dir, pipeline, configHash string, opts shards.WriteOptions) *corpusWriter {
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = shards.DefaultMaxSamples
	}
	return &corpusWriter{dir: dir, pipeline: pipeline, configHash: configHash, opts: opts}
}

func (c *corpusWriter) add(s *shards.Sample) error {
	if c.w == nil {
		w, err := shards.CreateShard(c.dir, shards.ShardName(c.shard), c.opts)
		if err != nil {
			return err
		}
		c.w = w
	}
	if err := c.w.Add(s); err != nil {
		return err
	}
	if c.inShard++; c.inShard >= c.opts.MaxSamples {
		return c.closeShard()
	}
	return nil
}

func (c *corpusWriter) closeShard() error {
	_, err := c.w.Close()
	if err != nil {
		c.w.Abort()
	}
	c.w, c.inShard = nil, 0
	c.shard++
	return err
}

// finish closes the open shard (writing an empty one for an empty corpus,
// so readers see the schema) and publishes dir/manifest.json.
func (c *corpusWriter) finish() (*shards.Manifest, error) {
	if c.w == nil && c.shard == 0 {
		w, err := shards.CreateShard(c.dir, shards.ShardName(0), c.opts)
		if err != nil {
			return nil, err
		}
		c.w = w
	}
	if c.w != nil {
		if err := c.closeShard(); err != nil {
			return nil, err
		}
	}
	m, err := shards.BuildManifest(c.dir, c.pipeline, c.configHash)
	if err != nil {
		return nil, err
	}
	return m, m.Write(filepath.Join(c.dir, shards.ManifestFile))
}

// abort removes what was written.
func (c *corpusWriter) abort() {
	if c.w != nil {
		c.w.Abort()
	}
	os.RemoveAll(c.dir)
}
