package shards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Tokenizer turns text into token ids. When LoaderConfig.Tokenizer is
// set, batches carry token ids beside the strings.
type Tokenizer interface {
	Encode(string) []int
}

// LoaderConfig configures a Loader. Zero values mean the defaults noted.
type LoaderConfig struct {
	// Seed and the epoch number alone decide the global order.
	Seed uint64
	// Shuffle enables the three-level shuffle (parts, blocks, window);
	// false serves corpus order.
	Shuffle bool
	// BlockSize is the run of consecutive rows of a part kept together
	// by the block shuffle (default 64).
	BlockSize int
	// Window is the sample-level shuffle window after the block shuffle
	// (default 256). Window 1 keeps rows of a block adjacent, so batches
	// of adjacent same-shape images are served as views (no copy) at the
	// cost of fixed batch companions; a larger window mixes batches
	// better but makes most batches a gather (one copy).
	Window int
	// BatchSize2D and BatchSize3D are samples per batch (defaults 4 and
	// 1, RadFM's); text-only samples use BatchSize2D.
	BatchSize2D, BatchSize3D int
	// Rank and World shard the global batch sequence: rank r gets
	// batches r, r+World, r+2·World… (World 0 means 1).
	Rank, World int
	// PadTail serves a short last round by repeating batches from the
	// start of the epoch so every rank gets the same count; otherwise the
	// tail that does not fill a round is dropped.
	PadTail bool
	// Epochs stops Next with io.EOF after that many epochs; 0 = forever.
	Epochs int
	// Prefetch is the number of batches prepared ahead (default 2);
	// Workers the goroutines preparing them (default 2, 1 with fewer
	// than 4 CPUs). Neither changes the order.
	Prefetch, Workers int
	// SourceWeights resamples sources: weight w serves each sample of that
	// source ⌊w⌋ times plus once more with probability w−⌊w⌋ (drawn from
	// the seed and epoch). Missing sources have weight 1.
	SourceWeights map[string]float64
	// Tokenizer, if set, fills Batch.InstructionTokens/ResponseTokens.
	Tokenizer Tokenizer
	// Prepare, if set, runs on the preparing goroutines for every
	// assembled batch, off the consumer's critical path (a trainer
	// tokenises and builds its token tensors here); its result is
	// Batch.Prepared. It may run concurrently for different batches, must
	// not keep the batch or its strings (they are views of the mapping),
	// and its error ends the stream like a read error.
	Prepare func(*Batch) (any, error)
	// NoVerify skips the lazy checksum guard.
	NoVerify bool
}

func (c LoaderConfig) withDefaults() LoaderConfig {
	if c.BlockSize <= 0 {
		c.BlockSize = 64
	}
	if c.Window <= 0 {
		c.Window = 256
	}
	if c.BatchSize2D <= 0 {
		c.BatchSize2D = 4
	}
	if c.BatchSize3D <= 0 {
		c.BatchSize3D = 1
	}
	if c.World <= 0 {
		c.World = 1
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 2
	}
	if c.Workers <= 0 {
		// One preparing goroutine per two cores: the consumer (the
		// trainer) needs the rest, and on two cores a second worker only
		// competes with it.
		c.Workers = max(1, min(2, runtime.GOMAXPROCS(0)/2))
	}
	return c
}

// LoaderState is everything needed to continue a stream exactly: the
// next batch served is batch Position of this rank in epoch Epoch.
type LoaderState struct {
	Epoch        int    `json:"epoch"`
	Position     int    `json:"position"`
	Seed         uint64 `json:"seed"`
	Rank         int    `json:"rank"`
	World        int    `json:"world"`
	ManifestHash string `json:"manifest_hash"`
}

// Batch kinds.
const (
	Kind2D   = "2d"
	Kind3D   = "3d"
	KindText = "text"
	// KindMixed is a sample whose images differ in shape: served alone,
	// with Views only (no Voxels tensor).
	KindMixed = "mixed"
)

