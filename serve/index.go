package serve

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// IndexFile is the index's name beside manifest.json.
const IndexFile = "serve-index.gob"

// indexVersion changes whenever Index's fields or their meaning change, so
// an index written by another medmd is rebuilt rather than misread. It
// also names the file's layout (indexHeader, then chunked columns).
const indexVersion = 3

// Index is what the browser knows about a corpus without touching its
// shards: one entry per sample in corpus order, column-wise so that a
// filter scans small arrays and the gob file stays compact. Small
// repeated strings (source, task, licence, split, modality, dtype) are
// codes into Dict.
type Index struct {
	Version      int
	ManifestHash string
	Dict         []string

	IDs     []string
	Group   []string
	Source  []uint16
	Task    []uint16
	License []uint16
	Split   []uint16
	// Part and Row locate the sample: Row of the Part-th Arrow part of
	// the manifest (Manifest.ArrowPaths order).
	Part []int32
	Row  []int32
	// Text holds each sample's instruction, "\n", response, ASCII
	// lower-cased (so byte offsets match the original text); sample i is
	// Text[TextOff[i]:TextOff[i+1]].
	Text    []byte
	TextOff []int64
	// Runes is the length of instruction + response in code points.
	Runes []int32
	// Sample i's images are ImgOff[i]…ImgOff[i+1]-1; image j has
	// ImgModality[j], ImgDType[j] and ImgShape[4j:4j+4] (C, D, H, W).
	ImgOff      []int32
	ImgModality []uint16
	ImgDType    []uint16
	ImgShape    []int32
	// ImgDHash holds image j's 256-bit dHash (radfilter.DHash of its
	// middle slice, the hash RadMD's dedup and RadBench's leakage check
	// compare) as words 4j…4j+3; ImgDHashOK[j] is false when the image
	// could not be hashed (a malformed buffer). The sample page finds an
	// image's near-duplicates by scanning these words (see nearDuplicates).
	ImgDHash   []uint64
	ImgDHashOK []bool
	// TextHash is sample i's text fingerprint (textHash), 0 for a text
	// too short to call two samples duplicates.
	TextHash []uint64

	Stats IndexStats
}

// IndexStats are corpus-wide counts taken while indexing, for the
// overview's de-identification and pseudonym lines.
type IndexStats struct {
	// TextDeidSamples carry the deidentify stage's counts
	// (Meta "deid_total"); TextDeidRedactions sums them.
	TextDeidSamples    int
	TextDeidRedactions int
	// DeidImages have a transform whose name mentions de-identification.
	DeidImages int
	// Groups is the number of distinct groups; HashedGroups of them are
	// 64 hex digits (a pseudonym or hash, never a raw patient id).
	Groups       int
	HashedGroups int
}

// Len is the number of samples.
func (ix *Index) Len() int { return len(ix.IDs) }

// Str returns the string of a Dict code.
func (ix *Index) Str(code uint16) string { return ix.Dict[code] }

// TextOf returns sample i's lower-cased text (aliases the index).
func (ix *Index) TextOf(i int) []byte { return ix.Text[ix.TextOff[i]:ix.TextOff[i+1]] }

// Is3D reports whether sample i has a volume (an image of depth > 1).
func (ix *Index) Is3D(i int) bool {
	for j := ix.ImgOff[i]; j < ix.ImgOff[i+1]; j++ {
		if ix.ImgShape[4*j+1] > 1 {
			return true
		}
	}
	return false
}

// indexBuilder interns Dict strings while building.
type indexBuilder struct {
	ix     *Index
	codes  map[string]uint16
	groups map[string]bool
}

func (b *indexBuilder) code(s string) uint16 {
	if c, ok := b.codes[s]; ok {
		return c
	}
	if len(b.ix.Dict) >= 1<<16 {
		// More distinct values than a code holds (a corrupt corpus):
		// fold the rest into one.
		return b.code("(other)")
	}
	c := uint16(len(b.ix.Dict))
	b.ix.Dict = append(b.ix.Dict, s)
	b.codes[s] = c
	return c
}

