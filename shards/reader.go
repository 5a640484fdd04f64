package shards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"golang.org/x/sys/unix"
)

// Shard is one memory-mapped Arrow IPC part file. Samples and voxel views
// it returns alias the mapping: they stay valid until Close, after which
// touching them faults. A Shard is safe for concurrent readers; Close
// must not race with them.
type Shard struct {
	path    string
	data    []byte // the mapping
	r       *ipc.FileReader
	batches []batchCols
	starts  []int // first row of each batch, plus the total at the end
	closed  atomic.Bool
}

// batchCols holds the typed columns of one record batch.
type batchCols struct {
	rec        arrow.RecordBatch
	str        [numCols]*array.String
	placements *array.List
	plcImage   *array.Int32
	plcField   *array.String
	plcOffset  *array.Int32
	images     *array.List
	imStr      [numImFields]*array.String
	imInt      [numImFields]*array.Int32
	voxels     *array.LargeBinary
	spacing    *array.Float64
	affine     *array.Float64
	tfm        *array.List
	tfmName    *array.String
	tfmParams  *array.String
}

// OpenShard maps an Arrow IPC shard read-only and reads its footer and
// record batch metadata; voxel bytes are never copied. It checks the
// schema version recorded in the file.
func OpenShard(path string) (*Shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil, fmt.Errorf("%s: bad size %d", path, fi.Size())
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	s := &Shard{path: path, data: data}
	if err := s.init(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Shard) init() (err error) {
	defer func() {
		// arrow-go panics on some malformed inputs; a shard is untrusted
		// input, so turn that into an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed Arrow file: %v", r)
		}
	}()
	if err := checkFooter(s.data); err != nil {
		return err
	}
	s.r, err = ipc.NewMappedFileReader(s.data)
	if err != nil {
		return err
	}
	md := s.r.Schema().Metadata()
	// Versions 1 and 2 share the Arrow columns (they differ in what the
	// Parquet part holds), so one decoder reads both.
	v, _ := md.GetValue(MetaSchemaVersion)
	if n, err := strconv.Atoi(v); err != nil || !readableVersion(n) {
		return fmt.Errorf("schema version %q, this medmd reads %d to %d", v, oldestSchemaVersion, SchemaVersion)
	}
	if !s.r.Schema().Equal(schema) {
		return errors.New("schema does not match the medmd sample schema")
	}
	n := s.r.NumRecords()
	s.batches = make([]batchCols, n)
	s.starts = make([]int, n+1)
	for i := 0; i < n; i++ {
		rec, err := s.r.RecordBatchAt(i)
		if err != nil {
			return fmt.Errorf("record batch %d: %w", i, err)
		}
		// Every row costs at least a 4-byte offset in the id column, so
		// a row count above len/4 is a lie (and would make loops over
		// Len spin on errors).
		if rec.NumRows() < 0 || rec.NumRows() > int64(len(s.data)/4) {
			rec.Release()
			return fmt.Errorf("record batch %d: %d rows in a %d-byte file", i, rec.NumRows(), len(s.data))
		}
		for c := 0; c < int(rec.NumCols()); c++ {
			if int64(rec.Column(c).Len()) != rec.NumRows() {
				rec.Release()
				return fmt.Errorf("record batch %d: column %d has %d rows, batch %d", i, c, rec.Column(c).Len(), rec.NumRows())
			}
		}
		if err := s.batches[i].bind(rec); err != nil {
			return fmt.Errorf("record batch %d: %w", i, err)
		}
		s.starts[i+1] = s.starts[i] + int(rec.NumRows())
	}
	return nil
}

func (b *batchCols) bind(rec arrow.RecordBatch) (err error) {
	b.rec = rec
	for c := 0; c < numCols; c++ {
		if a, ok := rec.Column(c).(*array.String); ok {
			b.str[c] = a
		}
	}
	b.placements = rec.Column(colPlacements).(*array.List)
	ps := b.placements.ListValues().(*array.Struct)
	b.plcImage = ps.Field(0).(*array.Int32)
	b.plcField = ps.Field(1).(*array.String)
	b.plcOffset = ps.Field(2).(*array.Int32)
	b.images = rec.Column(colImages).(*array.List)
	is := b.images.ListValues().(*array.Struct)
	for f := 0; f < numImFields; f++ {
		switch a := is.Field(f).(type) {
		case *array.String:
			b.imStr[f] = a
		case *array.Int32:
			b.imInt[f] = a
		}
	}
	b.voxels = is.Field(imVoxels).(*array.LargeBinary)
	b.spacing = is.Field(imSpacing).(*array.FixedSizeList).ListValues().(*array.Float64)
	b.affine = is.Field(imAffine).(*array.FixedSizeList).ListValues().(*array.Float64)
	b.tfm = is.Field(imTransforms).(*array.List)
	ts := b.tfm.ListValues().(*array.Struct)
	b.tfmName = ts.Field(0).(*array.String)
	b.tfmParams = ts.Field(1).(*array.String)
	// Check every offset once (O(rows), no voxel bytes touched) so that
	// row access cannot run off the mapped buffers of a corrupt file.
	type validator interface{ ValidateFull() error }
	for _, a := range []validator{b.placements, b.images, b.voxels, b.tfm, b.plcField, b.tfmName, b.tfmParams} {
		if err := a.ValidateFull(); err != nil {
			return err
		}
	}
	for _, a := range b.str {
		if a != nil {
			if err := a.ValidateFull(); err != nil {
				return err
			}
		}
	}
	for _, a := range b.imStr {
		if a != nil {
			if err := a.ValidateFull(); err != nil {
				return err
			}
		}
	}
	if err := checkLengths(rec.Column(colPlacements)); err != nil {
		return err
	}
	if err := checkLengths(rec.Column(colImages)); err != nil {
		return err
	}
	if b.spacing.Len() < 3*b.voxels.Len() || b.affine.Len() < 16*b.voxels.Len() {
		return errors.New("spacing/affine shorter than the image count")
	}
	for _, a := range b.imInt {
		if a != nil && a.Len() < b.voxels.Len() {
			return errors.New("image dims shorter than the image count")
		}
	}
	return nil
}