// Batch is a set of samples of one kind and one image shape.
//
// Voxels from disk to the device: the kernel pages the shard file into
// the page cache (disk → memory, DMA), and the mapping shares those
// pages, so Views cost no copy. Voxels is either one of those views too
// (Contiguous: every sample has N images, adjacent in the file) or the
// one user-space copy, a gather into a reused 64-byte-aligned buffer.
// Handing Voxels to the device is the next and last copy. So: 0 copies
// for Views and contiguous batches, 1 for gathered ones, +1 host→device.
//
// Everything in a Batch is valid until Release: Voxels, Views, Mask and
// the strings (IDs, Sources, Tasks, Instructions, Responses), which are
// views of the mapping too — no per-sample copy or allocation. They stay
// readable until the Loader is closed and fault after that; keep a copy
// (strings.Clone, copy) of anything needed longer. Token ids are ordinary
// heap values.
type Batch struct {
	// Epoch and Index locate the batch: Index is its position in the
	// global (all-rank) batch sequence of the epoch.
	Epoch, Index int
	Kind         string
	IDs          []string
	Sources      []string
	Tasks        []string
	Instructions []string
	Responses    []string
	Placements   [][]Placement
	// InstructionTokens and ResponseTokens are set when a Tokenizer is.
	InstructionTokens, ResponseTokens [][]int
	// Prepared is LoaderConfig.Prepare's result for this batch.
	Prepared any

	// DType and Shape describe Voxels: Shape is [B, N, C, D, H, W] with N
	// the most images any sample of the batch has (0 for text batches).
	DType DType
	Shape [6]int
	// Voxels holds B·N images of C·D·H·W elements, C-contiguous,
	// little-endian; slots of missing images (Mask false) are zero.
	Voxels []byte
	// Mask[b*N+k] says whether sample b has image k.
	Mask []bool
	// Views[b][k] is image k of sample b, a view of the mapped shard.
	Views [][][]byte
	// Contiguous reports that Voxels is a view of the mapping (no copy).
	Contiguous bool

	// Recycled with the Batch (see Release).
	loader    *Loader
	gbuf      gatherBuf
	strs      []string
	viewsBack [][]byte
	plcBack   []Placement
	locs      []batchLoc
}

// Release hands the batch back to its loader: the Batch, its slices and
// its gather buffer are reused for a later batch, so the batch must not
// be used afterwards. Token ids taken from it stay valid; strings stay
// readable until the Loader is closed. Calling Release twice is harmless.
func (b *Batch) Release() {
	l := b.loader
	if l == nil {
		return
	}
	b.loader = nil
	b.Voxels = nil
	l.freeMu.Lock()
	if len(l.free) < cap(l.free) {
		l.free = append(l.free, b)
	} // else: more than ever in flight; let the GC have it
	l.freeMu.Unlock()
}

// sampleRef locates one sample and its bucket.
type sampleRef struct {
	part   int32
	row    int32 // row of the part
	bucket int32
	rb     int32 // record batch of the part holding the row
	brow   int32 // row within that record batch
}

type bucketKey struct {
	kind    string
	dtype   DType
	c, d, h int
	w       int
}

type loaderPart struct {
	path  string
	want  FileStats
	shard *Shard
	once  sync.Once
	err   error
}

// Loader serves batches from one or more manifests. Next is for one
// goroutine; preparation runs on Workers background goroutines.
type Loader struct {
	cfg     LoaderConfig
	parts   []*loaderPart
	refs    []sampleRef // corpus order
	sources []string    // per ref
	buckets []bucketKey
	hash    string

	mu    sync.Mutex
	state LoaderState

	planMu sync.Mutex
	plans  map[int]*epochPlan

	// free recycles released Batches with their slices and gather
	// buffers (a sync.Pool would drop them at every GC). It is a stack:
	// the buffer released last, the likeliest still in cache, is reused
	// first, and batches beyond those in flight stay idle. Its capacity
	// bounds what is kept.
	freeMu  sync.Mutex
	free    []*Batch
	pipe    *pipeline
	err     error // sticky: a failed batch ends the stream
	closed  bool
	closeMu sync.Mutex
}

