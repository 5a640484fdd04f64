package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/shards"
	"github.com/medmd/medmd/train/tokenizer"
)

// Source is random access to a corpus's samples. The trainer reads through
// this small interface so any store of samples can stand behind it (a
// shard manifest: ManifestSource); tests use an in-memory SliceSource.
type Source interface {
	Len() int
	Sample(i int) (*shards.Sample, error)
}

// SliceSource serves samples from memory.
type SliceSource []shards.Sample

func (s SliceSource) Len() int                             { return len(s) }
func (s SliceSource) Sample(i int) (*shards.Sample, error) { return &s[i], nil }

// LoaderState is the batching position saved in checkpoints: resuming
// from it yields exactly the batches an uninterrupted run would have seen.
type LoaderState struct {
	Seed  int64 `json:"seed"`
	Epoch int   `json:"epoch"`
	Pos   int   `json:"pos"`
}

// batcher walks a Source in a seeded random order, one permutation per
// epoch, deterministically from its LoaderState.
type batcher struct {
	src   Source
	state LoaderState
	perm  []int
	permE int
}

func newBatcher(src Source, state LoaderState) *batcher {
	return &batcher{src: src, state: state, permE: -1}
}

func (b *batcher) order() []int {
	if b.permE != b.state.Epoch {
		rng := rand.New(rand.NewPCG(uint64(b.state.Seed), uint64(b.state.Epoch)))
		b.perm = rng.Perm(b.src.Len())
		b.permE = b.state.Epoch
	}
	return b.perm
}

