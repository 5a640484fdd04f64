package ingest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// VerifyCorpus re-hashes every file of a corpus and writes every problem
// to w (shards.Manifest.WriteVerify): `medmd shards verify`. corpus is a
// manifest.json, its folder or a shard file on disk, or the object-store
// URL of a corpus folder or of its manifest.json (what `medmd run` wrote
// with output.dir set to a bucket). A bucket's objects are streamed: the
// Parquet files and stats through a SHA-256, each Arrow part into a
// temporary file for its voxel-tree digest, one at a time, so the disk
// and memory hold at most one part.
func VerifyCorpus(ctx context.Context, corpus string, w io.Writer) error {
	if !storage.IsURL(corpus) {
		m, err := shards.OpenCorpus(corpus)
		if err != nil {
			return err
		}
		return m.WriteVerify(w, corpus)
	}
	root, query, _ := strings.Cut(corpus, "?")
	root = strings.TrimSuffix(strings.TrimSuffix(root, "/"+shards.ManifestFile), "/")
	if query != "" {
		root += "?" + query
	}
	b, err := storage.Open(ctx, root, storage.Options{})
	if err != nil {
		return fmt.Errorf("verify %s: %w", corpus, err)
	}
	defer b.Close()
	fs := storage.NewFS(ctx, b)
	m, err := shards.ReadManifestFS(fs, shards.ManifestFile)
	if err != nil {
		return fmt.Errorf("verify %s: %w", storage.ObjectURL(root, shards.ManifestFile), err)
	}
	return m.WriteProblems(w, strings.TrimSuffix(storage.ObjectURL(root, ""), "/"), m.ProblemsFS(fs))
}