// checkLengths checks that nested children are at least as long as
// their parents claim, so that row access cannot index past them.
func checkLengths(a arrow.Array) error {
	switch a := a.(type) {
	case *array.List:
		return checkLengths(a.ListValues())
	case *array.FixedSizeList:
		n := int(a.DataType().(*arrow.FixedSizeListType).Len())
		if a.ListValues().Len() < (a.Data().Offset()+a.Len())*n {
			return errors.New("fixed-size list values too short")
		}
		return checkLengths(a.ListValues())
	case *array.Struct:
		for f := 0; f < a.NumField(); f++ {
			if a.Field(f).Len() < a.Len() {
				return fmt.Errorf("struct field %d has %d rows, struct %d", f, a.Field(f).Len(), a.Len())
			}
			if err := checkLengths(a.Field(f)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Path is the file the shard was opened from.
func (s *Shard) Path() string { return s.path }

// Len is the number of samples in the shard.
func (s *Shard) Len() int { return s.starts[len(s.starts)-1] }

// Mapping returns the whole mapped file (read-only; valid until Close).
// Tests use it to prove that voxel views alias the file.
func (s *Shard) Mapping() []byte { return s.data }

// locate returns the batch and the row inside it of sample i.
func (s *Shard) locate(i int) (*batchCols, int, error) {
	if i < 0 || i >= s.Len() {
		return nil, 0, fmt.Errorf("%s: sample %d out of range [0,%d)", s.path, i, s.Len())
	}
	if s.closed.Load() {
		return nil, 0, fmt.Errorf("%s: shard is closed", s.path)
	}
	b := sort.Search(len(s.starts)-1, func(k int) bool { return s.starts[k+1] > i })
	return &s.batches[b], i - s.starts[b], nil
}

// ID returns sample i's id without decoding the rest of the row.
func (s *Shard) ID(i int) (string, error) {
	b, r, err := s.locate(i)
	if err != nil {
		return "", err
	}
	return cstr(b.str[colID], r), nil
}

// Sample decodes sample i. Strings are copied onto the Go heap; each
// Image.Voxels aliases the mapping and is valid until Close (copy it to
// keep it longer). Image and placement slices are freshly allocated.
func (s *Shard) Sample(i int) (_ Sample, err error) {
	defer func() {
		// Lengths and offsets were validated at open; this is a last
		// guard so a corrupt shard is an error, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: sample %d: malformed shard: %v", s.path, i, r)
		}
	}()
	b, r, err := s.locate(i)
	if err != nil {
		return Sample{}, err
	}
	out := Sample{
		ID:          cstr(b.str[colID], r),
		Source:      cstr(b.str[colSource], r),
		Task:        cstr(b.str[colTask], r),
		Group:       cstr(b.str[colGroup], r),
		Split:       cstr(b.str[colSplit], r),
		License:     cstr(b.str[colLicense], r),
		Instruction: cstr(b.str[colInstruction], r),
		Response:    cstr(b.str[colResponse], r),
	}
	if out.Meta, err = parseMeta(b.str[colMeta].Value(r)); err != nil {
		return Sample{}, fmt.Errorf("%s: sample %d meta: %w", s.path, i, err)
	}
	p0, p1 := b.placements.ValueOffsets(r)
	if p1 > p0 {
		out.Placements = make([]Placement, 0, p1-p0)
		for p := int(p0); p < int(p1); p++ {
			out.Placements = append(out.Placements, Placement{
				Image: int(b.plcImage.Value(p)), Field: cstr(b.plcField, p), Offset: int(b.plcOffset.Value(p)),
			})
		}
	}
	i0, i1 := b.images.ValueOffsets(r)
	if i1 > i0 {
		out.Images = make([]Image, i1-i0)
		for k := int(i0); k < int(i1); k++ {
			if err := b.image(k, &out.Images[k-int(i0)]); err != nil {
				return Sample{}, fmt.Errorf("%s: sample %d image %d: %w", s.path, i, k-int(i0), err)
			}
		}
	}
	return out, nil
}

// image decodes image row k of the batch into im.
func (b *batchCols) image(k int, im *Image) error {
	im.Modality = cstr(b.imStr[imModality], k)
	im.Plane = cstr(b.imStr[imPlane], k)
	im.DType = internDType(b.imStr[imDType].Value(k))
	im.Channels = int(b.imInt[imChannels].Value(k))
	im.Depth = int(b.imInt[imDepth].Value(k))
	im.Height = int(b.imInt[imHeight].Value(k))
	im.Width = int(b.imInt[imWidth].Value(k))
	// Value returns a sub-slice of the mapped data buffer: no copy.
	im.Voxels = b.voxels.Value(k)
	copy(im.Spacing[:], b.spacing.Float64Values()[3*k:3*k+3])
	copy(im.Affine[:], b.affine.Float64Values()[16*k:16*k+16])
	t0, t1 := b.tfm.ValueOffsets(k)
	for t := int(t0); t < int(t1); t++ {
		im.Transforms = append(im.Transforms, Transform{Name: cstr(b.tfmName, t), Params: cstr(b.tfmParams, t)})
	}
	im.SourcePath = cstr(b.imStr[imSourcePath], k)
	im.SourceSHA256 = cstr(b.imStr[imSourceSHA256], k)
	var err error
	if im.Meta, err = parseMeta(b.imStr[imMeta].Value(k)); err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	if im.DType.Size() == 0 || im.Channels < 1 || im.Depth < 1 || im.Height < 1 || im.Width < 1 ||
		len(im.Voxels) != im.NumVoxels()*im.DType.Size() {
		return fmt.Errorf("dims %dx%dx%dx%d %s do not match %d voxel bytes", im.Channels, im.Depth, im.Height, im.Width, im.DType, len(im.Voxels))
	}
	return nil
}

// cstr copies a string out of the mapping: arrow-go's String.Value
// aliases the buffer, and strings must outlive Close.
func cstr(a *array.String, i int) string { return strings.Clone(a.Value(i)) }

// internDType maps a stored dtype name to the package constant without
// allocating (the stored string aliases the mapping).
func internDType(s string) DType {
	for _, d := range []DType{Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64, Float16, Float32, Float64} {
		if string(d) == s {
			return d
		}
	}
	return DType(strings.Clone(s))
}

func parseMeta(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Close releases the record batches and unmaps the file. Samples and
// views obtained from the shard must not be used afterwards.
func (s *Shard) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	for i := range s.batches {
		if s.batches[i].rec != nil {
			s.batches[i].rec.Release()
		}
	}
	s.batches = nil
	if s.r != nil {
		s.r.Close()
	}
	if s.data != nil {
		return unix.Munmap(s.data)
	}
	return nil
}

// ImageView is the header and voxel bytes of one stored image, read
// without allocating. Voxels aliases the mapping: valid until Close.
type ImageView struct {
	DType                          DType
	Channels, Depth, Height, Width int
	Voxels                         []byte
}

// NumImages returns how many images sample i has.
func (s *Shard) NumImages(i int) (int, error) {
	b, r, err := s.locate(i)
	if err != nil {
		return 0, err
	}
	i0, i1 := b.images.ValueOffsets(r)
	return int(i1 - i0), nil
}

// Image returns image k of sample i as a view; it does not allocate.
func (s *Shard) Image(i, k int) (ImageView, error) {
	b, r, err := s.locate(i)
	if err != nil {
		return ImageView{}, err
	}
	i0, i1 := b.images.ValueOffsets(r)
	if k < 0 || int64(k) >= i1-i0 {
		return ImageView{}, fmt.Errorf("%s: sample %d has no image %d", s.path, i, k)
	}
	j := int(i0) + k
	v := ImageView{
		DType:    internDType(b.imStr[imDType].Value(j)),
		Channels: int(b.imInt[imChannels].Value(j)),
		Depth:    int(b.imInt[imDepth].Value(j)),
		Height:   int(b.imInt[imHeight].Value(j)),
		Width:    int(b.imInt[imWidth].Value(j)),
		Voxels:   b.voxels.Value(j),
	}
	if v.DType.Size() == 0 || v.Channels < 1 || v.Depth < 1 || v.Height < 1 || v.Width < 1 ||
		len(v.Voxels) != v.Channels*v.Depth*v.Height*v.Width*v.DType.Size() {
		return ImageView{}, fmt.Errorf("%s: sample %d image %d: dims do not match %d voxel bytes", s.path, i, k, len(v.Voxels))
	}
	return v, nil
}
