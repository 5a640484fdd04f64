package shards

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/medmd/medmd/shards/internal/sha256x2"
)

// Defaults for WriteOptions' zero values.
const (
	DefaultMaxBytes   = 1 << 30
	DefaultMaxSamples = 10000
	// DefaultBatchBytes is the voxel payload at which a record batch is
	// closed. Samples of one record batch have their voxels adjacent in
	// the file, which lets the loader serve a batch as one slice.
	DefaultBatchBytes = 16 << 20
	// DefaultBatchSamples caps the rows of one record batch.
	DefaultBatchSamples = 1024
	// DefaultRefBytes: a sample with at least this many voxel bytes gets
	// a record batch of its own, written straight from the caller's slice
	// (no user-space copy for a single-image sample). Smaller samples are
	// gathered so that many small 2D images share one batch and sit
	// adjacent in the file.
	DefaultRefBytes = 1 << 20
)

// overlapWindow is how many batches written from the caller's samples
// may still be hashing when Add returns (WriteOptions.Overlap). Three
// let one pair of images hash on each of two cores while the writer
// writes the next sample; more only hold more memory.
const overlapWindow = 3

// WriteOptions tune a ShardWriter. The zero value is ready to use.
type WriteOptions struct {
	// MaxBytes caps one part file (estimated Arrow bytes); when the next
	// sample would cross it the writer rolls to a continuation part.
	// A single sample larger than MaxBytes gets a part of its own.
	MaxBytes int64
	// MaxSamples caps the samples of one part file.
	MaxSamples int
	// FS is the filesystem written through; nil means OSFS. It must be
	// safe for concurrent use (see FS).
	FS FS
	// BatchBytes and BatchSamples close a record batch (see
	// DefaultBatchBytes); zero means the defaults.
	BatchBytes   int64
	BatchSamples int
	// RefBytes: see DefaultRefBytes; zero means the default.
	RefBytes int64
	// Parquet is what each part's Parquet file holds; "" means
	// ParquetMetadata (voxels stored once, in the Arrow part).
	Parquet ParquetLayout
	// ParquetCompression is the Parquet page codec; "" means zstd.
	ParquetCompression ParquetCompression
	// Overlap lets the SHA-256s of a sample's voxels still run after Add
	// returns, beside the writes of the next samples, so that a stream of
	// large samples is hashed on every core, two images at once per core
	// where the CPU allows (sha256x2). The caller promises that the voxel
	// bytes of a sample passed to Add stay unchanged and readable until
	// overlapWindow (3) more Adds have returned, or Finish, Close or Abort
	// has: true of samples nobody touches after Add, not of views into a
	// shard that is closed or a buffer that is reused in between. An Add
	// that refuses its sample ends the promise for every earlier one.
	Overlap bool
}

func (o WriteOptions) withDefaults() WriteOptions {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.BatchSamples <= 0 {
		o.BatchSamples = DefaultBatchSamples
	}
	if o.RefBytes <= 0 {
		o.RefBytes = DefaultRefBytes
	}
	o.FS = orOS(o.FS)
	if o.Parquet == "" {
		o.Parquet = ParquetMetadata
	}
	if o.ParquetCompression == "" {
		o.ParquetCompression = ParquetCompressions[0]
	}
	return o
}

// check rejects layout and compression names the format does not know.
func (o WriteOptions) check() error {
	if _, err := ParseParquetLayout(string(o.Parquet)); err != nil {
		return err
	}
	_, err := ParseParquetCompression(string(o.ParquetCompression))
	return err
}

// FileStats describes one published file.
type FileStats struct {
	// File is the file name, relative to the shard's directory.
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Digest says how SHA256 was computed: "" for the SHA-256 of the
	// file's bytes, DigestVoxelTree for an Arrow part written at schema
	// version 3 or later.
	Digest string `json:"digest,omitempty"`
}

// PartStats describes one part of a shard: its samples written as Arrow
// IPC and, unless the layout is ParquetNone, as Parquet.
type PartStats struct {
	Samples int       `json:"samples"`
	Arrow   FileStats `json:"arrow"`
	// Parquet is nil when the shard's layout is ParquetNone.
	Parquet *FileStats `json:"parquet,omitempty"`
}

// Files lists the part's files: the Arrow part, then the Parquet part
// when there is one.
func (p *PartStats) Files() []FileStats {
	if p.Parquet == nil {
		return []FileStats{p.Arrow}
	}
	return []FileStats{p.Arrow, *p.Parquet}
}

