package train

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
	"github.com/x448/float16"
)

// microBatch is one batch ready for the device.
type microBatch struct {
	bt   *batchTensors
	ntok int // real (non-padding) tokens
	// hostCopy counts the bytes copied on the host to build the image
	// input: the loader's gather copy for a shuffled batch, the padding
	// copy of a bucket's short tail, the resampled float32 images of an
	// in-memory Source; 0 for a contiguous loader batch.
	hostCopy int64
	// uploaded is the host memory the image tensor was uploaded from
	// (tests check it aliases the loader's batch).
	uploaded []byte
}

// batchStream serves the training batches and records its position in a
// checkpoint. Two implementations: permStream (a seeded permutation per
// epoch over an in-memory Source, images resampled on the host) and
// loaderStream (the shards.Loader over a model-ready corpus: bucketed by
// image shape, rank-sharded, prefetching, resumable, uploaded as stored).
type batchStream interface {
	next(ctx context.Context) (*microBatch, error)
	save(st *CheckpointState)
	close() error
}

type permStream struct {
	b   *batcher
	enc *encoder
}

func (p *permStream) next(context.Context) (*microBatch, error) {
	smps, err := p.b.next(p.enc.cfg.Batch)
	if err != nil {
		return nil, err
	}
	mb := &microBatch{}
	seqs := make([]*seq, len(smps))
	for i, s := range smps {
		seqs[i] = p.enc.encode(s)
		mb.ntok += min(len(seqs[i].tokens), p.enc.cfg.Context)
	}
	mb.bt = p.enc.hostBatch(seqs)
	if mb.bt.Images != nil {
		mb.hostCopy = int64(mb.bt.Images.Shape().Memory())
	}
	return mb, nil
}
func (p *permStream) save(st *CheckpointState) { st.Loader = p.b.state }
func (p *permStream) close() error             { return nil }

// loaderStream feeds the trainer from a shards.Loader. The loader's
// preparing goroutines tokenise each batch and build its token tensors
// (LoaderConfig.Prepare); next uploads the batch's voxel bytes as they
// are stored — the contiguous view of the mapped shard, or the loader's
// one gather copy — as one device tensor [B, N, C, D, H, W] of the stored
// dtype, then hands the batch back. Conversion to float and scaling
// happen in the graph (model.patches).
type loaderStream struct {
	l       *shards.Loader
	cfg     Config
	backend backends.Backend
	pad     []byte // reused buffer for a bucket's short tail
}

// loaderPrepared is what the loader's Prepare hook builds for a batch.
type loaderPrepared struct {
	bt   *batchTensors // tokens only; images are added by next
	ntok int
}

