package shards

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchBuilder turns samples into Arrow record batches of the shard
// schema. Voxels are not appended through an Arrow builder: they go into
// one reused byte buffer (one memcpy per image), or, for a batch of a
// single image, the image's own slice is wrapped without any copy.
type batchBuilder struct {
	mem memory.Allocator

	str     [numCols]*array.StringBuilder // only the string columns are used
	plc     *array.ListBuilder
	plcS    *array.StructBuilder
	imStr   [numImFields]*array.StringBuilder
	imInt   [numImFields]*array.Int32Builder
	spacing *array.FixedSizeListBuilder
	affine  *array.FixedSizeListBuilder
	tfm     *array.ListBuilder
	tfmS    *array.StructBuilder

	imgOffsets []int32 // images list offsets, one per sample + 1
	voxOffsets []int64 // voxels large_binary offsets, one per image + 1
	voxRefs    [][]byte
	data       []byte // reused gather buffer for voxels
	n          int    // samples in the pending batch
	voxBytes   int64
}

func newBatchBuilder(mem memory.Allocator) *batchBuilder {
	b := &batchBuilder{mem: mem}
	for _, c := range []int{colID, colSource, colTask, colGroup, colSplit, colLicense, colInstruction, colResponse, colMeta} {
		b.str[c] = array.NewStringBuilder(mem)
	}
	b.plc = array.NewListBuilderWithField(mem, placementsType.ElemField())
	b.plcS = b.plc.ValueBuilder().(*array.StructBuilder)
	for _, f := range []int{imModality, imPlane, imDType, imSourcePath, imSourceSHA256, imMeta} {
		b.imStr[f] = array.NewStringBuilder(mem)
	}
	for _, f := range []int{imChannels, imDepth, imHeight, imWidth} {
		b.imInt[f] = array.NewInt32Builder(mem)
	}
	b.spacing = array.NewFixedSizeListBuilderWithField(mem, 3, spacingType.ElemField())
	b.affine = array.NewFixedSizeListBuilderWithField(mem, 16, affineType.ElemField())
	b.tfm = array.NewListBuilderWithField(mem, transformsType.ElemField())
	b.tfmS = b.tfm.ValueBuilder().(*array.StructBuilder)
	b.reset()
	return b
}

func (b *batchBuilder) reset() {
	b.imgOffsets = append(b.imgOffsets[:0], 0)
	b.voxOffsets = append(b.voxOffsets[:0], 0)
	clear(b.voxRefs)
	b.voxRefs = b.voxRefs[:0]
	b.data = b.data[:0]
	b.n = 0
	b.voxBytes = 0
}

func (b *batchBuilder) release() {
	for _, s := range b.str {
		if s != nil {
			s.Release()
		}
	}
	for _, s := range b.imStr {
		if s != nil {
			s.Release()
		}
	}
	for _, s := range b.imInt {
		if s != nil {
			s.Release()
		}
	}
	b.plc.Release()
	b.spacing.Release()
	b.affine.Release()
	b.tfm.Release()
}

// canonicalJSON encodes a string map as JSON with sorted keys ("" for an
// empty map, so that most rows store nothing).
func canonicalJSON(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	// encoding/json sorts map keys.
	out, _ := json.Marshal(m)
	return string(out)
}