// NewLoader opens every Arrow part of the manifests (memory-mapped; only
// metadata is read) and prepares epoch 0, or the position in resume when
// it is non-nil. It refuses a resume state of another manifest, seed or
// rank layout.
func NewLoader(ms []*Manifest, cfg LoaderConfig, resume *LoaderState) (*Loader, error) {
	cfg = cfg.withDefaults()
	if cfg.Rank < 0 || cfg.Rank >= cfg.World {
		return nil, fmt.Errorf("loader: rank %d outside world %d", cfg.Rank, cfg.World)
	}
	if len(ms) == 0 {
		return nil, errors.New("loader: no manifest")
	}
	l := &Loader{cfg: cfg, plans: map[int]*epochPlan{}}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.Hash()))
		for _, s := range m.Shards {
			for _, p := range s.Parts {
				l.parts = append(l.parts, &loaderPart{path: m.Path(p.Arrow.File), want: p.Arrow})
			}
		}
	}
	l.hash = hex.EncodeToString(h.Sum(nil))
	l.state = LoaderState{Seed: cfg.Seed, Rank: cfg.Rank, World: cfg.World, ManifestHash: l.hash}
	if resume != nil {
		switch {
		case resume.ManifestHash != l.hash:
			return nil, fmt.Errorf("loader: resume state is for manifest %.12s…, these manifests hash to %.12s…", resume.ManifestHash, l.hash)
		case resume.Seed != cfg.Seed:
			return nil, fmt.Errorf("loader: resume state has seed %d, config %d", resume.Seed, cfg.Seed)
		case resume.World != cfg.World || resume.Rank != cfg.Rank:
			return nil, fmt.Errorf("loader: resume state is rank %d/%d, config %d/%d", resume.Rank, resume.World, cfg.Rank, cfg.World)
		case resume.Epoch < 0 || resume.Position < 0:
			return nil, fmt.Errorf("loader: bad resume position %d/%d", resume.Epoch, resume.Position)
		}
		l.state.Epoch, l.state.Position = resume.Epoch, resume.Position
	}
	if err := l.scan(); err != nil {
		l.Close()
		return nil, err
	}
	G := max(1, cfg.Prefetch/(2*cfg.Workers))
	l.free = make([]*Batch, 0, cfg.Prefetch+2*G*cfg.Workers+4)
	return l, nil
}

// scan opens every part and records each sample's bucket.
func (l *Loader) scan() error {
	index := map[bucketKey]int32{}
	for pi, p := range l.parts {
		sh, err := OpenShard(p.path)
		if err != nil {
			return fmt.Errorf("loader: %w", err)
		}
		p.shard = sh
		rb := 0
		for r := 0; r < sh.Len(); r++ {
			key, err := sampleKey(sh, r)
			if err != nil {
				return fmt.Errorf("loader: %w", err)
			}
			b, ok := index[key]
			if !ok {
				b = int32(len(l.buckets))
				index[key] = b
				l.buckets = append(l.buckets, key)
			}
			for sh.starts[rb+1] <= r { // rows are visited in order
				rb++
			}
			row := r - sh.starts[rb]
			l.refs = append(l.refs, sampleRef{part: int32(pi), row: int32(r), bucket: b, rb: int32(rb), brow: int32(row)})
			if l.cfg.SourceWeights != nil {
				l.sources = append(l.sources, sh.batches[rb].str[colSource].Value(row))
			}
		}
	}
	return nil
}

