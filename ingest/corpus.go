package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// Corpus is a corpus's manifest with the FS its files are read through:
// shards.OSFS for a folder, a bucket's storage.FS for an object-store URL.
type Corpus struct {
	*shards.Manifest
	FS shards.FS
	// Name is how messages name the corpus: the path as given, or the
	// URL without its connection parameters.
	Name   string
	root   string // the bucket URL, connection parameters included ("" on disk)
	bucket *storage.Bucket
}

// Close releases the bucket, if any.
func (c *Corpus) Close() error {
	if c.bucket == nil {
		return nil
	}
	return c.bucket.Close()
}

// OpenCorpus reads the manifest of a corpus: a manifest.json, its folder
// or a shard file on disk (shards.OpenCorpus), or the object-store URL of
// a corpus folder or of its manifest.json (what `medmd run` wrote with
// output.dir set to a bucket), with the URL's connection parameters and
// the environment's credentials.
func OpenCorpus(ctx context.Context, corpus string) (*Corpus, error) {
	if local, ok := localCorpus(corpus); ok {
		m, err := shards.OpenCorpus(local)
		if err != nil {
			return nil, err
		}
		return &Corpus{Manifest: m, FS: shards.OSFS, Name: corpus}, nil
	}
	root, query, _ := strings.Cut(corpus, "?")
	root = strings.TrimSuffix(strings.TrimSuffix(root, "/"+shards.ManifestFile), "/")
	if query != "" {
		root += "?" + query
	}
	b, err := storage.Open(ctx, root, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", corpus, err)
	}
	fs := storage.NewFS(ctx, b)
	m, err := shards.ReadManifestFS(fs, shards.ManifestFile)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("corpus %s: %w", storage.ObjectURL(root, shards.ManifestFile), err)
	}
	return &Corpus{Manifest: m, FS: fs, Name: storage.Location(root), root: root, bucket: b}, nil
}

// VerifyCorpus re-hashes every file of a corpus (OpenCorpus) and writes
// every problem to w (shards.Manifest.WriteVerify): `medmd shards
// verify`. A bucket's objects are streamed: the Parquet files and stats
// through a SHA-256, each Arrow part into a temporary file for its
// voxel-tree digest, one at a time, so the disk and memory hold at most
// one part.
func VerifyCorpus(ctx context.Context, corpus string, w io.Writer) error {
	c, err := OpenCorpus(ctx, corpus)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.WriteProblems(w, c.Name, c.ProblemsFS(c.FS))
}