// next returns n samples, wrapping into the next epoch as needed.
func (b *batcher) next(n int) ([]*shards.Sample, error) {
	if b.src.Len() == 0 {
		return nil, fmt.Errorf("empty corpus")
	}
	out := make([]*shards.Sample, 0, n)
	for len(out) < n {
		if b.state.Pos >= b.src.Len() {
			b.state.Epoch++
			b.state.Pos = 0
		}
		idx := b.order()[b.state.Pos]
		b.state.Pos++
		s, err := b.src.Sample(idx)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", idx, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// encoder turns samples into token sequences with loss weights.
type encoder struct {
	cfg   Config
	tok   *tokenizer.Tokenizer
	terms *termMatcher
}

// seq is one encoded sample: tokens, the weight of predicting each token
// (from the previous position), the latent slot each image position holds
// (1-based within the sample: the idx-th image used, latent j →
// idx*Latents+j+1; 0 = text), the sample's image index of each image used
// (used[idx]) and, for in-memory samples, the images themselves.
type seq struct {
	tokens []int32
	weight []float32
	slot   []int32
	used   []int
	images []*shards.Image
}

func (s *seq) push(id int, w float32, slot int32) {
	s.tokens = append(s.tokens, int32(id))
	s.weight = append(s.weight, w)
	s.slot = append(s.slot, slot)
}

// encInput is what the encoder reads of one sample: its text, where its
// images sit, how many it has and (for in-memory samples, nil for loader
// batches whose images travel as one tensor) the images.
type encInput struct {
	instruction, response string
	placements            []shards.Placement
	nImages               int
	images                []shards.Image
}

func sampleInput(smp *shards.Sample) encInput {
	return encInput{instruction: smp.Instruction, response: smp.Response, placements: smp.Placements, nImages: len(smp.Images), images: smp.Images}
}

// byteOffset converts a code-point offset in text to a byte offset
// (clamped to the text).
func byteOffset(text string, cp int) int {
	if cp <= 0 {
		return 0
	}
	n := 0
	for i := range text {
		if n == cp {
			return i
		}
		n++
	}
	return len(text)
}

// field appends one text field with its images. respond marks response
// text (weighted); instruction text has weight 0.
func (e *encoder) field(s *seq, in *encInput, name, text string, respond bool) {
	var pls []shards.Placement
	for _, p := range in.placements {
		if p.Field == name {
			pls = append(pls, p)
		}
	}
	sort.SliceStable(pls, func(i, j int) bool { return pls[i].Offset < pls[j].Offset })
	var termSpans [][2]int
	if respond {
		termSpans = e.terms.spans(text)
	}
	pos := 0
	emitText := func(end int) {
		if end <= pos {
			return
		}
		ids, spans := e.tok.Encode(text[pos:end])
		for i, id := range ids {
			w := float32(0)
			if respond {
				w = float32(e.cfg.ResponseWeight)
				a, b := pos+spans[i][0], pos+spans[i][1]
				for _, ts := range termSpans {
					if a < ts[1] && ts[0] < b {
						w = float32(e.cfg.TermWeight)
						break
					}
				}
			}
			s.push(id, w, 0)
		}
		pos = end
	}
	for _, p := range pls {
		emitText(byteOffset(text, p.Offset))
		e.image(s, in, p.Image)
	}
	emitText(len(text))
}

// image appends <image> + latent slots + </image> when the image exists
// and the sample has room (MaxImages); weights are 0 throughout.
func (e *encoder) image(s *seq, in *encInput, k int) {
	if k < 0 || k >= in.nImages || len(s.used) >= e.cfg.MaxImages {
		return
	}
	if in.images != nil {
		im := &in.images[k]
		if im.NumVoxels() == 0 || len(im.Voxels) < im.NumVoxels()*im.DType.Size() || im.DType.Size() == 0 {
			return
		}
		s.images = append(s.images, im)
	}
	idx := len(s.used)
	s.used = append(s.used, k)
	s.push(e.tok.ImageID, 0, 0)
	for j := 0; j < e.cfg.Latents; j++ {
		s.push(e.tok.PadID, 0, int32(idx*e.cfg.Latents+j+1))
	}
	s.push(e.tok.ImageEndID, 0, 0)
}

// encode builds the training sequence of an in-memory sample.
func (e *encoder) encode(smp *shards.Sample) *seq {
	in := sampleInput(smp)
	return e.encodeInput(&in)
}

// encodeInput builds the training sequence: <s> instruction response </s>.
func (e *encoder) encodeInput(in *encInput) *seq {
	s := &seq{}
	s.push(e.tok.BOSID, 0, 0)
	e.field(s, in, shards.FieldInstruction, in.instruction, false)
	respStart := len(s.tokens)
	e.field(s, in, shards.FieldResponse, in.response, true)
	eosW := float32(0)
	if in.response != "" {
		eosW = float32(e.cfg.ResponseWeight)
	}
	s.push(e.tok.EOSID, eosW, 0)
	e.fit(s, respStart)
	return s
}

// fit shortens a sequence longer than Context+1 by dropping instruction
// text tokens from its start (the question usually ends it), never <s>,
// image blocks or the response. batch cuts what is still too long from
// the end (a response longer than the context); without this
// a long instruction cut the whole response away, and the step trained on
// nothing (Σw = 0, logged as a loss of 0).
func (e *encoder) fit(s *seq, respStart int) {
	excess := len(s.tokens) - (e.cfg.Context + 1)
	if excess <= 0 {
		return
	}
	keep := make([]bool, len(s.tokens))
	for i := range keep {
		keep[i] = true
	}
	for i := 1; i < respStart && excess > 0; i++ {
		id := int(s.tokens[i])
		if s.slot[i] == 0 && s.weight[i] == 0 && id != e.tok.BOSID && id != e.tok.ImageID && id != e.tok.ImageEndID {
			keep[i] = false
			excess--
		}
	}
	n := 0
	for i := range s.tokens {
		if keep[i] {
			s.tokens[n], s.weight[n], s.slot[n] = s.tokens[i], s.weight[i], s.slot[i]
			n++
		}
	}
	s.tokens, s.weight, s.slot = s.tokens[:n], s.weight[:n], s.slot[:n]
}

// prompt builds the generation prompt: <s> instruction, then the images
// placed in the response (the model sees every image before answering).
func (e *encoder) prompt(smp *shards.Sample) *seq {
	in := sampleInput(smp)
	s := &seq{}
	s.push(e.tok.BOSID, 0, 0)
	e.field(s, &in, shards.FieldInstruction, smp.Instruction, false)
	for _, p := range smp.Placements {
		if p.Field == shards.FieldResponse {
			e.image(s, &in, p.Image)
		}
	}
	return s
}

// Image slot layouts of a batch's image tensor [B, N, …]: which slot of
// sample b holds the idx-th image its sequence uses.
type slotLayout int

const (
	// slotsInUseOrder: slot idx (hostImages, N = MaxImages).
	slotsInUseOrder slotLayout = iota
	// slotsByImageIndex: slot used[idx], the sample's own image index
	// (loader batches, whose tensor is the stored images in order).
	slotsByImageIndex
)

// batch assembles B encoded sequences into token tensors of length
// Context; n is the image tensor's images per sample. Sequences longer
// than Context+1 are truncated.
func (e *encoder) batch(seqs []*seq, n int, layout slotLayout) *batchTensors {
	c := e.cfg
	b, t := len(seqs), c.Context
	tok := make([]int32, b*t)
	pos := make([]int32, b*t)
	tgt := make([]int32, b*t)
	wts := make([]float32, b*t)
	for i := range tok {
		tok[i], tgt[i] = int32(e.tok.PadID), int32(e.tok.PadID)
	}
	L := int32(c.Latents)
	for bi, s := range seqs {
		m := min(len(s.tokens), t+1)
		for j := 0; j < m-1; j++ {
			k := bi*t + j
			tok[k] = s.tokens[j]
			if sl := s.slot[j]; sl > 0 {
				idx, lat := (sl-1)/L, (sl-1)%L
				img := idx
				if layout == slotsByImageIndex {
					img = int32(s.used[idx])
				}
				pos[k] = (int32(bi*n)+img)*L + lat + 1
			}
			tgt[k] = s.tokens[j+1]
			wts[k] = s.weight[j+1]
		}
	}
	return &batchTensors{
		Tokens:  tensors.FromFlatDataAndDimensions(tok, b, t),
		ImgPos:  tensors.FromFlatDataAndDimensions(pos, b, t),
		Targets: tensors.FromFlatDataAndDimensions(tgt, b, t),
		Weights: tensors.FromFlatDataAndDimensions(wts, b, t),
	}
}

// hostBatch is batch plus hostImages for in-memory samples.
func (e *encoder) hostBatch(seqs []*seq) *batchTensors {
	bt := e.batch(seqs, e.cfg.MaxImages, slotsInUseOrder)
	if e.cfg.MaxImages > 0 {
		bt.Images = hostImages(seqs, e.cfg)
	}
	return bt
}

// hostImages builds the image input of in-memory samples (a Source:
// validation, generation, tests), [B, MaxImages, C, D, H, W] float32 in
// 0…1, each used image at its use-order slot. Such samples need not be
// model-ready, so they are resampled here; the training path does none of
// this (the corpus is stored model-ready and uploaded as is, see
// shardBatch). D×H×W is the 2D geometry when every image is 2D, else the
// 3D one at the full depth (2D images repeated along depth).
func hostImages(seqs []*seq, c Config) *tensors.Tensor {
	d, h, w := 1, c.ImageHeight, c.ImageWidth
	for _, s := range seqs {
		for _, im := range s.images {
			if im.Depth > 1 {
				d, h, w = c.ImageDepth, c.VolumeHeight, c.VolumeWidth
			}
		}
	}
	per := c.Channels * d * h * w
	out := make([]float32, len(seqs)*c.MaxImages*per)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for bi, s := range seqs {
		for k, im := range s.images {
			off := (bi*c.MaxImages + k) * per
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				resizeInto(out[off:off+per], im, c.Channels, d, h, w)
			}()
		}
	}
	wg.Wait()
	return tensors.FromFlatDataAndDimensions(out, len(seqs), c.MaxImages, c.Channels, d, h, w)
}

// resizeInto writes im as ch×d×h×w float32 in 0…1 (min–max over the
// image): nearest slice in depth, bilinear in plane. Channels are kept
// when im has ch of them; a grey image is repeated into every channel,
// and any other count is averaged to grey first.
func resizeInto(dst []float32, im *shards.Image, ch, d, h, w int) {
	C, D, H, W := im.Channels, im.Depth, im.Height, im.Width
	vol := D * H * W
	inC := C
	if C != ch {
		inC = 1
	}
	vals := make([]float64, inC*vol)
	for c := 0; c < C; c++ {
		for i := 0; i < vol; i++ {
			v := im.DType.Decode(im.Voxels, c*vol+i)
			if inC == 1 {
				vals[i] += v / float64(C)
			} else {
				vals[c*vol+i] = v
			}
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	scale := 0.0
	if hi > lo {
		scale = 1 / (hi - lo)
	}
	for oc := 0; oc < ch; oc++ {
		src := vals[min(oc, inC-1)*vol:]
		at := func(z, y, x int) float64 {
			v := src[(z*H+y)*W+x]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0
			}
			return (v - lo) * scale
		}
		out := dst[oc*d*h*w:]
		for z := 0; z < d; z++ {
			sz := min(D-1, int((float64(z)+0.5)*float64(D)/float64(d)))
			for y := 0; y < h; y++ {
				fy := math.Max(0, (float64(y)+0.5)*float64(H)/float64(h)-0.5)
				y0 := min(H-1, int(fy))
				y1 := min(H-1, y0+1)
				ty := fy - float64(y0)
				for x := 0; x < w; x++ {
					fx := math.Max(0, (float64(x)+0.5)*float64(W)/float64(w)-0.5)
					x0 := min(W-1, int(fx))
					x1 := min(W-1, x0+1)
					tx := fx - float64(x0)
					v := (1-ty)*((1-tx)*at(sz, y0, x0)+tx*at(sz, y0, x1)) + ty*((1-tx)*at(sz, y1, x0)+tx*at(sz, y1, x1))
					out[(z*h+y)*w+x] = float32(v)
				}
			}
		}
	}
}