// appendLower appends s with ASCII letters lower-cased; other bytes are
// kept, so offsets into the result are offsets into s.
func appendLower(dst []byte, s string) []byte {
	n := len(dst)
	dst = append(dst, s...)
	for i := n; i < len(dst); i++ {
		if c := dst[i]; 'A' <= c && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// add indexes one sample read from part p, row r.
func (b *indexBuilder) add(s *shards.Sample, p, r int) {
	ix := b.ix
	ix.IDs = append(ix.IDs, s.ID)
	ix.Group = append(ix.Group, s.Group)
	ix.Source = append(ix.Source, b.code(s.Source))
	ix.Task = append(ix.Task, b.code(s.Task))
	ix.License = append(ix.License, b.code(s.License))
	ix.Split = append(ix.Split, b.code(s.Split))
	ix.Part = append(ix.Part, int32(p))
	ix.Row = append(ix.Row, int32(r))
	ix.Text = appendLower(ix.Text, s.Instruction)
	ix.Text = append(ix.Text, '\n')
	ix.Text = appendLower(ix.Text, s.Response)
	ix.TextOff = append(ix.TextOff, int64(len(ix.Text)))
	runes := utf8.RuneCountInString(s.Instruction) + utf8.RuneCountInString(s.Response)
	ix.Runes = append(ix.Runes, int32(runes))
	var th uint64
	if runes >= minDupText {
		th = textHash(ix.Text[ix.TextOff[len(ix.TextOff)-2]:])
	}
	ix.TextHash = append(ix.TextHash, th)
	for k := range s.Images {
		im := &s.Images[k]
		// The hasher fills the dHash in later (BuildIndex).
		ix.ImgDHash = append(ix.ImgDHash, 0, 0, 0, 0)
		ix.ImgDHashOK = append(ix.ImgDHashOK, false)
		ix.ImgModality = append(ix.ImgModality, b.code(im.Modality))
		ix.ImgDType = append(ix.ImgDType, b.code(string(im.DType)))
		ix.ImgShape = append(ix.ImgShape, int32(im.Channels), int32(im.Depth), int32(im.Height), int32(im.Width))
		for _, t := range im.Transforms {
			if containsFold(t.Name, "deid") || containsFold(t.Name, "anonym") {
				ix.Stats.DeidImages++
				break
			}
		}
	}
	ix.ImgOff = append(ix.ImgOff, int32(len(ix.ImgModality)))
	if v, ok := s.Meta["deid_total"]; ok {
		ix.Stats.TextDeidSamples++
		n, _ := strconv.Atoi(v)
		ix.Stats.TextDeidRedactions += n
	}
	if !b.groups[s.Group] {
		b.groups[s.Group] = true
		ix.Stats.Groups++
		if isHex64(s.Group) {
			ix.Stats.HashedGroups++
		}
	}
}

// containsFold reports whether s contains the lower-case ASCII sub.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// BuildIndex reads every sample of m from its memory-mapped Arrow parts
// and returns the index. Of the voxels it reads only each image's middle
// slice, for the dHash, which other goroutines compute (hasher) while
// this one reads on.
func BuildIndex(ctx context.Context, m *shards.Manifest) (*Index, error) {
	ix := &Index{Version: indexVersion, ManifestHash: m.Hash()}
	// Sample columns are sized once from the manifest's count (bounded, so
	// a damaged count cannot ask for terabytes): growing them by doubling
	// would copy each column several times over at a million samples.
	n := min(max(m.Samples, 0), 1<<24)
	ix.IDs, ix.Group = make([]string, 0, n), make([]string, 0, n)
	ix.Source, ix.Task, ix.License, ix.Split = make([]uint16, 0, n), make([]uint16, 0, n), make([]uint16, 0, n), make([]uint16, 0, n)
	ix.Part, ix.Row, ix.Runes = make([]int32, 0, n), make([]int32, 0, n), make([]int32, 0, n)
	ix.TextOff, ix.ImgOff = append(make([]int64, 0, n+1), 0), append(make([]int32, 0, n+1), 0)
	ix.TextHash = make([]uint64, 0, n)
	b := &indexBuilder{ix: ix, codes: map[string]uint16{}, groups: map[string]bool{}}
	for p, path := range m.ArrowPaths() {
		sh, err := shards.OpenShard(path)
		if err != nil {
			return nil, err
		}
		h := &hasher{ix: ix}
		err = b.addPart(ctx, sh, p, h)
		// The batches alias the mapping: wait for them before unmapping.
		h.flush()
		if err != nil {
			sh.Close()
			return nil, err
		}
		if err := sh.Close(); err != nil {
			return nil, err
		}
		if p == 0 {
			b.reserve(n)
		}
	}
	return ix, nil
}

// addPart indexes every row of part p.
func (b *indexBuilder) addPart(ctx context.Context, sh *shards.Shard, p int, h *hasher) error {
	for r := 0; r < sh.Len(); r++ {
		if r%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s, err := sh.Sample(r)
		if err != nil {
			return err
		}
		first := len(b.ix.ImgModality)
		b.add(&s, p, r)
		for k := range s.Images {
			h.add(first+k, s.Images[k])
		}
	}
	return nil
}

// reserve grows the text and image columns to what n samples need at the
// rate of the first part (plus an eighth), so that they are not copied at
// every doubling.
func (b *indexBuilder) reserve(n int) {
	ix := b.ix
	done := len(ix.IDs)
	if done == 0 || n <= done {
		return
	}
	grow := func(have int) int { return (have*n/done)*9/8 - have }
	ix.Text = slices.Grow(ix.Text, grow(len(ix.Text)))
	ni := grow(len(ix.ImgModality))
	ix.ImgModality, ix.ImgDType, ix.ImgDHashOK = slices.Grow(ix.ImgModality, ni), slices.Grow(ix.ImgDType, ni), slices.Grow(ix.ImgDHashOK, ni)
	ix.ImgShape, ix.ImgDHash = slices.Grow(ix.ImgShape, 4*ni), slices.Grow(ix.ImgDHash, 4*ni)
}

// hashBatchSize is how many images one hashing batch holds.
const hashBatchSize = 4096

// hasher computes the dHash of a part's images on other goroutines, a
// batch at a time, while the caller reads on; results are copied into the
// index by the caller's goroutine (flush, or the next batch's hand-off),
// so the index's slices are never written concurrently.
type hasher struct {
	ix       *Index
	cur      *hashBatch
	inFlight *hashBatch
}

type hashBatch struct {
	first []int // image numbers in the index
	ims   []shards.Image
	out   []radfilter.PHash
	ok    []bool
	done  chan struct{}
}

func (h *hasher) add(j int, im shards.Image) {
	if h.cur == nil {
		h.cur = &hashBatch{first: make([]int, 0, hashBatchSize), ims: make([]shards.Image, 0, hashBatchSize)}
	}
	h.cur.first = append(h.cur.first, j)
	h.cur.ims = append(h.cur.ims, im)
	if len(h.cur.ims) == hashBatchSize {
		h.submit()
	}
}

// submit starts the current batch and collects the one before it: at
// most one batch is hashed while the caller fills the next.
func (h *hasher) submit() {
	bt := h.cur
	h.cur = nil
	h.collect()
	if bt == nil {
		return
	}
	bt.out, bt.ok, bt.done = make([]radfilter.PHash, len(bt.ims)), make([]bool, len(bt.ims)), make(chan struct{})
	h.inFlight = bt
	go func() {
		defer close(bt.done)
		workers := max(1, min(runtime.GOMAXPROCS(0), len(bt.ims)/64))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for k := w; k < len(bt.ims); k += workers {
					var err error
					bt.out[k], err = radfilter.DHash(&bt.ims[k])
					bt.ok[k] = err == nil
				}
			})
		}
		wg.Wait()
	}()
}