// sampleKey is the bucket of sample r: text-only, or the shape all its
// images share. A sample whose images differ in shape gets a key of its
// shape class KindMixed and is served alone with views only.
func sampleKey(sh *Shard, r int) (bucketKey, error) {
	n, err := sh.NumImages(r)
	if err != nil || n == 0 {
		return bucketKey{kind: KindText}, err
	}
	v0, err := sh.Image(r, 0)
	if err != nil {
		return bucketKey{}, err
	}
	k := bucketKey{kind: Kind2D, dtype: v0.DType, c: v0.Channels, d: v0.Depth, h: v0.Height, w: v0.Width}
	if v0.Depth > 1 {
		k.kind = Kind3D
	}
	for i := 1; i < n; i++ {
		v, err := sh.Image(r, i)
		if err != nil {
			return bucketKey{}, err
		}
		if v.DType != v0.DType || v.Channels != v0.Channels || v.Depth != v0.Depth || v.Height != v0.Height || v.Width != v0.Width {
			return bucketKey{kind: KindMixed}, nil
		}
	}
	return k, nil
}

// BucketShape is the shape of one bucket's batches: its kind and, for
// image buckets, the stored dtype and the C×D×H×W every image has.
type BucketShape struct {
	Kind                           string
	DType                          DType
	Channels, Depth, Height, Width int
	// Samples is the number of samples of the corpus in the bucket.
	Samples int
}

// Buckets lists the distinct batch shapes of the corpus (from the
// metadata scan NewLoader did; nothing is read), in first-seen order. A
// trainer compiles one graph per image shape, so this is its count.
func (l *Loader) Buckets() []BucketShape {
	out := make([]BucketShape, len(l.buckets))
	for i, k := range l.buckets {
		out[i] = BucketShape{Kind: k.kind, DType: k.dtype, Channels: k.c, Depth: k.d, Height: k.h, Width: k.w}
	}
	for _, r := range l.refs {
		out[r.bucket].Samples++
	}
	return out
}

// State returns the position of the next batch Next will serve.
func (l *Loader) State() LoaderState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Len returns this rank's batches per epoch (of the current epoch: with
// SourceWeights the count can differ between epochs).
func (l *Loader) Len() int {
	l.mu.Lock()
	e := l.state.Epoch
	l.mu.Unlock()
	return l.planOf(e).rankLen
}

// GlobalOrder returns the sample ids of epoch's global batch sequence
// (all ranks, before rank sharding). Tests and audits use it.
func (l *Loader) GlobalOrder(epoch int) [][]string {
	plan := l.planOf(epoch).batches
	out := make([][]string, len(plan))
	for i, b := range plan {
		for _, r := range b {
			id, _ := l.parts[r.part].shard.ID(int(r.row))
			out[i] = append(out[i], id)
		}
	}
	return out
}

// epochPlan is one epoch's global batch sequence and this rank's share.
type epochPlan struct {
	batches [][]sampleRef
	rankLen int
}

// planOf returns epoch's plan, built once and cached (a few epochs are
// kept: workers may straddle an epoch boundary).
func (l *Loader) planOf(epoch int) *epochPlan {
	l.planMu.Lock()
	defer l.planMu.Unlock()
	if p, ok := l.plans[epoch]; ok {
		return p
	}
	p := &epochPlan{batches: l.buildPlan(epoch)}
	n := len(p.batches) / l.cfg.World
	if l.cfg.PadTail && len(p.batches)%l.cfg.World != 0 {
		n++
	}
	p.rankLen = n
	for e := range l.plans {
		if e < epoch-2 || e > epoch+2 {
			delete(l.plans, e)
		}
	}
	l.plans[epoch] = p
	return p
}

