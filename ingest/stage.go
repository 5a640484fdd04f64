package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// StageCorpus makes a corpus readable from local disk, where the
// training loader and the other readers map its Arrow parts: a corpus
// on disk is returned as it is; one in a bucket (OpenCorpus) is copied
// into dir, or into StageDir's folder for its URL when dir is "", and
// the local manifest's path is returned.
//
// The copy follows the corpus's own publishing rule, so an interrupted
// stage resumes and never leaves a shard that looks whole but is not:
// each shard's part files are published (temp name, then rename), then
// checked against the manifest's sizes and SHA-256s, and only then its
// stats file is written; the manifest goes last. A shard whose stats file
// is in dir and whose files have the recorded sizes is not downloaded
// again. progress, when not nil, gets a line per shard copied.
func StageCorpus(ctx context.Context, corpus, dir string, progress io.Writer) (string, error) {
	if local, ok := localCorpus(corpus); ok {
		return local, nil
	}
	c, err := OpenCorpus(ctx, corpus)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dir == "" {
		if dir, err = StageDir(c.Name); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// INVARIANT: a manifest in dir describes files that are all there:
	// the old one goes before any shard changes, the new one comes last.
	local := filepath.Join(dir, shards.ManifestFile)
	if err := shards.OSFS.Remove(local); err != nil {
		return "", err
	}
	if err := shards.OSFS.SyncDir(dir); err != nil {
		return "", err
	}
	for i := range c.Shards {
		if err := stageShard(c, &c.Shards[i], dir, progress); err != nil {
			return "", err
		}
	}
	if err := c.Manifest.Write(local); err != nil {
		return "", err
	}
	return local, nil
}

// StageDir is where StageCorpus copies the corpus at url by default: a
// folder of the user's cache named by the URL (without its connection
// parameters).
func StageDir(url string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder to stage %s into (%v); give one", url, err)
	}
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(cache, "medmd", "corpora", hex.EncodeToString(sum[:8])), nil
}

// stageShard copies one shard of c into dir unless it is there already.
func stageShard(c *Corpus, st *shards.ShardStats, dir string, progress io.Writer) error {
	if have, done, err := shards.ReadShardStats(dir, st.Name); err == nil && done && sameFiles(have, st) && len(shards.CheckShard(dir, st, false)) == 0 {
		return nil
	}
	// INVARIANT: the stats file goes first and comes back last, so a
	// shard with stats in dir is whole and checked.
	if err := shards.RemoveShard(shards.OSFS, dir, st.Name); err != nil {
		return err
	}
	var bytes int64
	for _, p := range st.Parts {
		for _, f := range p.Files() {
			if err := copyObject(c.FS, f.File, filepath.Join(dir, f.File)); err != nil {
				return fmt.Errorf("stage %s: %w", storage.ObjectURL(c.Name, f.File), err)
			}
			bytes += f.Bytes
		}
	}
	if probs := shards.CheckShard(dir, st, true); len(probs) > 0 {
		// Name the object, not its copy; the first problem, with a count.
		err := shards.Reworded(probs[0], strings.ReplaceAll(probs[0].Error(), dir+string(filepath.Separator), c.Name+"/"))
		return fmt.Errorf("stage: %w (%d file(s) of shard %s differ from the manifest; run medmd shards verify on the bucket)", err, len(probs), st.Name)
	}
	if err := copyStats(c, st, dir); err != nil {
		return fmt.Errorf("stage %s: %w", storage.ObjectURL(c.Name, shards.StatsFile(st.Name)), err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "staged %s (%.1f MB) from %s\n", st.Name, float64(bytes)/1e6, c.Name)
	}
	return nil
}

// copyStats publishes the shard's stats object in dir once it lists the
// files the manifest lists, so that the copy is reused by the next stage.
func copyStats(c *Corpus, st *shards.ShardStats, dir string) error {
	name := shards.StatsFile(st.Name)
	r, err := c.FS.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxStatsBytes+1))
	if err != nil {
		return err
	}
	var got shards.ShardStats
	if len(data) > maxStatsBytes || json.Unmarshal(data, &got) != nil || !sameFiles(&got, st) {
		return fmt.Errorf("%w: the stats object does not list the files the manifest lists for shard %s", shards.ErrChecksum, st.Name)
	}
	return shards.PublishBytes(shards.OSFS, filepath.Join(dir, name), data)
}

// maxStatsBytes bounds a stats object read whole (a shard's stats are a
// few kilobytes).
const maxStatsBytes = 16 << 20

// localCorpus returns the local path of a corpus given as a path or a
// file:// URL.
func localCorpus(corpus string) (string, bool) {
	if !storage.IsURL(corpus) {
		return corpus, true
	}
	if _, local, err := storage.ParseRoot(corpus); err == nil && local != "" {
		return local, true
	}
	return "", false
}

// copyObject publishes the object name of fs at path.
func copyObject(fs shards.FS, name, path string) error {
	r, err := fs.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	return shards.Publish(shards.OSFS, path, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// sameFiles reports whether two stats of a shard list the same files with
// the same sizes and checksums: a staged shard is reused only if it is
// the shard the manifest lists now, not one of an earlier build of the
// corpus under the same URL.
func sameFiles(a, b *shards.ShardStats) bool {
	var fa, fb []shards.FileStats
	for _, p := range a.Parts {
		fa = append(fa, p.Files()...)
	}
	for _, p := range b.Parts {
		fb = append(fb, p.Files()...)
	}
	return slices.Equal(fa, fb)
}