// openLoader opens the loader over the manifest at path, resuming from
// resume when it is not nil, and checks that every image bucket of the
// corpus fits cfg's model input (one line naming the stage to add when
// not). Batches hold cfg.Batch samples of one shape.
func openLoader(path string, cfg Config, enc *encoder, resume *shards.LoaderState) (*shards.Loader, error) {
	m, err := shards.ReadManifest(path)
	if err != nil {
		return nil, err
	}
	if _, err := checkRecorded(path, m, cfg); err != nil {
		return nil, err
	}
	lc := shards.LoaderConfig{Seed: uint64(cfg.Seed), Shuffle: true, BatchSize2D: cfg.Batch, BatchSize3D: cfg.Batch}
	if enc != nil {
		lc.Prepare = func(b *shards.Batch) (any, error) { return prepareTokens(enc, b), nil }
	}
	l, err := shards.NewLoader([]*shards.Manifest{m}, lc, resume)
	if err != nil {
		return nil, err
	}
	if err := checkFit(path, cfg, l.Buckets()); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// checkRecorded checks the model input the manifest records (the
// geometry of its pipeline's model_input stage) against cfg's before a
// shard is opened. known is false when the manifest records none (no
// model_input stage, or a manifest older than the record): then the image
// shapes the loader indexes from the shards' metadata are checked
// instead (checkFit).
func checkRecorded(manifest string, m *shards.Manifest, cfg Config) (known bool, err error) {
	if m.ModelInput == nil {
		return false, nil
	}
	if cfg.MaxImages == 0 {
		return true, nil
	}
	made := normalize.ModelInput(*m.ModelInput)
	if err := cfg.ModelInput.Accepts(made); err != nil {
		want := presetOrCustom(cfg)
		var made4 []string // presets of that geometry (small and radfm share one)
		for _, name := range PresetNames() {
			if normalize.ModelInputPresets[name] == made {
				made4 = append(made4, name)
			}
		}
		if len(made4) > 0 {
			return true, fmt.Errorf("%s: its images were made for preset %s (the manifest's model_input), which preset %s cannot take (%v): train with --preset %s, or set the pipeline's `model_input` stage to `preset: %s` and rebuild",
				manifest, strings.Join(made4, "/"), cfg.Name, err, strings.Join(made4, " or --preset "), want)
		}
		return true, fmt.Errorf("%s: its images were made for another geometry (the manifest's model_input), which preset %s cannot take (%v): set the pipeline's `model_input` stage to `preset: %s` and rebuild",
			manifest, cfg.Name, err, want)
	}
	if m.Images == 0 {
		return true, fmt.Errorf("%s: no sample has an image, but preset %s takes %d per sample: train on a corpus with images or set max_images: 0", manifest, cfg.Name, cfg.MaxImages)
	}
	return true, nil
}

// checkFit reports the first bucket whose images the model cannot take
// as stored, naming the ingest stage that makes them fit.
func checkFit(manifest string, cfg Config, buckets []shards.BucketShape) error {
	if cfg.MaxImages == 0 {
		return nil
	}
	images := 0
	for _, b := range buckets {
		switch b.Kind {
		case shards.Kind2D, shards.Kind3D:
			images += b.Samples
			if err := cfg.ModelInput.Fits(b.Channels, b.Depth, b.Height, b.Width, b.DType); err != nil {
				return fmt.Errorf("%s: %d samples have %s images %dx%dx%dx%d that preset %s cannot take (%v): add `- type: model_input` with `preset: %s` to the pipeline's stages and rebuild",
					manifest, b.Samples, b.DType, b.Channels, b.Depth, b.Height, b.Width, cfg.Name, err, presetOrCustom(cfg))
			}
		case shards.KindMixed:
			return fmt.Errorf("%s: %d samples hold images of different shapes, which no batch shape takes: add `- type: model_input` with `preset: %s` to the pipeline's stages and rebuild",
				manifest, b.Samples, presetOrCustom(cfg))
		}
	}
	if images == 0 {
		return fmt.Errorf("%s: no sample has an image, but preset %s takes %d per sample: train on a corpus with images or set max_images: 0", manifest, cfg.Name, cfg.MaxImages)
	}
	return nil
}

func presetOrCustom(cfg Config) string {
	if _, ok := normalize.ModelInputPresets[cfg.Name]; ok && cfg.ModelInput == normalize.ModelInputPresets[cfg.Name] {
		return cfg.Name
	}
	return "<a geometry file with this config's image keys>"
}

// prepareTokens encodes a loader batch's samples (on a loader goroutine)
// and pads it to cfg.Batch rows with zero-weight copies. Its strings are
// views of the mapping and the tokenizer caches words, so the text is
// cloned first.
func prepareTokens(enc *encoder, b *shards.Batch) *loaderPrepared {
	c := enc.cfg
	p := &loaderPrepared{}
	n := len(b.IDs)
	seqs := make([]*seq, 0, c.Batch)
	for i := 0; i < n; i++ {
		in := encInput{instruction: strings.Clone(b.Instructions[i]), response: strings.Clone(b.Responses[i]),
			placements: b.Placements[i], nImages: len(b.Views[i])}
		s := enc.encodeInput(&in)
		seqs = append(seqs, s)
		p.ntok += min(len(s.tokens), c.Context)
	}
	for len(seqs) < c.Batch {
		seqs = append(seqs, zeroWeight(seqs[len(seqs)%max(1, n)]))
	}
	p.bt = enc.batch(seqs, max(1, b.Shape[1]), slotsByImageIndex)
	return p
}

func (s *loaderStream) next(ctx context.Context) (*microBatch, error) {
	b, err := s.l.Next(ctx)
	if errors.Is(err, shards.ErrChecksum) {
		return nil, fmt.Errorf("%w: the shard changed after its manifest was written; rebuild it by rerunning the pipeline that wrote it (medmd shards verify MANIFEST lists every damaged file)", err)
	}
	if err != nil {
		return nil, err
	}
	defer b.Release()
	p, ok := b.Prepared.(*loaderPrepared)
	if !ok {
		return nil, fmt.Errorf("loader batch %d of epoch %d was not prepared", b.Index, b.Epoch)
	}
	mb := &microBatch{bt: p.bt, ntok: p.ntok}
	if s.cfg.MaxImages == 0 || b.Shape[1] == 0 {
		return mb, nil // a text-only batch: the graph without vision
	}
	if !b.Contiguous {
		mb.hostCopy = int64(len(b.Voxels)) // the loader's gather
	}
	vox, dims := b.Voxels, b.Shape
	if dims[0] < s.cfg.Batch {
		// A bucket's short tail: pad to the compiled batch with zeros (its
		// rows carry zero loss weight).
		per := len(vox) / dims[0]
		s.pad = growBytes(s.pad, s.cfg.Batch*per)
		copy(s.pad, vox)
		clear(s.pad[len(vox):])
		vox, dims[0] = s.pad, s.cfg.Batch
		mb.hostCopy += int64(len(s.pad))
	}
	t, err := uploadVoxels(s.backend, vox, b.DType, dims[:])
	if err != nil {
		return nil, fmt.Errorf("loader batch %d of epoch %d: %w", b.Index, b.Epoch, err)
	}
	mb.bt.Images, mb.uploaded = t, vox
	return mb, nil
}

func (s *loaderStream) save(st *CheckpointState) {
	ls := s.l.State()
	st.ShardLoader = &ls
}

func (s *loaderStream) close() error { return s.l.Close() }

// uploadVoxels hands stored voxel bytes to the backend as one tensor of
// the stored dtype, viewing the bytes as that element type in place (no
// host copy: the backend's transfer is the only one).
func uploadVoxels(backend backends.Backend, vox []byte, dt shards.DType, dims []int) (*tensors.Tensor, error) {
	gdt, flat, err := viewVoxels(vox, dt)
	if err != nil {
		return nil, err
	}
	buf, err := backend.BufferFromFlatData(0, flat, shapes.Make(gdt, dims...))
	if err != nil {
		return nil, err
	}
	return tensors.FromBuffer(backend, buf)
}

// deviceDTypes maps stored voxel dtypes to GoMLX's.
var deviceDTypes = map[shards.DType]dtypes.DType{
	shards.Uint8: dtypes.Uint8, shards.Int8: dtypes.Int8, shards.Uint16: dtypes.Uint16, shards.Int16: dtypes.Int16,
	shards.Uint32: dtypes.Uint32, shards.Int32: dtypes.Int32, shards.Uint64: dtypes.Uint64, shards.Int64: dtypes.Int64,
	shards.Float16: dtypes.Float16, shards.Float32: dtypes.Float32, shards.Float64: dtypes.Float64,
}

// viewVoxels returns vox as a slice of the GoMLX element type of dt,
// sharing its memory (voxels are little-endian, as is every host GoMLX
// runs on).
func viewVoxels(vox []byte, dt shards.DType) (dtypes.DType, any, error) {
	gdt, ok := deviceDTypes[dt]
	if !ok {
		return 0, nil, fmt.Errorf("voxel dtype %q has no device type", dt)
	}
	if len(vox) == 0 || len(vox)%dt.Size() != 0 {
		return 0, nil, fmt.Errorf("%d voxel bytes are not whole %s elements", len(vox), dt)
	}
	// INVARIANT: the loader's views start where Arrow aligned the voxel
	// buffer plus whole images, and its gather buffer is 64-byte aligned,
	// so the bytes are aligned for the element type, as shards.View needs.
	var flat any
	switch dt {
	case shards.Uint8:
		flat = vox
	case shards.Int8:
		flat = shards.View[int8](vox)
	case shards.Uint16:
		flat = shards.View[uint16](vox)
	case shards.Int16:
		flat = shards.View[int16](vox)
	case shards.Uint32:
		flat = shards.View[uint32](vox)
	case shards.Int32:
		flat = shards.View[int32](vox)
	case shards.Uint64:
		flat = shards.View[uint64](vox)
	case shards.Int64:
		flat = shards.View[int64](vox)
	case shards.Float16:
		flat = shards.View[float16.Float16](vox) // GoMLX's half type
	case shards.Float32:
		flat = shards.View[float32](vox)
	case shards.Float64:
		flat = shards.View[float64](vox)
	}
	return gdt, flat, nil
}

func growBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// zeroWeight returns a copy of s that contributes nothing to the loss.
func zeroWeight(s *seq) *seq {
	c := *s
	c.weight = make([]float32, len(s.weight))
	return &c
}
