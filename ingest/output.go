package ingest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// output is where a pipeline's corpus is written: a local folder (a path
// or a file:// URL) through shards.OSFS, or an object-storage bucket
// (s3://…, with gocloud's URL parameters such as endpoint=) through
// storage.FS. Every file goes through shards.Publish either way; in a
// bucket, "publish" is an upload of the complete file under its final
// key, so the rule that a shard with stats is done holds there too: a
// shard's data objects are uploaded before its stats object.
type output struct {
	fs   shards.FS
	dir  string // what file names are joined onto: the folder, or "." in a bucket
	name string // the folder or URL, in messages
}

// remote reports whether the output is a bucket.
func (o *output) remote() bool { return o.fs != shards.OSFS }

// path joins a file name onto the output.
func (o *output) path(elem ...string) string {
	return filepath.Join(append([]string{o.dir}, elem...)...)
}

// where names a file of the output in messages (the URL for a bucket).
func (o *output) where(elem ...string) string {
	if !o.remote() {
		return o.path(elem...)
	}
	root, _, _ := strings.Cut(o.name, "?")
	return strings.TrimSuffix(root, "/") + "/" + filepath.ToSlash(filepath.Join(elem...))
}

// openOutput opens p's output. Opening a bucket does no I/O; ctx bounds
// every later upload and read (see storage.FS).
func openOutput(ctx context.Context, p *Pipeline) (*output, error) {
	if o, ok, err := localOutput(p); ok || err != nil {
		return o, err
	}
	dir := p.OutputDir()
	b, err := storage.Open(ctx, dir, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("pipeline %q: output.dir: %w", p.Name, err)
	}
	return &output{fs: storage.NewFS(ctx, b), dir: ".", name: dir}, nil
}

// output returns the plan's output, opened by MakePlan. A plan built by
// hand (tests) gets its local folder.
func (pl *Plan) output() (*output, error) {
	if pl.out != nil {
		return pl.out, nil
	}
	o, ok, err := localOutput(pl.Pipeline)
	if err == nil && !ok {
		err = fmt.Errorf("pipeline %q: output %s: a plan made without MakePlan has no open bucket", pl.Pipeline.Name, pl.Pipeline.OutputDir())
	}
	return o, err
}

// localOutput returns p's output when it is a local folder (a path or a
// file:// URL); ok is false for a bucket.
func localOutput(p *Pipeline) (o *output, ok bool, err error) {
	dir := p.OutputDir()
	if !strings.Contains(dir, "://") {
		return &output{fs: shards.OSFS, dir: dir, name: dir}, true, nil
	}
	_, local, err := storage.ParseRoot(dir)
	if err != nil {
		return nil, false, fmt.Errorf("pipeline %q: output.dir: %w", p.Name, err)
	}
	if local != "" {
		return &output{fs: shards.OSFS, dir: local, name: local}, true, nil
	}
	return nil, false, nil
}

// readFile reads a whole file of the output.
func (o *output) readFile(name string) ([]byte, error) {
	if !o.remote() {
		return os.ReadFile(name)
	}
	f, err := o.fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// readStats reads a shard's stats (ReadShardStats for a folder).
func (o *output) readStats(name string) (*shards.ShardStats, bool, error) {
	if !o.remote() {
		return shards.ReadShardStats(o.dir, name)
	}
	return shards.ReadShardStatsFS(o.fs, o.dir, name)
}

// check compares a done shard's files with its stats (CheckShard for a
// folder).
func (o *output) check(st *shards.ShardStats, hash bool) []error {
	if !o.remote() {
		return shards.CheckShard(o.dir, st, hash)
	}
	return shards.CheckShardFS(o.fs, o.dir, st, hash)
}

// quarantineWhere names the plan's quarantine.jsonl in messages.
func quarantineWhere(plan *Plan) string {
	if out, err := plan.output(); err == nil {
		return out.where("quarantine.jsonl")
	}
	return plan.Pipeline.OutputDir() + "/quarantine.jsonl"
}