// validate checks what the schema cannot express.
func validate(s *Sample) error {
	if s.ID == "" {
		return fmt.Errorf("sample has no id")
	}
	for k := range s.Images {
		im := &s.Images[k]
		if im.DType.Size() == 0 {
			return fmt.Errorf("sample %s image %d: unknown dtype %q", s.ID, k, im.DType)
		}
		if im.Channels < 1 || im.Depth < 1 || im.Height < 1 || im.Width < 1 {
			return fmt.Errorf("sample %s image %d: bad dims c=%d d=%d h=%d w=%d", s.ID, k, im.Channels, im.Depth, im.Height, im.Width)
		}
		if want := im.NumVoxels() * im.DType.Size(); want != len(im.Voxels) {
			return fmt.Errorf("sample %s image %d: %d voxel bytes, dims×dtype say %d", s.ID, k, len(im.Voxels), want)
		}
		if len(im.Voxels) >= 1<<31 {
			// Parquet BYTE_ARRAY values have a 32-bit length.
			return fmt.Errorf("sample %s image %d: %d voxel bytes exceed the 2 GiB per-image limit", s.ID, k, len(im.Voxels))
		}
	}
	for _, p := range s.Placements {
		if p.Image < 0 || p.Image >= len(s.Images) {
			return fmt.Errorf("sample %s: placement points at image %d of %d", s.ID, p.Image, len(s.Images))
		}
		if p.Field != FieldInstruction && p.Field != FieldResponse {
			return fmt.Errorf("sample %s: placement field %q", s.ID, p.Field)
		}
	}
	for _, t := range []string{s.ID, s.Instruction, s.Response} {
		if !utf8.ValidString(t) {
			return fmt.Errorf("sample %s: text is not valid UTF-8", s.ID)
		}
	}
	return nil
}

func sampleVoxelBytes(s *Sample) int64 {
	var n int64
	for k := range s.Images {
		n += int64(len(s.Images[k].Voxels))
	}
	return n
}

// sampleSize estimates the bytes a sample adds to an Arrow shard.
func sampleSize(s *Sample) int64 {
	n := sampleVoxelBytes(s) + int64(len(s.ID)+len(s.Source)+len(s.Task)+len(s.Group)+len(s.Split)+len(s.License)+len(s.Instruction)+len(s.Response)) + 64
	for k := range s.Images {
		im := &s.Images[k]
		n += 19*8 + int64(len(im.SourcePath)+len(im.SourceSHA256)+len(im.Modality)+len(im.Plane)+len(im.DType))
		for _, t := range im.Transforms {
			n += int64(len(t.Name) + len(t.Params) + 8)
		}
	}
	return n
}

// add appends s. With byRef the voxel slices are kept by reference until
// the next flush (the caller flushes before returning to its caller);
// otherwise they are copied into the gather buffer now.
func (b *batchBuilder) add(s *Sample, byRef bool) {
	b.str[colID].Append(s.ID)
	b.str[colSource].Append(s.Source)
	b.str[colTask].Append(s.Task)
	b.str[colGroup].Append(s.Group)
	b.str[colSplit].Append(s.Split)
	b.str[colLicense].Append(s.License)
	b.str[colInstruction].Append(s.Instruction)
	b.str[colResponse].Append(s.Response)
	b.str[colMeta].Append(canonicalJSON(s.Meta))

	b.plc.Append(true)
	for _, p := range s.Placements {
		b.plcS.Append(true)
		b.plcS.FieldBuilder(0).(*array.Int32Builder).Append(int32(p.Image))
		b.plcS.FieldBuilder(1).(*array.StringBuilder).Append(p.Field)
		b.plcS.FieldBuilder(2).(*array.Int32Builder).Append(int32(p.Offset))
	}

	for k := range s.Images {
		im := &s.Images[k]
		b.imStr[imModality].Append(im.Modality)
		b.imStr[imPlane].Append(im.Plane)
		b.imStr[imDType].Append(string(im.DType))
		b.imInt[imChannels].Append(int32(im.Channels))
		b.imInt[imDepth].Append(int32(im.Depth))
		b.imInt[imHeight].Append(int32(im.Height))
		b.imInt[imWidth].Append(int32(im.Width))
		b.spacing.Append(true)
		b.spacing.ValueBuilder().(*array.Float64Builder).AppendValues(im.Spacing[:], nil)
		b.affine.Append(true)
		b.affine.ValueBuilder().(*array.Float64Builder).AppendValues(im.Affine[:], nil)
		b.tfm.Append(true)
		for _, t := range im.Transforms {
			b.tfmS.Append(true)
			b.tfmS.FieldBuilder(0).(*array.StringBuilder).Append(t.Name)
			b.tfmS.FieldBuilder(1).(*array.StringBuilder).Append(t.Params)
		}
		b.imStr[imSourcePath].Append(im.SourcePath)
		b.imStr[imSourceSHA256].Append(im.SourceSHA256)
		b.imStr[imMeta].Append(canonicalJSON(im.Meta))

		last := b.voxOffsets[len(b.voxOffsets)-1]
		b.voxOffsets = append(b.voxOffsets, last+int64(len(im.Voxels)))
		if byRef {
			b.voxRefs = append(b.voxRefs, im.Voxels)
		} else {
			b.gather(im.Voxels)
		}
		b.voxBytes += int64(len(im.Voxels))
	}
	b.imgOffsets = append(b.imgOffsets, b.imgOffsets[len(b.imgOffsets)-1]+int32(len(s.Images)))
	b.n++
}