// buildPlan computes epoch's global batch sequence. It depends only on
// the manifests, the seed and epoch, and the batch/shuffle settings —
// never on rank, world or workers.
//
// Shuffle levels: (1) the order of parts, (2) blocks of BlockSize rows
// within each part, (3) samples within a sliding window of Window. Levels
// 1–2 keep reads sequential within a block (good for page-cache readahead
// on a cold cache); level 3 decorrelates neighbours. Batches are then
// formed per bucket in stream order, so a batch holds the next samples of
// one shape; partial batches left at the end are served last, in bucket
// order.
func (l *Loader) buildPlan(epoch int) [][]sampleRef {
	rng := rand.New(rand.NewPCG(l.cfg.Seed, uint64(epoch)*0x9E3779B97F4A7C15+1))
	// Parts in corpus order, each as its run of refs.
	starts := make([]int, len(l.parts)+1)
	for i, p := range l.parts {
		starts[i+1] = starts[i] + p.shard.Len()
	}
	order := make([]int, len(l.parts))
	for i := range order {
		order[i] = i
	}
	if l.cfg.Shuffle {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	stream := make([]sampleRef, 0, len(l.refs))
	for _, pi := range order {
		rows := l.refs[starts[pi]:starts[pi+1]]
		nb := (len(rows) + l.cfg.BlockSize - 1) / l.cfg.BlockSize
		blocks := make([]int, nb)
		for i := range blocks {
			blocks[i] = i
		}
		if l.cfg.Shuffle {
			rng.Shuffle(nb, func(i, j int) { blocks[i], blocks[j] = blocks[j], blocks[i] })
		}
		for _, b := range blocks {
			end := min((b+1)*l.cfg.BlockSize, len(rows))
			stream = append(stream, rows[b*l.cfg.BlockSize:end]...)
		}
	}
	if l.cfg.SourceWeights != nil {
		wrng := rand.New(rand.NewPCG(l.cfg.Seed^0x5EED, uint64(epoch)))
		out := stream[:0:0]
		for _, r := range stream {
			w, ok := l.cfg.SourceWeights[l.sources[starts[r.part]+int(r.row)]]
			if !ok {
				w = 1
			}
			n := int(math.Floor(w))
			if wrng.Float64() < w-math.Floor(w) {
				n++
			}
			for ; n > 0; n-- {
				out = append(out, r)
			}
		}
		stream = out
	}
	if l.cfg.Shuffle && l.cfg.Window > 1 {
		for s := 0; s < len(stream); s += l.cfg.Window {
			win := stream[s:min(s+l.cfg.Window, len(stream))]
			rng.Shuffle(len(win), func(i, j int) { win[i], win[j] = win[j], win[i] })
		}
	}
	// Batches are laid out back to back in one flat slice (a handful of
	// allocations per epoch, none per batch): each bucket fills a reused
	// pending slice, copied out when full.
	pending := make([][]sampleRef, len(l.buckets))
	sizes := make([]int, len(l.buckets))
	for i, k := range l.buckets {
		switch k.kind {
		case Kind3D:
			sizes[i] = l.cfg.BatchSize3D
		case KindMixed:
			sizes[i] = 1
		default:
			sizes[i] = l.cfg.BatchSize2D
		}
		pending[i] = make([]sampleRef, 0, sizes[i])
	}
	flat := make([]sampleRef, 0, len(stream))
	ends := make([]int, 0, len(stream)/max(1, l.cfg.BatchSize2D)+len(l.buckets)+1)
	for _, r := range stream {
		pending[r.bucket] = append(pending[r.bucket], r)
		if len(pending[r.bucket]) >= sizes[r.bucket] {
			flat = append(flat, pending[r.bucket]...)
			ends = append(ends, len(flat))
			pending[r.bucket] = pending[r.bucket][:0]
		}
	}
	for _, p := range pending {
		if len(p) > 0 {
			flat = append(flat, p...)
			ends = append(ends, len(flat))
		}
	}
	plan := make([][]sampleRef, len(ends))
	start := 0
	for i, e := range ends {
		plan[i] = flat[start:e:e]
		start = e
	}
	return plan
}

// Next returns the next batch of this rank, prefetching ahead. At the
// end of the last epoch (Epochs > 0) it returns io.EOF. Errors are
// sticky. The caller must Release each batch. Next is for one goroutine.
func (l *Loader) Next(ctx context.Context) (*Batch, error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return nil, l.err
	}
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("loader: closed")
	}
	if l.pipe == nil {
		l.pipe = l.startPipeline(l.state)
	}
	p := l.pipe
	l.mu.Unlock()
	if p.next == len(p.cur) {
		if p.cur != nil {
			// Hand the emptied group slice back to its worker.
			select {
			case p.spare[(p.groups-1)%len(p.spare)] <- p.cur[:0]:
			default:
			}
			p.cur, p.next = nil, 0
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case grp, ok := <-p.out[p.groups%len(p.out)]:
			if !ok {
				return nil, errors.New("loader: closed")
			}
			p.groups++
			p.cur, p.next = grp, 0
		}
	}
	res := p.cur[p.next]
	p.cur[p.next] = result{}
	p.next++
	l.mu.Lock()
	defer l.mu.Unlock()
	if res.err != nil {
		l.err = res.err
		return nil, res.err
	}
	l.state.Epoch, l.state.Position = res.epoch, res.pos+1
	return res.batch, nil
}

