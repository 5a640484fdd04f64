package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
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

// ShardOf returns the shard of a corpus in a bucket that holds sample id,
// reading only ids, by ranged GETs: each part's Parquet id column (its
// footer and that column's pages), or for a part without Parquet
// (layout "none") its Arrow file's footer and each record batch's
// metadata and id buffers (shards.PartIDs). One sample of a large corpus
// is so found without copying the corpus. st is nil, with a nil error,
// when no part names it; known is false for a corpus on disk, where the
// Arrow parts are as cheap to look through.
func (c *Corpus) ShardOf(ctx context.Context, id string) (st *shards.ShardStats, known bool, err error) {
	if c.bucket == nil {
		return nil, false, nil
	}
	for i := range c.Shards {
		for _, p := range c.Shards[i].Parts {
			has, err := c.partHasID(ctx, p, id)
			if err != nil {
				return nil, true, err
			}
			if has {
				return &c.Shards[i], true, nil
			}
		}
	}
	return nil, true, nil
}

// partHasID reports whether part p holds sample id, from its Parquet
// file where it has one, else from its Arrow file.
func (c *Corpus) partHasID(ctx context.Context, p shards.PartStats, id string) (bool, error) {
	if p.Parquet != nil {
		url := storage.ObjectURL(c.Name, p.Parquet.File)
		has, err := parquetHasID(ctx, c.bucket.NewReaderAt(ctx, p.Parquet.File, url, p.Parquet.Bytes), id)
		if err != nil {
			return false, fmt.Errorf("%s: %w", url, err)
		}
		return has, nil
	}
	url := storage.ObjectURL(c.Name, p.Arrow.File)
	var has bool
	err := shards.PartIDs(c.bucket.NewExactReaderAt(ctx, p.Arrow.File, url, p.Arrow.Bytes), p.Arrow.Bytes, func(got string) bool {
		has = got == id
		return !has
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", url, err)
	}
	return has, nil
}

// parquetHasID reports whether the id column of a shard's Parquet part
// holds id. The part is not checked against its checksum first, and
// arrow-go panics on some malformed files: a panic is an error.
func parquetHasID(ctx context.Context, ra parquet.ReaderAtSeeker, id string) (has bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			has, err = false, fmt.Errorf("malformed Parquet file: %v", p)
		}
	}()
	rdr, err := file.NewParquetReader(ra)
	if err != nil {
		return false, err
	}
	defer rdr.Close()
	col := rdr.MetaData().Schema.ColumnIndexByName("id")
	if col < 0 {
		return false, errors.New("no id column")
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return false, err
	}
	cr, err := fr.GetColumn(ctx, col)
	if err != nil {
		return false, err
	}
	ids, err := cr.NextBatch(rdr.NumRows())
	if err != nil {
		return false, err
	}
	defer ids.Release()
	for _, chunk := range ids.Chunks() {
		s, ok := chunk.(*array.String)
		if !ok {
			return false, fmt.Errorf("id column of type %s", chunk.DataType())
		}
		for i := 0; i < s.Len(); i++ {
			if s.IsValid(i) && s.Value(i) == id {
				return true, nil
			}
		}
	}
	return false, nil
}
