package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// StageOptions tune StageCorpus. The zero value stages the whole corpus
// into StageDir's folder, silently.
type StageOptions struct {
	// Dir is the folder to copy into; "" means StageDir(url).
	Dir string
	// Pick, when set, chooses the shards to stage (FirstSamples,
	// SampleShard); nil stages them all. A stage of fewer shards than the
	// corpus has writes no manifest: Staged.Corpus lists the shards it
	// staged.
	Pick func(context.Context, *Corpus) ([]shards.ShardStats, error)
	// Progress, with Interactive (a terminal), gets one line redrawn in
	// place: shards copied, rate, ETA.
	Progress    io.Writer
	Interactive bool
}

// Staged is what StageCorpus did.
type Staged struct {
	// Manifest is the local manifest.json (the corpus as given, on disk);
	// "" after a partial stage.
	Manifest string
	// Corpus lists the staged shards, its files in Dir; nil for a corpus
	// on disk.
	Corpus  *shards.Manifest
	Dir     string // "" for a corpus on disk
	Shards  int    // shards staged (all of the corpus's unless partial)
	Copied  int    // shards downloaded; the others were in Dir already
	Bytes   int64  // bytes downloaded
	Elapsed time.Duration
}

func (s *Staged) String() string {
	return fmt.Sprintf("staged %d shards (%.1f MB) into %s in %s; %d were there already",
		s.Copied, float64(s.Bytes)/1e6, s.Dir, s.Elapsed.Round(time.Millisecond), s.Shards-s.Copied)
}

// StageCorpus makes a corpus readable from local disk, where the
// training loader and the other readers map its Arrow parts: a corpus
// on disk is returned as it is; one in a bucket (OpenCorpus) is copied
// into o.Dir, and the local manifest's path is returned.
//
// The copy follows the corpus's own publishing rule, so an interrupted
// stage resumes and never leaves a shard that looks whole but is not:
// the old local manifest goes before the first shard that changes; each
// shard's part files are published (temp name, then rename), then
// checked against the manifest's sizes and SHA-256s, and only then its
// stats file is written; the manifest goes last. A shard whose stats
// file in the folder lists the manifest's files, with the recorded
// sizes, is not downloaded again, so a partial stage (o.Pick) of a
// corpus staged whole leaves it whole.
func StageCorpus(ctx context.Context, corpus string, o StageOptions) (*Staged, error) {
	if local, ok := localCorpus(corpus); ok {
		return &Staged{Manifest: local}, nil
	}
	start := time.Now()
	c, err := OpenCorpus(ctx, corpus)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	dir := o.Dir
	if dir == "" {
		if dir, err = StageDir(c.root); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	todo := c.Shards
	if o.Pick != nil {
		if todo, err = o.Pick(ctx, c); err != nil {
			return nil, err
		}
	}
	res := &Staged{Dir: dir, Shards: len(todo)}
	var bytes int64
	for _, st := range todo {
		bytes += st.Bytes
	}
	prog := startProgress(o.Progress, o.Interactive, "stage "+c.Name, "shards", len(todo), bytes)
	defer prog.stop()
	local := filepath.Join(dir, shards.ManifestFile)
	manifestGone := false
	for i := range todo {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var n int64
		if !isStaged(dir, &todo[i]) {
			// INVARIANT: a manifest in dir describes files that are all
			// there: the old one goes before any shard changes, the new
			// one comes last.
			if !manifestGone {
				if err := removeManifest(dir); err != nil {
					return nil, err
				}
				manifestGone = true
			}
			if n, err = stageShard(c, &todo[i], dir); err != nil {
				return nil, err
			}
			res.Copied++
			res.Bytes += n
		}
		prog.add(n)
	}
	prog.stop()
	staged := *c.Manifest
	staged.SetDir(dir)
	if len(todo) == len(c.Shards) {
		if err := c.Manifest.Write(local); err != nil {
			return nil, err
		}
		res.Manifest = local
	} else {
		staged.Shards = todo
	}
	res.Corpus = &staged
	res.Elapsed = time.Since(start)
	return res, nil
}

// FirstSamples picks the leading shards that hold a corpus's first n
// samples (what `medmd shards head -n` prints), all of them when n <= 0.
func FirstSamples(n int) func(context.Context, *Corpus) ([]shards.ShardStats, error) {
	return func(_ context.Context, c *Corpus) ([]shards.ShardStats, error) {
		if n <= 0 {
			return c.Shards, nil
		}
		held := 0
		for i := range c.Shards {
			if held += c.Shards[i].Samples; held >= n {
				return c.Shards[:i+1], nil
			}
		}
		return c.Shards, nil
	}
}

// SampleShard picks the shard that holds sample id (Corpus.ShardOf), or
// every shard where the corpus cannot say without them; a corpus that has
// no such sample is an error.
func SampleShard(id string) func(context.Context, *Corpus) ([]shards.ShardStats, error) {
	return func(ctx context.Context, c *Corpus) ([]shards.ShardStats, error) {
		st, known, err := c.ShardOf(ctx, id)
		switch {
		case err != nil:
			return nil, err
		case !known:
			return c.Shards, nil
		case st == nil:
			return nil, fmt.Errorf("corpus %s: no sample with id %q", c.Name, id)
		}
		return []shards.ShardStats{*st}, nil
	}
}

// removeManifest removes dir's manifest, durably.
func removeManifest(dir string) error {
	if err := shards.OSFS.Remove(filepath.Join(dir, shards.ManifestFile)); err != nil {
		return err
	}
	return shards.OSFS.SyncDir(dir)
}

// StageDir is where StageCorpus copies the corpus at url by default: a
// folder of the user's cache named by the URL's bucket and key prefix
// (storage.Location) and its endpoint, if it has one, so that corpora
// under different prefixes or on different servers get folders of their
// own, whatever the other connection parameters. The folder's name starts
// with the bucket and the prefix's last folder, for people who list the
// cache or read serve's corpus names ("ct-archive-3f9a0c1e2b4d5a6f").
func StageDir(corpusURL string) (string, error) {
	loc := storage.Location(corpusURL)
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder to stage %s into (%v); give one", loc, err)
	}
	key := loc
	if u, err := url.Parse(corpusURL); err == nil && u.Query().Get("endpoint") != "" {
		key += " " + u.Query().Get("endpoint")
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(cache, "medmd", "corpora", readableName(loc)+hex.EncodeToString(sum[:8])), nil
}

// readableName returns the last path element of a location, reduced to
// letters, digits, '-', '_' and '.', and a '-' after it; "" if nothing
// is left.
func readableName(loc string) string {
	_, rest, _ := strings.Cut(loc, "://")
	base := rest[strings.LastIndexByte(rest, '/')+1:]
	var b strings.Builder
	for _, r := range base {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.", r)) && b.Len() < 40 {
			b.WriteRune(r)
		}
	}
	if n := strings.Trim(b.String(), "."); n != "" {
		return n + "-"
	}
	return ""
}