type result struct {
	epoch, pos int
	batch      *Batch
	err        error
}

// pipeline: this rank's batch stream is cut into groups of G consecutive
// batches; worker w prepares groups w, w+Workers, … into its own channel
// and Next takes groups from the channels round robin. The order thus
// never depends on Workers, and a handoff between goroutines costs one
// channel operation per G batches. G = Prefetch/(2·Workers) (at least
// 1), so at most Prefetch batches are prepared ahead: one group queued
// and one being assembled per worker.
type pipeline struct {
	out    []chan []result
	spare  []chan []result // emptied group slices back to their worker
	stop   chan struct{}
	wg     sync.WaitGroup
	groups int      // groups taken by Next
	cur    []result // the current group; cur[next:] are still to serve
	next   int
}

func (l *Loader) startPipeline(st LoaderState) *pipeline {
	nw := l.cfg.Workers
	G := max(1, l.cfg.Prefetch/(2*nw))
	p := &pipeline{out: make([]chan []result, nw), spare: make([]chan []result, nw), stop: make(chan struct{})}
	for w := 0; w < nw; w++ {
		p.out[w] = make(chan []result, 1)
		p.spare[w] = make(chan []result, 2)
		p.wg.Add(1)
		go func(w int) {
			defer p.wg.Done()
			grp := make([]result, 0, G+1)
			send := func() bool {
				select {
				case p.out[w] <- grp:
					select {
					case grp = <-p.spare[w]:
					default:
						grp = make([]result, 0, G+1)
					}
					return true
				case <-p.stop:
					releaseResults(grp)
					return false
				}
			}
			epoch, pos := st.Epoch, st.Position
			var ep *epochPlan
			for k, planEpoch := 0, -1; ; {
				if l.cfg.Epochs > 0 && epoch >= l.cfg.Epochs {
					grp = append(grp, result{err: io.EOF})
					send()
					return
				}
				if planEpoch != epoch {
					ep, planEpoch = l.planOf(epoch), epoch
				}
				if ep.rankLen == 0 {
					grp = append(grp, result{err: errors.New("loader: no batches for this rank")})
					send()
					return
				}
				if pos >= ep.rankLen {
					epoch, pos = epoch+1, 0
					continue
				}
				if (k/G)%nw == w {
					select {
					case <-p.stop:
						releaseResults(grp)
						return
					default:
					}
					g := pos*l.cfg.World + l.cfg.Rank
					if g >= len(ep.batches) { // padded tail repeats the start
						g %= len(ep.batches)
					}
					b, err := l.assemble(epoch, g, ep.batches[g])
					if err == nil && l.cfg.Prepare != nil {
						if b.Prepared, err = l.cfg.Prepare(b); err != nil {
							b.Release()
							b, err = nil, fmt.Errorf("loader: preparing batch %d of epoch %d: %w", g, epoch, err)
						}
					}
					grp = append(grp, result{epoch: epoch, pos: pos, batch: b, err: err})
					if err != nil {
						send()
						return
					}
					if len(grp) == G && !send() {
						return
					}
				}
				k++
				pos++
			}
		}(w)
	}
	return p
}

func releaseResults(rs []result) {
	for _, r := range rs {
		if r.batch != nil {
			r.batch.Release()
		}
	}
}