// collect waits for the batch in flight and stores its hashes.
func (h *hasher) collect() {
	bt := h.inFlight
	if bt == nil {
		return
	}
	<-bt.done
	h.inFlight = nil
	for k, j := range bt.first {
		copy(h.ix.ImgDHash[4*j:4*j+4], bt.out[k][:])
		h.ix.ImgDHashOK[j] = bt.ok[k]
	}
}

// flush hashes what is left and waits for every batch.
func (h *hasher) flush() {
	h.submit()
	h.collect()
}

// errStale reports an index file that belongs to another manifest or
// another index version.
var errStale = errors.New("serve: index is stale")

// ReadIndex reads an index file and checks it belongs to m.
func ReadIndex(path string, m *shards.Manifest) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var h indexHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Version != indexVersion || h.ManifestHash != m.Hash() {
		return nil, errStale
	}
	ix := Index{Version: h.Version, ManifestHash: h.ManifestHash, Dict: h.Dict, Stats: h.Stats}
	cols := ix.indexColumns()
	if len(h.Lens) != len(cols) {
		return nil, fmt.Errorf("%s: %d columns, want %d", path, len(h.Lens), len(cols))
	}
	// Every element takes at least one byte of the file, so lengths
	// summing past its size are damage, refused before any allocation.
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	total := int64(0)
	for _, n := range h.Lens {
		if n < 0 || int64(n) > fi.Size()-total {
			return nil, fmt.Errorf("%s: column lengths exceed the file", path)
		}
		total += int64(n)
	}
	for k, col := range cols {
		if err := readColumn(dec, col, h.Lens[k]); err != nil {
			return nil, fmt.Errorf("%s: column %d: %w", path, k, err)
		}
	}
	if err := ix.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &ix, nil
}