// isStaged reports whether dir holds shard st as the manifest lists it.
func isStaged(dir string, st *shards.ShardStats) bool {
	have, done, err := shards.ReadShardStats(dir, st.Name)
	return err == nil && done && sameFiles(have, st) && len(shards.CheckShard(dir, st, false)) == 0
}

// stageShard copies one shard of c into dir and returns the bytes it
// downloaded.
func stageShard(c *Corpus, st *shards.ShardStats, dir string) (int64, error) {
	// INVARIANT: the stats file goes first and comes back last, so a
	// shard with stats in dir is whole and checked.
	if err := shards.RemoveShard(shards.OSFS, dir, st.Name); err != nil {
		return 0, err
	}
	var bytes int64
	for _, p := range st.Parts {
		for _, f := range p.Files() {
			if err := copyObject(c.FS, f.File, filepath.Join(dir, f.File)); err != nil {
				return 0, fmt.Errorf("stage %s: %w", storage.ObjectURL(c.Name, f.File), err)
			}
			bytes += f.Bytes
		}
	}
	if probs := shards.CheckShard(dir, st, true); len(probs) > 0 {
		// Name the object, not its copy; the first problem, with a count.
		err := shards.Reworded(probs[0], strings.ReplaceAll(probs[0].Error(), dir+string(filepath.Separator), c.Name+"/"))
		return 0, fmt.Errorf("stage: %w (%d file(s) of shard %s differ from the manifest; run medmd shards verify on the bucket)", err, len(probs), st.Name)
	}
	if err := copyStats(c, st, dir); err != nil {
		return 0, fmt.Errorf("stage %s: %w", storage.ObjectURL(c.Name, shards.StatsFile(st.Name)), err)
	}
	return bytes, nil
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