// verifyPart checks a part's checksum once; the result is cached.
func (l *Loader) verifyPart(p *loaderPart) error {
	if l.cfg.NoVerify {
		return nil
	}
	p.once.Do(func() {
		if err := verifyMapped(p.shard, p.want); err != nil {
			p.err = fmt.Errorf("loader: refusing shard: %w", err)
		}
	})
	return p.err
}

type gatherBuf struct{ raw, aligned []byte }

// get returns an n-byte, 64-byte-aligned slice, reusing the allocation.
func (g *gatherBuf) get(n int) []byte {
	if cap(g.aligned) < n {
		g.raw = make([]byte, n+64)
		off := 0
		if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(g.raw))) % 64); r != 0 {
			off = 64 - r
		}
		g.aligned = g.raw[off : off+n : off+n]
	}
	return g.aligned[:n]
}

// batchLoc is where one sample of a batch lives.
type batchLoc struct {
	bc  *batchCols
	row int
}

// newBatch returns a released Batch (or a new one) reset for reuse,
// keeping its slices' capacity. Fields are reset one by one: a
// whole-struct assignment costs a write barrier per pointer field.
func (l *Loader) newBatch() *Batch {
	var b *Batch
	l.freeMu.Lock()
	if n := len(l.free); n > 0 {
		b = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	}
	l.freeMu.Unlock()
	if b == nil {
		b = new(Batch)
	}
	b.strs, b.viewsBack, b.plcBack, b.locs = b.strs[:0], b.viewsBack[:0], b.plcBack[:0], b.locs[:0]
	b.Placements, b.Views, b.Mask = b.Placements[:0], b.Views[:0], b.Mask[:0]
	b.InstructionTokens, b.ResponseTokens, b.Prepared = nil, nil, nil
	b.Contiguous, b.DType, b.Shape, b.Voxels, b.loader = false, "", [6]int{}, nil, l
	return b
}