// check validates the lengths and offsets a decoded index declares, so a
// damaged file is rebuilt rather than indexed out of range.
func (ix *Index) check() error {
	n := len(ix.IDs)
	for _, l := range []int{len(ix.Group), len(ix.Source), len(ix.Task), len(ix.License), len(ix.Split), len(ix.Part), len(ix.Row), len(ix.Runes), len(ix.TextHash)} {
		if l != n {
			return errors.New("column lengths differ")
		}
	}
	if len(ix.TextOff) != n+1 || len(ix.ImgOff) != n+1 {
		return errors.New("offset lengths differ")
	}
	ni := len(ix.ImgModality)
	if len(ix.ImgDType) != ni || len(ix.ImgShape) != 4*ni || len(ix.ImgDHash) != 4*ni || len(ix.ImgDHashOK) != ni {
		return errors.New("image column lengths differ")
	}
	for i := 0; i < n; i++ {
		if ix.TextOff[i] > ix.TextOff[i+1] || ix.ImgOff[i] > ix.ImgOff[i+1] {
			return errors.New("offsets decrease")
		}
	}
	if ix.TextOff[0] != 0 || ix.TextOff[n] != int64(len(ix.Text)) || ix.ImgOff[0] != 0 || int(ix.ImgOff[n]) != ni {
		return errors.New("offsets do not span their data")
	}
	for _, col := range [][]uint16{ix.Source, ix.Task, ix.License, ix.Split, ix.ImgModality, ix.ImgDType} {
		for _, c := range col {
			if int(c) >= len(ix.Dict) {
				return errors.New("code outside the dictionary")
			}
		}
	}
	return nil
}

// indexHeader opens an index file: what identifies it and the length of
// every column, so that a reader rejects a stale file after one small
// message and sizes each column once.
type indexHeader struct {
	Version      int
	ManifestHash string
	Dict         []string
	Stats        IndexStats
	// Lens are the columns' lengths, in indexColumns order.
	Lens []int
}

// indexChunk is how many elements of a column one gob message holds. The
// gob encoder builds each message whole in memory before writing it, so
// encoding the index as one value held a second copy of the whole file
// (hundreds of MiB at a million samples) at the first start; chunks bound
// that copy to a few MiB.
const indexChunk = 1 << 18

// indexColumns lists ix's columns in file order; each is written by
// writeColumn and read by readColumn (through the pointer).
func (ix *Index) indexColumns() []any {
	return []any{&ix.IDs, &ix.Group, &ix.Source, &ix.Task, &ix.License, &ix.Split, &ix.Part, &ix.Row,
		&ix.Text, &ix.TextOff, &ix.Runes, &ix.ImgOff, &ix.ImgModality, &ix.ImgDType, &ix.ImgShape,
		&ix.ImgDHash, &ix.ImgDHashOK, &ix.TextHash}
}