// ShardStats is the content of "NAME.stats.json". Its presence marks the
// shard as complete. Maps are written with sorted keys.
type ShardStats struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"`
	Samples       int    `json:"samples"`
	Bytes         int64  `json:"bytes"` // Arrow + Parquet bytes of all parts
	VoxelBytes    int64  `json:"voxel_bytes"`
	// Parquet is the layout of the shard's Parquet parts; version 1
	// stats lack it (read as ParquetFull).
	Parquet ParquetLayout  `json:"parquet,omitempty"`
	Images  int            `json:"images"`
	Parts   []PartStats    `json:"parts"`
	Sources map[string]int `json:"sources"`
	Tasks   map[string]int `json:"tasks"`
}

// StatsFile returns the stats file name of shard name.
func StatsFile(name string) string { return name + ".stats.json" }

func partBase(name string, index int) string {
	if index == 0 {
		return name
	}
	return name + "." + strconv.Itoa(index)
}

// ShardWriter writes one shard: one or more parts, each as an Arrow IPC
// file and, unless the layout is ParquetNone, a Parquet file. Nothing is
// visible under final names until Publish (or Close). A ShardWriter is
// not safe for concurrent use; it may be handed to another goroutine for
// Publish (Publisher does) once Finish has returned.
type ShardWriter struct {
	opts  WriteOptions
	fs    FS
	dir   string
	name  string
	bb    *batchBuilder
	cur   *partWriter
	done  []*partWriter
	stats ShardStats
	err   error // sticky
	state writerState
	kept  bool // the last flush left its batch hashing (Overlap)
}

// writerState is where a ShardWriter is in its life.
type writerState int

const (
	open     writerState = iota
	finished             // Finish returned: written, not yet published
	closed               // published: the stats file exists
	aborted
)

// CreateShard starts writing shard name (e.g. "shard-00003") into dir.
// It first withdraws any earlier stats file of that name, so a shard being
// rewritten is never seen as done, then removes every other file of that
// shard (temp files and orphan parts of an interrupted run).
func CreateShard(dir, name string, opts WriteOptions) (*ShardWriter, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("shards: bad shard name %q", name)
	}
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("shard %s: %w", name, err)
	}
	w := &ShardWriter{opts: opts, fs: opts.FS, dir: dir, name: name,
		stats: ShardStats{SchemaVersion: SchemaVersion, Name: name, Parquet: opts.Parquet, Sources: map[string]int{}, Tasks: map[string]int{}}}
	if err := w.fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("shard %s: %w", name, err)
	}
	// INVARIANT: the stats file goes first; without it the shard is not
	// done whatever part files remain.
	if err := w.fs.Remove(filepath.Join(dir, StatsFile(name))); err != nil {
		return nil, fmt.Errorf("shard %s: %w", name, err)
	}
	if err := w.removeStale(); err != nil {
		return nil, fmt.Errorf("shard %s: %w", name, err)
	}
	w.bb = newBatchBuilder(memory.DefaultAllocator)
	return w, nil
}

// removeStale deletes every file of this shard (temp or final name) left
// by an earlier writer. It runs after the stats file is gone, so none of
// them is part of a done shard: they are orphans of an interrupted
// publish, or the previous version of a shard being rewritten.
func (w *ShardWriter) removeStale() error { return removeOwned(w.fs, w.dir, w.name) }

// RemoveShard removes shard name from dir: its stats file first (synced,
// so the shard is no longer done even after a crash), then every other
// file of it, temp files included. A copier that rewrites a shard (a
// corpus staged from a bucket) starts with it, as CreateShard does.
func RemoveShard(fs FS, dir, name string) error {
	fs = orOS(fs)
	if err := fs.Remove(filepath.Join(dir, StatsFile(name))); err != nil {
		return err
	}
	if err := fs.SyncDir(dir); err != nil {
		return err
	}
	return removeOwned(fs, dir, name)
}