// assemble builds the batch for refs. In steady state it allocates
// nothing (unless a Tokenizer is set): the Batch, its slices and its
// gather buffer are recycled, strings are views of the mapping, and the
// dtype and shape come from the bucket, not from the row's metadata.
// The per-sample work is reading Arrow offsets; the only bulk work is
// the one gather copy.
func (l *Loader) assemble(epoch, index int, refs []sampleRef) (*Batch, error) {
	b := l.newBatch()
	key := &l.buckets[refs[0].bucket]
	b.Epoch, b.Index, b.Kind = epoch, index, key.kind
	n := len(refs)
	nViews, nPlc := 0, 0
	var verified *loaderPart
	for _, r := range refs {
		p := l.parts[r.part]
		if p != verified {
			if err := l.verifyPart(p); err != nil {
				b.Release()
				return nil, err
			}
			verified = p
		}
		bc, row := &p.shard.batches[r.rb], int(r.brow)
		b.locs = append(b.locs, batchLoc{bc, row})
		i0, i1 := bc.images.ValueOffsets(row)
		nViews += int(i1 - i0)
		p0, p1 := bc.placements.ValueOffsets(row)
		nPlc += int(p1 - p0)
	}
	b.strs = grow(b.strs, 5*n)
	strs := b.strs
	b.IDs, b.Sources, b.Tasks, b.Instructions, b.Responses = strs[:n:n], strs[n:2*n:2*n], strs[2*n:3*n:3*n], strs[3*n:4*n:4*n], strs[4*n:5*n:5*n]
	b.viewsBack = slices.Grow(b.viewsBack, nViews)
	b.plcBack = slices.Grow(b.plcBack, nPlc)
	b.Placements = grow(b.Placements, n)
	b.Views = grow(b.Views, n)
	maxN := 0
	for i, lc := range b.locs {
		bc, row := lc.bc, lc.row
		// Views of the mapping (see Batch): valid until Release.
		b.IDs[i] = bc.str[colID].Value(row)
		b.Sources[i] = bc.str[colSource].Value(row)
		b.Tasks[i] = bc.str[colTask].Value(row)
		b.Instructions[i] = bc.str[colInstruction].Value(row)
		b.Responses[i] = bc.str[colResponse].Value(row)
		p0, p1 := bc.placements.ValueOffsets(row)
		first := len(b.plcBack)
		for q := int(p0); q < int(p1); q++ {
			b.plcBack = append(b.plcBack, Placement{Image: int(bc.plcImage.Value(q)), Field: internField(bc.plcField.Value(q)), Offset: int(bc.plcOffset.Value(q))})
		}
		b.Placements[i] = b.plcBack[first:len(b.plcBack):len(b.plcBack)]
		i0, i1 := bc.images.ValueOffsets(row)
		first = len(b.viewsBack)
		for k := int(i0); k < int(i1); k++ {
			// Shapes were checked by the scan (sampleKey → Shard.Image).
			b.viewsBack = append(b.viewsBack, bc.voxels.Value(k))
		}
		b.Views[i] = b.viewsBack[first:len(b.viewsBack):len(b.viewsBack)]
		maxN = max(maxN, int(i1-i0))
	}
	if l.cfg.Tokenizer != nil {
		b.InstructionTokens = make([][]int, n)
		b.ResponseTokens = make([][]int, n)
		for i := 0; i < n; i++ {
			b.InstructionTokens[i] = l.cfg.Tokenizer.Encode(b.Instructions[i])
			b.ResponseTokens[i] = l.cfg.Tokenizer.Encode(b.Responses[i])
		}
	}
	if maxN == 0 || b.Kind == KindMixed {
		b.Mask = b.Mask[:0]
		return b, nil
	}
	// Every sample of a 2D/3D bucket has images of the bucket's shape.
	b.DType, b.Shape = key.dtype, [6]int{n, maxN, key.c, key.d, key.h, key.w}
	b.Mask = grow(b.Mask, n*maxN)
	clear(b.Mask)
	contiguous := true
	var prevEnd uintptr
	for i, views := range b.Views {
		if len(views) != maxN || refs[i].part != refs[0].part {
			contiguous = false
		}
		for k, v := range views {
			b.Mask[i*maxN+k] = true
			start := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
			if prevEnd != 0 && start != prevEnd {
				contiguous = false
			}
			prevEnd = start + uintptr(len(v))
		}
	}
	imgBytes := len(b.Views[0][0])
	total := n * maxN * imgBytes
	if contiguous {
		// INVARIANT: the views are adjacent slices of one part's mapping,
		// so the span from the first to the last is inside it.
		b.Voxels = unsafe.Slice(unsafe.SliceData(b.Views[0][0]), total)
		b.Contiguous = true
		return b, nil
	}
	// The gather: one copy per image into the batch's reused buffer;
	// only the slots of missing images are zeroed.
	buf := b.gbuf.get(total)
	for i, views := range b.Views {
		for k := 0; k < maxN; k++ {
			dst := buf[(i*maxN+k)*imgBytes : (i*maxN+k+1)*imgBytes]
			if k < len(views) {
				copy(dst, views[k])
			} else {
				clear(dst)
			}
		}
	}
	b.Voxels = buf
	return b, nil
}

// grow returns s with length n, reusing its capacity.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Close stops prefetching and unmaps every shard. Batches obtained from
// the loader must not be used afterwards.
func (l *Loader) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	p := l.pipe
	l.mu.Unlock()
	if p != nil {
		close(p.stop)
		p.wg.Wait()
		releaseResults(p.cur[p.next:])
		for _, ch := range p.out {
			close(ch)
			for grp := range ch {
				releaseResults(grp)
			}
		}
	}
	var errs []error
	for _, part := range l.parts {
		if part.shard != nil {
			errs = append(errs, part.shard.Close())
		}
	}
	return errors.Join(errs...)
}

// internField returns the placement field constant for s without keeping
// a reference to the mapping.
func internField(s string) string {
	switch s {
	case FieldInstruction:
		return FieldInstruction
	case FieldResponse:
		return FieldResponse
	}
	return strings.Clone(s)
}