func columnLen(col any) int {
	switch c := col.(type) {
	case *[]string:
		return len(*c)
	case *[]uint16:
		return len(*c)
	case *[]int32:
		return len(*c)
	case *[]int64:
		return len(*c)
	case *[]uint64:
		return len(*c)
	case *[]byte:
		return len(*c)
	case *[]bool:
		return len(*c)
	}
	panic(fmt.Sprintf("serve: index column of type %T", col))
}

func writeColumn(enc *gob.Encoder, col any) error {
	switch c := col.(type) {
	case *[]string:
		return writeChunks(enc, *c)
	case *[]uint16:
		return writeChunks(enc, *c)
	case *[]int32:
		return writeChunks(enc, *c)
	case *[]int64:
		return writeChunks(enc, *c)
	case *[]uint64:
		return writeChunks(enc, *c)
	case *[]byte:
		return writeChunks(enc, *c)
	case *[]bool:
		return writeChunks(enc, *c)
	}
	panic(fmt.Sprintf("serve: index column of type %T", col))
}

func readColumn(dec *gob.Decoder, col any, n int) error {
	var err error
	switch c := col.(type) {
	case *[]string:
		*c, err = readChunks[string](dec, n)
	case *[]uint16:
		*c, err = readChunks[uint16](dec, n)
	case *[]int32:
		*c, err = readChunks[int32](dec, n)
	case *[]int64:
		*c, err = readChunks[int64](dec, n)
	case *[]uint64:
		*c, err = readChunks[uint64](dec, n)
	case *[]byte:
		*c, err = readChunks[byte](dec, n)
	case *[]bool:
		*c, err = readChunks[bool](dec, n)
	default:
		panic(fmt.Sprintf("serve: index column of type %T", col))
	}
	return err
}

// writeChunks encodes col as ceil(len/indexChunk) messages.
func writeChunks[T any](enc *gob.Encoder, col []T) error {
	for len(col) > 0 {
		k := min(len(col), indexChunk)
		if err := enc.Encode(col[:k]); err != nil {
			return err
		}
		col = col[k:]
	}
	return nil
}

// readChunks decodes the n elements writeChunks wrote into a column
// allocated once at its final size (n is bounded by the file's size, see
// ReadIndex).
func readChunks[T any](dec *gob.Decoder, n int) ([]T, error) {
	col := make([]T, 0, n)
	var chunk []T
	for len(col) < n {
		chunk = chunk[:0]
		if err := dec.Decode(&chunk); err != nil {
			return nil, err
		}
		if len(chunk) == 0 || len(chunk) > indexChunk || len(chunk) > n-len(col) {
			return nil, errors.New("column chunk of the wrong length")
		}
		col = append(col, chunk...)
	}
	return col, nil
}

// Write publishes the index at path atomically (shards.Publish),
// encoding it column by column in chunks straight to the temp file.
func (ix *Index) Write(path string) error {
	return shards.Publish(nil, path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		enc := gob.NewEncoder(bw)
		cols := ix.indexColumns()
		h := indexHeader{Version: ix.Version, ManifestHash: ix.ManifestHash, Dict: ix.Dict, Stats: ix.Stats, Lens: make([]int, len(cols))}
		for k, col := range cols {
			h.Lens[k] = columnLen(col)
		}
		if err := enc.Encode(&h); err != nil {
			return err
		}
		for _, col := range cols {
			if err := writeColumn(enc, col); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}

// LoadIndex returns m's index: the saved one when it is current, else a
// fresh build, saved beside the manifest. A folder that cannot be written
// (a read-only corpus) is served from the fresh index in memory; saveErr
// says why it was not saved.
func LoadIndex(ctx context.Context, m *shards.Manifest) (ix *Index, rebuilt bool, saveErr error, err error) {
	path := filepath.Join(m.Dir(), IndexFile)
	if ix, err := ReadIndex(path, m); err == nil {
		return ix, false, nil, nil
	}
	ix, err = BuildIndex(ctx, m)
	if err != nil {
		return nil, false, nil, err
	}
	return ix, true, ix.Write(path), nil
}