// removeOwned deletes every file of shard name in dir (ownedBy).
func removeOwned(fs FS, dir, name string) error {
	names, err := fs.List(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if ownedBy(n, name) {
			if err := fs.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ownedBy reports whether file n belongs to shard name: name.arrow,
// name.parquet, name.K.arrow, name.stats.json, or a temp file of one.
func ownedBy(n, name string) bool {
	n, _ = tempTarget(n)
	rest, ok := strings.CutPrefix(n, name+".")
	if !ok {
		return false
	}
	if i := strings.IndexByte(rest, '.'); i > 0 {
		if _, err := strconv.Atoi(rest[:i]); err == nil {
			rest = rest[i+1:]
		}
	}
	return rest == "arrow" || rest == "parquet" || rest == "stats.json"
}

// Add appends s to the shard. The writer does not retain s or its voxel
// slices after Add returns.
func (w *ShardWriter) Add(s *Sample) error {
	if w.err != nil {
		return w.err
	}
	if w.state != open {
		return fmt.Errorf("shard %s: Add after Finish/Close/Abort", w.name)
	}
	if err := validate(s); err != nil {
		// The shard goes on without s, but Overlap's promise for the
		// earlier samples still ends when this Add returns.
		if w.cur != nil {
			if serr := w.cur.settle(0); serr != nil {
				return w.fail(serr)
			}
		}
		return fmt.Errorf("shard %s: %w", w.name, err)
	}
	sz := sampleSize(s)
	if w.cur != nil && w.cur.samples > 0 &&
		(w.cur.samples+1 > w.opts.MaxSamples || w.cur.bytes+sz > w.opts.MaxBytes) {
		if err := w.finishPart(); err != nil {
			return w.fail(err)
		}
	}
	if w.cur == nil {
		if err := w.startPart(); err != nil {
			return w.fail(err)
		}
	}
	vox := sampleVoxelBytes(s)
	w.kept = false
	if err := addBatched(w.bb, s, vox, w.opts, w.flush); err != nil {
		return w.fail(err)
	}
	if !w.kept {
		// INVARIANT: when Add returns, nothing reads the voxels of an
		// earlier Add, unless this sample's batch was left hashing: then
		// at most overlapWindow batches are (Overlap's promise).
		if err := w.cur.settle(0); err != nil {
			return w.fail(err)
		}
	}
	w.cur.samples++
	w.cur.bytes += sz
	w.stats.Samples++
	w.stats.VoxelBytes += vox
	w.stats.Images += len(s.Images)
	w.stats.Sources[s.Source]++
	w.stats.Tasks[s.Task]++
	return nil
}

func (w *ShardWriter) fail(err error) error {
	w.err = fmt.Errorf("shard %s: %w", w.name, err)
	return w.err
}

// Close is Finish then Publish: on error nothing is marked done; call
// Abort to remove what was written.
func (w *ShardWriter) Close() (*ShardStats, error) {
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return w.Publish()
}

// Finish writes what is left of the shard (the last batch, every part's
// footer and Parquet file) under temp names, waiting for every SHA-256:
// once it returns nothing reads the samples given to Add. Publish makes
// the shard visible. The two are apart so that a caller may publish one
// shard in the background while it writes the next (WriteCorpus and
// medmd run do): publishing waits on the storage (fsync, or completing a
// bucket's multipart uploads) and needs no CPU of its own.
func (w *ShardWriter) Finish() error {
	if w.err != nil {
		return w.err
	}
	if w.state != open {
		return fmt.Errorf("shard %s: Finish after Finish/Close/Abort", w.name)
	}
	if w.cur == nil && len(w.done) == 0 {
		// An empty shard still gets one (empty) part so that every done
		// shard has files to checksum.
		if err := w.startPart(); err != nil {
			return w.fail(err)
		}
	}
	if w.cur != nil {
		if err := w.finishPart(); err != nil {
			return w.fail(err)
		}
	}
	w.state = finished
	w.bb.release()
	return nil
}

// Publish publishes every part (Pending.Commit: fsync → rename → fsync
// dir, or a completed upload) and then writes the stats file, which marks
// the shard done. It follows Finish, and may run on another goroutine
// than the writing did, while the caller writes another shard. On error
// nothing is marked done; call Abort to remove what was written.
func (w *ShardWriter) Publish() (*ShardStats, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.state != finished {
		return nil, fmt.Errorf("shard %s: Publish without Finish", w.name)
	}
	// INVARIANT: final names appear only after the temp file is complete
	// and fsynced (Commit); every rename's directory sync is done before
	// the stats file exists.
	for _, p := range w.done {
		for _, f := range p.sinks() {
			if err := f.pend.Commit(); err != nil {
				return nil, w.fail(fmt.Errorf("%s: %w", f.final, err))
			}
		}
	}
	for _, p := range w.done {
		w.stats.Parts = append(w.stats.Parts, p.stats)
		for _, f := range p.stats.Files() {
			w.stats.Bytes += f.Bytes
		}
	}
	js, err := json.MarshalIndent(&w.stats, "", "  ")
	if err != nil {
		return nil, w.fail(err)
	}
	// INVARIANT: the stats file is written last; it is the commit point.
	if err := PublishBytes(w.fs, filepath.Join(w.dir, StatsFile(w.name)), append(js, '\n')); err != nil {
		return nil, w.fail(err)
	}
	w.state = closed
	st := w.stats
	return &st, nil
}

// Abort abandons the shard: the stats file (if a failed Publish got
// that far), every part under its final or temp name. It is safe after a
// failed Add, Finish, Publish or Close, and after a Finish whose shard
// will not be published; a no-op after a successful Publish or Close.
func (w *ShardWriter) Abort() error {
	if w.state == closed || w.state == aborted {
		return nil
	}
	wasOpen := w.state == open
	w.state = aborted
	var errs []error
	if w.cur != nil {
		w.done = append(w.done, w.cur)
		w.cur = nil
	}
	// INVARIANT: stats first, so a crash inside Abort leaves at worst
	// orphan parts, never a done shard with missing parts.
	errs = append(errs, w.fs.Remove(filepath.Join(w.dir, StatsFile(w.name))))
	for _, p := range w.done {
		p.discard()
		p.loc.wait() // its error is the one that failed the shard, or moot
		for _, f := range p.sinks() {
			// Abort is a no-op for a committed file; its final name goes.
			errs = append(errs, f.pend.Abort(), w.fs.Remove(f.final))
		}
	}
	errs = append(errs, w.removeStale())
	if wasOpen { // Finish released the builder
		w.bb.release()
	}
	return errors.Join(errs...)
}

func (w *ShardWriter) flush() error {
	if w.bb.n == 0 {
		return nil
	}
	// Only a batch written from the caller's one slice may be left
	// hashing (Overlap): a gathered batch lives in the builder's buffer,
	// which the next batch reuses.
	keep := 0
	if w.opts.Overlap && w.bb.singleRef() {
		keep = overlapWindow
	}
	rec := w.bb.build()
	defer rec.Release()
	p := w.cur
	err := p.write(rec, w.opts.Parquet, keep)
	p.rows += rec.NumRows()
	w.kept = keep > 0
	return err
}

// write writes one record batch to the part's files.
//
// It spreads the work over cores: the images' SHA-256s run on their own
// goroutines (startVoxelHashes) while the caller's goroutine writes the
// Arrow part, whose digest takes those SHA-256s in place of the voxel
// bytes (treeDigest: one pass over every voxel byte). For ParquetFull one
// more goroutine runs the Parquet encoder and its compression (pqarrow
// compresses a file's pages sequentially, so one file gets at most one
// extra core). Nothing is copied for this: every goroutine reads the
// record's buffers, retained until its hashes are done.
//
// The batch then waits in p.pending until its hashes are done, when its
// location rows go to the Parquet part (ParquetMetadata). write returns
// with at most keep batches pending, this one included.
func (p *partWriter) write(rec arrow.RecordBatch, layout ParquetLayout, keep int) error {
	if err := p.loc.failed(); err != nil {
		return err
	}
	vh := newVoxelHashes(rec)
	p.startHashes(vh, keep)
	var data []byte
	if vh.vox.Len() > 0 {
		data = vh.vox.ValueBytes()
	}
	p.arrow.hw.watch(data, vh)
	var err error
	if layout == ParquetFull {
		perr := make(chan error, 1)
		go func() { perr <- p.pq.Write(rec) }()
		err = p.writeArrow(rec)
		if e := <-perr; e != nil && err == nil {
			err = fmt.Errorf("%s: %w", p.parquet.final, e)
		}
	} else {
		err = p.writeArrow(rec)
	}
	rec.Retain()
	b := &pendingBatch{vh: vh, rec: rec, firstRow: p.rows}
	p.pending = append(p.pending, b)
	if err == nil {
		if b.off, err = p.arrow.hw.watched(data); err != nil {
			err = fmt.Errorf("%s: %w", p.arrow.final, err)
		}
	}
	if err != nil {
		p.discard()
		return err
	}
	return p.settle(keep)
}

// startHashes starts vh's hashes, or pairs its one image with the
// previous batch's (sha256x2.Sum2) where batches may stay pending: a lone
// image waits for the next batch's, and the two are hashed together at
// half again the speed of one after the other, on one core, leaving the
// other cores to the writes. A lone image that finds no partner starts on
// its own when it is waited for.
func (p *partWriter) startHashes(vh *voxelHashes, keep int) {
	if keep < 2 || !sha256x2.Interleaved() || !vh.lone() {
		vh.start()
		return
	}
	if n := len(p.pending); n > 0 && p.pending[n-1].vh.lone() {
		startPair(p.pending[n-1].vh, vh)
	}
}

// pendingBatch is a written record batch whose images may still be
// being hashed.
type pendingBatch struct {
	vh       *voxelHashes
	rec      arrow.RecordBatch // retained until settled
	firstRow int64             // its first row in the Arrow part
	off      int64             // where its voxel buffer starts in the file
}

// settle waits for pending batches, oldest first, until at most keep are
// left: each one's SHA-256s join the part's digest and (ParquetMetadata)
// its location rows go to the part's location writer, which encodes them
// into the Parquet file beside the next batch. They share only the
// builder-owned columns of the record, never voxel memory.
func (p *partWriter) settle(keep int) error {
	var first error
	for len(p.pending) > keep {
		b := p.pending[0]
		p.pending = p.pending[1:]
		b.vh.wait()
		p.digest.settle(false)
		if p.loc != nil && first == nil {
			first = p.loc.put(locationRecord(b.rec, filepath.Base(p.arrow.final), b.firstRow, b.off, b.vh.hex()))
		}
		b.rec.Release()
	}
	return first
}

// discard waits for every pending batch's hashes (they read its memory)
// and drops them: the part is failed or abandoned.
func (p *partWriter) discard() {
	for _, b := range p.pending {
		b.vh.wait()
		b.rec.Release()
	}
	p.pending = nil
}

func (p *partWriter) writeArrow(rec arrow.RecordBatch) error {
	if err := p.ipc.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", p.arrow.final, err)
	}
	return nil
}

// parquetProps are the Parquet writer settings of every shard.
//
// Why pqarrow (arrow-go) rather than parquet-go: arrow-go is already
// linked for the IPC format, so pqarrow adds the least code to the binary
// and to build time (numbers in doc.go, "Why pqarrow"), writes
// directly from the record batches we already built (no second row
// representation), and stores the Arrow schema so pyarrow/Polars restore
// large_binary and fixed_size_list exactly. Statistics are off: min/max of
// multi-megabyte voxel blobs bloat the footer, and readers have rejected
// files with truncated blob statistics. Dictionary encoding is off: zstd
// already removes the repetition of source/task strings, and dictionary
// pages of unique blobs are pure cost.
func parquetProps(c ParquetCompression) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	codec, level := c.codec()
	return parquet.NewWriterProperties(
			parquet.WithCompression(codec),
			parquet.WithCompressionLevel(level),
			parquet.WithStats(false),
			parquet.WithDictionaryDefault(false),
			parquet.WithCreatedBy("medmd shards schema v"+strconv.Itoa(SchemaVersion)+" (arrow-go pqarrow)"),
			parquet.WithMaxRowGroupLength(1<<20),
		),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
}

// sink is one file of a part being written: the pending publish, a
// buffer in front of it and the hash of what went through.
type sink struct {
	final string
	pend  *Pending
	buf   *bufio.Writer
	hw    *hashWriter
}

// startSink creates path's pending publish; h hashes what is written.
func startSink(fs FS, path string, h hash.Hash) (*sink, error) {
	pend, err := StartPublish(fs, path)
	if err != nil {
		return nil, err
	}
	hw := bufferedHashWriter(pend, pend, h)
	hw.tree, _ = h.(*treeDigest)
	return &sink{final: path, pend: pend, buf: hw.buf, hw: hw}, nil
}

// bufferedHashWriter returns a hashWriter that writes to w through a
// buffer, and writes of writeBufSize bytes or more to big (w itself, or a
// writer of the same file that writes large buffers faster). The IPC
// writer issues one Write per buffer and per padding; the buffer turns
// the small ones into few syscalls, while large voxel buffers go straight
// to the file: the buffer is flushed first, so no voxel byte is copied
// into it. The caller flushes hw.buf at the end.
func bufferedHashWriter(w, big io.Writer, h hash.Hash) *hashWriter {
	buf := bufio.NewWriterSize(w, writeBufSize)
	return &hashWriter{w: buf, h: h, big: big, buf: buf}
}

// finish flushes the buffer and returns the file's size and hash; the
// file is synced and renamed by Commit.
func (f *sink) finish() (FileStats, error) {
	if f.hw.err != nil {
		return FileStats{}, fmt.Errorf("%s: %w", f.final, f.hw.err)
	}
	if err := f.buf.Flush(); err != nil {
		return FileStats{}, fmt.Errorf("%s: %w", f.final, err)
	}
	st := FileStats{File: filepath.Base(f.final), Bytes: f.hw.n, SHA256: hex.EncodeToString(f.hw.h.Sum(nil))}
	if f.hw.tree != nil {
		st.Digest = DigestVoxelTree
	}
	return st, nil
}

type partWriter struct {
	index          int
	arrow, parquet *sink       // parquet is nil for ParquetNone
	digest         *treeDigest // the Arrow file's digest
	pending        []*pendingBatch
	loc            *locWriter // ParquetMetadata: writes location rows to pq
	ipc            *ipc.FileWriter
	pq             *pqarrow.FileWriter
	rows           int64 // rows already in the Arrow file
	samples        int
	bytes          int64
	stats          PartStats
}

func (p *partWriter) sinks() []*sink {
	var out []*sink
	for _, f := range []*sink{p.arrow, p.parquet} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (w *ShardWriter) startPart() error {
	idx := len(w.done)
	base := filepath.Join(w.dir, partBase(w.name, idx))
	p := &partWriter{index: idx}
	w.cur = p
	var err error
	p.digest = newTreeDigest()
	if p.arrow, err = startSink(w.fs, base+".arrow", p.digest); err != nil {
		return err
	}
	p.ipc, err = ipc.NewFileWriter(p.arrow.hw, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return err
	}
	if w.opts.Parquet == ParquetNone {
		return nil
	}
	// pqarrow may reuse its page buffers once Write returns, so the
	// Parquet file is hashed inline.
	if p.parquet, err = startSink(w.fs, base+".parquet", sha256.New()); err != nil {
		return err
	}
	props, aprops := parquetProps(w.opts.ParquetCompression)
	p.pq, err = pqarrow.NewFileWriter(ParquetSchema(w.opts.Parquet), p.parquet.hw, props, aprops)
	if err != nil {
		return err
	}
	if w.opts.Parquet == ParquetMetadata {
		p.loc = newLocWriter(p.pq, p.parquet.final)
	}
	return nil
}

// finishPart flushes the pending batch, writes the footers and flushes
// the buffers. Syncing and renaming happen in Close (Pending.Commit).
func (w *ShardWriter) finishPart() error {
	p := w.cur
	if err := w.flush(); err != nil {
		return err
	}
	if err := p.settle(0); err != nil {
		return err
	}
	if err := p.ipc.Close(); err != nil {
		return fmt.Errorf("%s: %w", p.arrow.final, err)
	}
	if err := p.loc.wait(); err != nil {
		return err
	}
	if p.pq != nil {
		if err := p.pq.Close(); err != nil {
			return fmt.Errorf("%s: %w", p.parquet.final, err)
		}
	}
	a, err := p.arrow.finish()
	if err != nil {
		return err
	}
	p.stats = PartStats{Samples: p.samples, Arrow: a}
	if p.parquet != nil {
		pq, err := p.parquet.finish()
		if err != nil {
			return err
		}
		p.stats.Parquet = &pq
	}
	w.done = append(w.done, p)
	w.cur = nil
	return nil
}

const writeBufSize = 256 << 10

// hashWriter hashes and counts what it forwards; its error is sticky.
// It can also note the file offset at which one given buffer is written
// (watch), which is how the writer learns where voxels land in the Arrow
// file without parsing what arrow-go wrote; for an Arrow part (tree set)
// that buffer enters the digest as its images' SHA-256s.
type hashWriter struct {
	w    io.Writer
	h    hash.Hash
	tree *treeDigest // h, when it is an Arrow part's digest
	n    int64
	err  error

	// big, when set, receives writes of at least writeBufSize bytes
	// directly, after buf (which w writes through) is flushed.
	big io.Writer
	buf *bufio.Writer

	watchPtr *byte
	watchLen int
	watchVox *voxelHashes
	watchAt  int64
}

// watch arms the writer to record the offset of the next Write of
// exactly b (arrow-go writes each body buffer of a record batch with one
// Write of the buffer itself); v holds b's images' SHA-256s.
func (hw *hashWriter) watch(b []byte, v *voxelHashes) {
	hw.watchPtr, hw.watchLen, hw.watchVox, hw.watchAt = nil, len(b), v, -1
	if len(b) > 0 {
		hw.watchPtr = &b[0]
	}
}

// watched returns the offset recorded for b (0 for an empty b).
func (hw *hashWriter) watched(b []byte) (int64, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if hw.watchAt < 0 {
		return 0, errors.New("voxel buffer was not written as one piece; cannot record its offset")
	}
	return hw.watchAt, nil
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	if hw.err != nil {
		return 0, hw.err
	}
	voxels := false
	if hw.watchPtr != nil && len(p) == hw.watchLen && &p[0] == hw.watchPtr {
		hw.watchAt, hw.watchPtr = hw.n, nil
		voxels = hw.tree != nil
	}
	// A short or failed write makes hw.err sticky and the file is never
	// published, so the hash of bytes that did not reach the file is
	// never used.
	if voxels {
		hw.tree.voxels(hw.watchVox)
	} else {
		hw.h.Write(p)
	}
	var n int
	var err error
	if hw.big != nil && len(p) >= writeBufSize {
		if err = hw.buf.Flush(); err == nil {
			n, err = hw.big.Write(p)
		}
	} else {
		n, err = hw.w.Write(p)
	}
	hw.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	hw.err = err
	return n, err
}

// ErrBadStats marks a stats file that is there but cannot be taken as the
// shard's record (not JSON, another shard's, names that are not plain file
// names, an unknown Parquet layout): the shard is to be rebuilt. A stats
// file of a schema version this medmd does not read is not ErrBadStats: a
// newer medmd wrote it, and rebuilding would downgrade its shard.
var ErrBadStats = errors.New("unreadable shard stats")

// ReadShardStats reads dir/NAME.stats.json. done is false (with a nil
// error) when the shard has no stats file, i.e. it is not complete.
func ReadShardStats(dir, name string) (*ShardStats, bool, error) {
	return readShardStats(OSFS, dir, name)
}

func readShardStats(fs FS, dir, name string) (*ShardStats, bool, error) {
	path := filepath.Join(dir, StatsFile(name))
	b, err := readAll(fs, path)
	if err != nil {
		if errors.Is(err, errNotExist) || isNotExist(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	// The version first, alone: a newer medmd's stats may not decode as
	// these, and must not be taken for damaged ones.
	var version struct {
		SchemaVersion int `json:"schema_version"`
	}
	if json.Unmarshal(b, &version) == nil && version.SchemaVersion > SchemaVersion {
		return nil, false, fmt.Errorf("%s: schema version %d, this medmd reads %d to %d: a newer medmd wrote it", path, version.SchemaVersion, oldestSchemaVersion, SchemaVersion)
	}
	var st ShardStats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, fmt.Errorf("%s: %w: %w", path, ErrBadStats, err)
	}
	if st.Name != name {
		return nil, false, fmt.Errorf("%s: %w: stats name %q", path, ErrBadStats, st.Name)
	}
	if err := st.checkNames(); err != nil {
		return nil, false, fmt.Errorf("%s: %w: %w", path, ErrBadStats, err)
	}
	if !readableVersion(st.SchemaVersion) {
		return nil, false, fmt.Errorf("%s: %w: schema version %d, this medmd reads %d to %d", path, ErrBadStats, st.SchemaVersion, oldestSchemaVersion, SchemaVersion)
	}
	if st.Parquet == "" && st.SchemaVersion == 1 {
		st.Parquet = ParquetFull
	}
	if _, err := ParseParquetLayout(string(st.Parquet)); err != nil || st.Parquet == "" {
		return nil, false, fmt.Errorf("%s: %w: parquet layout %q", path, ErrBadStats, st.Parquet)
	}
	return &st, true, nil
}

// addBatched applies the record batching rules: close the pending batch
// when s would overflow it; a sample of at least RefBytes of voxels is
// written alone, by reference, and flushed before returning (so nothing
// of s is retained); smaller ones are copied into the gather buffer.
func addBatched(bb *batchBuilder, s *Sample, vox int64, o WriteOptions, flush func() error) error {
	big := vox >= o.RefBytes
	if bb.n > 0 && (big || bb.voxBytes+vox > o.BatchBytes || bb.n+1 > o.BatchSamples) {
		if err := flush(); err != nil {
			return err
		}
	}
	if big {
		bb.add(s, true)
		return flush()
	}
	bb.add(s, false)
	return nil
}

// WriteIPC writes samples as one Arrow IPC file to w with the same record
// batching as a shard part, without Parquet, hashing or publishing. It is
// the training-format write path on its own: `medmd perf shards` times it
// against plain file writes, and tools can stream a shard to a pipe.
func WriteIPC(w io.Writer, samples iter.Seq[*Sample], opts WriteOptions) (int64, error) {
	opts = opts.withDefaults()
	bb := newBatchBuilder(memory.DefaultAllocator)
	defer bb.release()
	cw := bufferedHashWriter(w, newBigWriter(w), nopHash{})
	iw, err := ipc.NewFileWriter(cw, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return 0, err
	}
	flush := func() error {
		if bb.n == 0 {
			return nil
		}
		rec := bb.build()
		defer rec.Release()
		return iw.Write(rec)
	}
	for s := range samples {
		if err := validate(s); err != nil {
			return cw.n, err
		}
		if err := addBatched(bb, s, sampleVoxelBytes(s), opts, flush); err != nil {
			return cw.n, err
		}
	}
	if err := flush(); err != nil {
		return cw.n, err
	}
	if err := iw.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, cw.buf.Flush()
}

// nopHash lets WriteIPC reuse hashWriter's counting without hashing.
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

// locWriter writes a part's location record batches to its Parquet
// writer on its own goroutine, in order, so that encoding and compressing
// them overlaps the next batch's Arrow write and hashes instead of
// following them. The records it is given own their memory (no voxel
// bytes, no caller slices). Its first error is sticky: failed reports it
// to the next write and wait returns it. The methods of a nil *locWriter
// do nothing, for the layouts that have none.
//
// Location rows are small, so a part's rows share row groups
// (WriteBuffered, up to the writer's row group length) instead of one
// row group per record batch: every row group costs a footer entry per
// column, and serialising those was a visible share of writing a shard.
// For the same reason the goroutine gathers records and hands them on
// locWriteRows rows at a time, and the rest when the part ends.
type locWriter struct {
	q    chan arrow.RecordBatch
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newLocWriter(pq *pqarrow.FileWriter, file string) *locWriter {
	q := make(chan arrow.RecordBatch, 4)
	l := &locWriter{q: q, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		var held []arrow.RecordBatch
		var rows int64
		write := func() {
			if l.failed() == nil {
				if err := writeLocations(pq, held); err != nil {
					l.mu.Lock()
					l.err = fmt.Errorf("%s: %w", file, err)
					l.mu.Unlock()
				}
			}
			for _, r := range held {
				r.Release()
			}
			held, rows = held[:0], 0
		}
		for rec := range q {
			held = append(held, rec)
			if rows += rec.NumRows(); rows >= locWriteRows {
				write()
			}
		}
		write()
	}()
	return l
}

// locWriteRows is how many location rows a locWriter gathers before it
// hands them to pqarrow as one record: each call costs about 0.3 ms of
// setup per call whatever its size (the columns' nesting levels, page
// buffers), which for a part of one large volume per record batch was
// ten milliseconds of CPU per 32 volumes.
const locWriteRows = 4096

// writeLocations writes recs to pq as one record batch.
func writeLocations(pq *pqarrow.FileWriter, recs []arrow.RecordBatch) error {
	switch len(recs) {
	case 0:
		return nil
	case 1:
		return pq.WriteBuffered(recs[0])
	}
	cols := make([]arrow.Array, recs[0].NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	parts := make([]arrow.Array, len(recs))
	for i := range cols {
		for k, r := range recs {
			parts[k] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return err
		}
		cols[i] = c
	}
	rec := array.NewRecordBatch(recs[0].Schema(), cols, rows)
	defer rec.Release()
	return pq.WriteBuffered(rec)
}

// put hands rec (and its reference) to the writer.
func (l *locWriter) put(rec arrow.RecordBatch) error {
	if err := l.failed(); err != nil {
		rec.Release()
		return err
	}
	l.q <- rec
	return nil
}

func (l *locWriter) failed() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// wait returns once every record put is written (or dropped after an
// error); the goroutine ends. Later calls only return the error.
func (l *locWriter) wait() error {
	if l == nil {
		return nil
	}
	if l.q != nil {
		close(l.q)
		l.q = nil
		<-l.done
	}
	return l.failed()
}