// gather appends p to the gather buffer, growing it at least to
// minGather at once rather than by repeated doubling.
func (b *batchBuilder) gather(p []byte) {
	if need := len(b.data) + len(p); need > cap(b.data) {
		nb := make([]byte, len(b.data), max(need, 2*cap(b.data), minGather))
		copy(nb, b.data)
		b.data = nb
	}
	b.data = append(b.data, p...)
}

const minGather = 1 << 20

// singleRef reports whether the batch being built is one image
// referenced from the caller's slice, which build does not copy.
func (b *batchBuilder) singleRef() bool { return len(b.voxRefs) == 1 }

// build returns the pending samples as one record batch and resets the
// builder. The record borrows b's gather buffer (or the referenced voxel
// slices): it must be written and released before the next add.
func (b *batchBuilder) build() arrow.RecordBatch {
	var vox *memory.Buffer
	switch {
	case len(b.voxRefs) == 1:
		// INVARIANT: a single referenced image is written straight from
		// the caller's slice; no copy.
		vox = memory.NewBufferBytes(b.voxRefs[0])
	case len(b.voxRefs) > 1:
		for _, r := range b.voxRefs {
			b.gather(r)
		}
		vox = memory.NewBufferBytes(b.data)
	default:
		vox = memory.NewBufferBytes(b.data)
	}
	nImages := len(b.voxOffsets) - 1
	voxData := array.NewData(arrow.BinaryTypes.LargeBinary, nImages,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(slices.Clone(b.voxOffsets))), vox}, nil, 0, 0)

	children := make([]arrow.ArrayData, numImFields)
	var toRelease []arrow.Array
	arr := func(bl array.Builder) arrow.ArrayData {
		a := bl.NewArray()
		toRelease = append(toRelease, a)
		return a.Data()
	}
	for f := 0; f < numImFields; f++ {
		switch {
		case b.imStr[f] != nil:
			children[f] = arr(b.imStr[f])
		case b.imInt[f] != nil:
			children[f] = arr(b.imInt[f])
		}
	}
	children[imVoxels] = voxData
	children[imSpacing] = arr(b.spacing)
	children[imAffine] = arr(b.affine)
	children[imTransforms] = arr(b.tfm)
	structData := array.NewData(imageType, nImages, []*memory.Buffer{nil}, children, 0, 0)
	listData := array.NewData(imagesType, b.n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(slices.Clone(b.imgOffsets)))},
		[]arrow.ArrayData{structData}, 0, 0)
	images := array.MakeFromData(listData)
	voxData.Release()
	structData.Release()
	listData.Release()

	cols := make([]arrow.Array, numCols)
	for c := 0; c < numCols; c++ {
		switch {
		case c == colPlacements:
			cols[c] = b.plc.NewArray()
		case c == colImages:
			cols[c] = images
		default:
			cols[c] = b.str[c].NewArray()
		}
	}
	rec := array.NewRecordBatch(schema, cols, int64(b.n))
	for _, c := range cols {
		c.Release()
	}
	for _, a := range toRelease {
		a.Release()
	}
	b.reset()
	return rec
}
