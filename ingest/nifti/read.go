package nifti

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strings"
	"unsafe"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var errUnexpectedEOF = io.ErrUnexpectedEOF

// DefaultMaxVoxels bounds the voxels one read may materialise when
// Options.MaxVoxels is 0: 2^29 voxels (a 512×512×2048 CT) — 4 GiB of float64.
const DefaultMaxVoxels = 1 << 29

// maxDeflateRatio is the most a deflate stream can expand (258 bytes from
// 2 bits, about 1032:1); a gzip file of n bytes can never inflate to more
// than n·1032 plus its member headers.
const maxDeflateRatio = 1032

// Options control a read.
type Options struct {
	// MaxVoxels caps the voxels (all channels, all volumes read) one read
	// may allocate; 0 means DefaultMaxVoxels. Checked against the header's
	// claims before any voxel buffer is allocated.
	MaxVoxels int64
	// AllVolumes reads every volume along t of a 4D file; otherwise only
	// the first.
	AllVolumes bool
}

// Result is what a read returns.
type Result struct {
	Header *Header
	// Orientation is the input's io_orientation; Codes() gives e.g. "LAS".
	Orientation normalize.Orientation
	// NumVolumes is the number of volumes along t in the file (1 for 3D).
	NumVolumes int
	// Images holds one canonical RAS+ image per volume read, in t order.
	// Each owns its Voxels (the volumes of a gzipped file inflated in one
	// piece may share one backing array, each slice capped at its own
	// length). Modality, SourcePath and SourceSHA256 are left for the
	// caller.
	Images []*shards.Image
}

// ReadFile reads a .nii, .nii.gz, .hdr/.img or .hdr.gz/.img.gz image (gzip
// is detected by its magic bytes, not the suffix) and returns its volumes
// reoriented to canonical RAS+.
//
// Voxel values follow the rule documented at convertVolume. Errors are
// *Error values naming path; truncated data wraps io.ErrUnexpectedEOF.
func ReadFile(ctx context.Context, path string, opt Options) (*Result, error) {
	hf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer hf.Close()
	hr, hsize, hgz, err := openStream(path, hf)
	if err != nil {
		return nil, err
	}
	h, err := readHeader(path, hr)
	if err != nil {
		return nil, err
	}
	if h.Single {
		return readData(ctx, path, h, hr, int64(h.HeaderSize()), streamCap(hsize, hgz), hgz, opt)
	}
	img := pairedImage(path)
	if img == "" {
		return nil, errf(path, -1, nil, "header of a .hdr/.img pair (magic ni1/ni2) but the name does not end in .hdr or .hdr.gz")
	}
	df, err := os.Open(img)
	if err != nil {
		return nil, errf(path, -1, err, "opening the image file of the pair")
	}
	defer df.Close()
	dr, dsize, dgz, err := openStream(img, df)
	if err != nil {
		return nil, err
	}
	return readData(ctx, img, h, dr, 0, streamCap(dsize, dgz), dgz, opt)
}

// Decode reads a single-file image (.nii or gzipped .nii) held in memory;
// name is used in errors. It is the fuzzing entry point.
func Decode(ctx context.Context, name string, data []byte, opt Options) (*Result, error) {
	r, size, gz, err := openMemory(name, data)
	if err != nil {
		return nil, err
	}
	h, err := readHeader(name, r)
	if err != nil {
		return nil, err
	}
	if !h.Single {
		return nil, errf(name, 344, ErrUnsupported, "header of a .hdr/.img pair cannot be decoded on its own")
	}
	return readData(ctx, name, h, r, int64(h.HeaderSize()), streamCap(size, gz), gz, opt)
}

// openMemory is openStream over a file held in memory; a gzipped one
// keeps data so that it is inflated from memory rather than re-read.
func openMemory(name string, data []byte) (io.Reader, int64, bool, error) {
	r, size, gz, err := openStream(name, bytes.NewReader(data))
	if err != nil {
		return nil, 0, false, err
	}
	if g, ok := r.(*gzipStream); ok {
		g.data = data
	}
	return r, size, gz, nil
}

// pairedImage maps x.hdr → x.img and x.hdr.gz → x.img.gz (keeping case).
func pairedImage(path string) string {
	l := strings.ToLower(path)
	switch {
	case strings.HasSuffix(l, ".hdr.gz"):
		return path[:len(path)-7] + swapCase(path[len(path)-7:len(path)-3], ".img") + path[len(path)-3:]
	case strings.HasSuffix(l, ".hdr"):
		return path[:len(path)-4] + swapCase(path[len(path)-4:], ".img")
	}
	return ""
}

func swapCase(like, s string) string {
	if like == strings.ToUpper(like) {
		return strings.ToUpper(s)
	}
	return s
}

// streamCap is the most bytes a stream can yield: the file size, or for
// gzip the file size times the deflate ratio.
func streamCap(size int64, gz bool) int64 {
	if !gz {
		return size
	}
	if size > math.MaxInt64/maxDeflateRatio {
		return math.MaxInt64
	}
	return size*maxDeflateRatio + 1<<16
}

type statReader interface {
	io.Reader
	Stat() (os.FileInfo, error)
}

// openStream returns a reader of the decompressed content of f, the size of
// f, and whether it is gzipped.
func openStream(name string, f io.Reader) (io.Reader, int64, bool, error) {
	var size int64 = -1
	switch s := f.(type) {
	case statReader:
		if fi, err := s.Stat(); err == nil {
			size = fi.Size()
		}
	case *bytes.Reader:
		size = s.Size()
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, 0, false, errf(name, 0, err, "bad gzip header")
		}
		if ra, ok := f.(io.ReaderAt); ok && size >= 0 {
			return &gzipStream{Reader: zr, src: ra, size: size}, size, true, nil
		}
		return zr, size, true, nil
	}
	return br, size, false, nil
}

// readHeader reads exactly one header (348 or 540 bytes) from r.
func readHeader(name string, r io.Reader) (*Header, error) {
	var buf [hdrSize2]byte
	if _, err := io.ReadFull(r, buf[:4]); err != nil {
		return nil, errf(name, 0, eofAsUnexpected(err), "reading sizeof_hdr")
	}
	_, size, _, ok := headerVersion(buf[:4])
	if !ok {
		return nil, errf(name, 0, nil, "not NIfTI: sizeof_hdr is neither 348 nor 540 in either byte order")
	}
	if n, err := io.ReadFull(r, buf[4:size]); err != nil {
		return nil, errf(name, int64(4+n), eofAsUnexpected(err), "header truncated")
	}
	return ParseHeader(name, buf[:size])
}

func eofAsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// geometry validates dims and returns the 3D shape and the number of
// volumes along t, each dimension bounded. 1D/2D images get trailing axes
// of length 1 (nibabel cannot canonicalise those at all); dims 5–7 must be 1.
func (h *Header) geometry(name string) (shape [3]int, nvols int, err error) {
	n := h.Dim[0]
	if n < 1 || n > 7 {
		return shape, 0, errf(name, -1, nil, "dim[0] = %d is outside 1..7", n)
	}
	shape = [3]int{1, 1, 1}
	nvols = 1
	const maxDim = 1 << 31
	for i := int64(1); i <= n; i++ {
		d := h.Dim[i]
		if d < 1 || d > maxDim {
			return shape, 0, errf(name, -1, nil, "dim[%d] = %d is outside 1..%d", i, d, int64(maxDim))
		}
		switch {
		case i <= 3:
			shape[i-1] = int(d)
		case i == 4:
			nvols = int(d)
		case d != 1:
			return shape, 0, errf(name, -1, ErrUnsupported, "%dD image (dim[%d] = %d): only 3D and 4D are read", n, i, d)
		}
	}
	return shape, nvols, nil
}

// readData validates the header's claims against limit and the stream size,
// skips to vox_offset (consumed bytes were already read) and converts the
// volumes.
func readData(ctx context.Context, name string, h *Header, r io.Reader, consumed, streamMax int64, gz bool, opt Options) (*Result, error) {
	if !littleEndianHost {
		return nil, errf(name, -1, ErrUnsupported, "medmd reads NIfTI on little-endian hosts only")
	}
	info, ok := dtypes[h.Datatype]
	if !ok {
		return nil, errf(name, 70, ErrUnsupported, "datatype %s", h.DatatypeName())
	}
	shape, nvols, err := h.geometry(name)
	if err != nil {
		return nil, err
	}
	slope, inter, err := h.Scaling()
	if err != nil {
		return nil, errf(name, -1, nil, "%v", err)
	}
	aff, err := h.Affine()
	if err != nil {
		return nil, errf(name, -1, nil, "%v", err)
	}
	orient, err := normalize.OrientationOf(aff)
	if err != nil {
		return nil, errf(name, -1, nil, "%v", err)
	}
	limit := opt.MaxVoxels
	if limit <= 0 {
		limit = DefaultMaxVoxels
	}
	// Every product below is of numbers ≤ 2^31 checked one at a time, so
	// nothing overflows int64 before it is compared.
	vox := int64(1)
	for _, d := range shape {
		vox *= int64(d)
		if vox > limit {
			return nil, errf(name, -1, ErrTooLarge, "a volume of %v voxels exceeds the limit of %d", shape, limit)
		}
	}
	readVols := 1
	if opt.AllVolumes {
		readVols = nvols
	}
	if vox*int64(info.channels)*int64(readVols) > limit {
		return nil, errf(name, -1, ErrTooLarge, "%d volume(s) of %v voxels × %d channel(s) exceed the limit of %d voxels", readVols, shape, info.channels, limit)
	}
	volBytes := vox * int64(info.size)
	if streamMax >= 0 {
		// The whole claimed series must fit in what the file can hold, even
		// when only the first volume is read: a header that lies is bad input.
		if h.VoxOffset > streamMax || (streamMax-h.VoxOffset)/volBytes < int64(nvols) {
			return nil, errf(name, -1, ErrTooLarge, "header claims %d bytes of voxels at offset %d but the file can hold at most %d bytes", volBytes*int64(nvols), h.VoxOffset, streamMax)
		}
	}
	if h.VoxOffset < consumed {
		return nil, errf(name, -1, nil, "vox_offset %d lies inside the %d-byte header", h.VoxOffset, consumed)
	}
	// A gzipped file read whole is inflated in one call when libdeflate is
	// there (inflate.go); all is nil otherwise and the stream is read.
	var all []byte
	if g, ok := r.(*gzipStream); ok && readVols == nvols {
		all = g.inflateAll(name, h.VoxOffset+volBytes*int64(nvols))
	}
	if all == nil {
		if err := skip(r, h.VoxOffset-consumed); err != nil {
			return nil, errf(name, consumed, eofAsUnexpected(err), "skipping to vox_offset %d", h.VoxOffset)
		}
	}
	res := &Result{Header: h, Orientation: orient, NumVolumes: nvols}
	canonAff := orient.CanonicalAffine(aff, shape)
	var spacing [3]float64
	for a, m := range orient {
		spacing[m.Axis] = math.Abs(h.Pixdim[a+1])
	}
	tr := canonicalTransform(orient)
	scaled := slope != 1 || inter != 0
	for v := 0; v < readVols; v++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var raw []byte
		if all != nil {
			raw = volumeOf(all, h.VoxOffset+int64(v)*volBytes, volBytes, info.size)
		} else {
			raw = make([]byte, volBytes)
			if n, err := io.ReadFull(r, raw); err != nil {
				return nil, errf(name, h.VoxOffset+int64(v)*volBytes+int64(n), eofAsUnexpected(err), "volume %d of %d truncated", v, nvols)
			}
		}
		im := convertVolume(raw, h, info, scaled, slope, inter, orient, shape)
		im.Spacing = spacing
		im.Affine = canonAff
		im.Transforms = []shards.Transform{tr}
		res.Images = append(res.Images, im)
	}
	if gz && readVols == nvols && all == nil {
		// Read on to the gzip trailer so a corrupt or cut stream (CRC,
		// length) is caught; trailing bytes past 1 MiB are not inflated.
		if _, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20)); err != nil {
			return nil, errf(name, -1, eofAsUnexpected(err), "gzip stream after the voxel data")
		}
	}
	return res, nil
}

// volumeOf returns the n bytes of a volume at off in an inflated file,
// capped so that no append reaches the next volume. The slice is used in
// place (the image's Voxels may be it) when it is aligned for its element
// size, as shards.View needs; otherwise it is copied to a fresh allocation.
func volumeOf(all []byte, off, n int64, size int) []byte {
	raw := all[off : off+n : off+n]
	if size > 1 && uintptr(unsafe.Pointer(&raw[0]))%uintptr(min(size, 8)) != 0 {
		raw = bytes.Clone(raw)
	}
	return raw
}

func skip(r io.Reader, n int64) error {
	if n == 0 {
		return nil
	}
	if s, ok := r.(io.Seeker); ok {
		_, err := s.Seek(n, io.SeekCurrent)
		return err
	}
	m, err := io.CopyN(io.Discard, r, n)
	if err == nil && m < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// canonicalTransform records the reorientation: for each canonical axis
// (i, j, k) the input axis it came from and whether it was reversed, plus
// the input's axis codes.
func canonicalTransform(o normalize.Orientation) shards.Transform {
	var p struct {
		Flip [3]bool `json:"flip"`
		From string  `json:"from"`
		Perm [3]int  `json:"perm"`
	}
	for a, m := range o {
		p.Perm[m.Axis] = a
		p.Flip[m.Axis] = m.Flip
	}
	p.From = o.Codes()
	b, _ := json.Marshal(p) // fields declared in sorted order
	return shards.Transform{Name: "canonical_ras", Params: string(b)}
}

var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// swapBytes reverses every size-byte element of b in place.
func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		s := shards.View[uint16](b)
		for i, v := range s {
			s[i] = bits.ReverseBytes16(v)
		}
	case 4:
		s := shards.View[uint32](b)
		for i, v := range s {
			s[i] = bits.ReverseBytes32(v)
		}
	case 8:
		s := shards.View[uint64](b)
		for i, v := range s {
			s[i] = bits.ReverseBytes64(v)
		}
	}
}

// convertVolume turns one volume's raw bytes (file byte order, i fastest)
// into a canonical image. raw is consumed (it may become the image's
// Voxels or be modified in place).
//
// The stored dtype follows nibabel (arrayproxy.py, volumeutils.py
// apply_read_scaling):
//   - without scaling (scl_slope zero or non-finite, or slope 1 and inter 0)
//     voxels keep the file's datatype, as np.asanyarray(img.dataobj);
//   - with scaling, values are get_fdata()'s: float64(raw)·slope + inter in
//     float64 (the intercept is added only when non-zero, the product taken
//     only when slope ≠ 1, as nibabel does, so -0 survives). They are stored
//     as float32 — one rounding of nibabel's value — except for raw float64
//     and (u)int32/(u)int64, kept as float64 because float32 would lose
//     values nibabel keeps;
//   - RGB24 / RGBA32 become 3 / 4 uint8 channel planes; scaling does not
//     apply to them (nibabel cannot scale structured dtypes either).
func convertVolume(raw []byte, h *Header, info dtypeInfo, scaled bool, slope, inter float64, o normalize.Orientation, shape [3]int) *shards.Image {
	out := o.CanonicalShape(shape)
	im := &shards.Image{Channels: 1, Width: out[0], Height: out[1], Depth: out[2]}
	nvox := shape[0] * shape[1] * shape[2]
	if info.channels > 1 {
		im.Channels = info.channels
		im.DType = shards.Uint8
		vox := make([]byte, nvox*info.channels)
		plane := make([]byte, nvox)
		for c := 0; c < info.channels; c++ {
			for i := range plane {
				plane[i] = raw[i*info.channels+c]
			}
			if o.IsIdentity() {
				copy(vox[c*nvox:], plane)
			} else {
				normalize.Reorient(vox[c*nvox:(c+1)*nvox], plane, o, shape)
			}
		}
		im.Voxels = vox
		return im
	}
	if h.ByteOrder != binary.LittleEndian {
		swapBytes(raw, info.size)
	}
	if !scaled {
		im.DType = shards.DType(info.name)
		im.Voxels = normalize.ReorientBytes(raw, info.size, o, shape)
		return im
	}
	if info.wide {
		im.DType = shards.Float64
		f := make([]byte, nvox*8)
		scaleInto(shards.View[float64](f), raw, info, slope, inter)
		im.Voxels = normalize.ReorientBytes(f, 8, o, shape)
	} else {
		im.DType = shards.Float32
		f := make([]byte, nvox*4)
		scaleInto(shards.View[float32](f), raw, info, slope, inter)
		im.Voxels = normalize.ReorientBytes(f, 4, o, shape)
	}
	return im
}

// scaleInto writes slope·x + inter for every raw (little-endian) element.
func scaleInto[F float32 | float64](dst []F, raw []byte, info dtypeInfo, slope, inter float64) {
	switch info.name {
	case "uint8":
		scaleSlice(dst, raw, slope, inter)
	case "int8":
		scaleSlice(dst, shards.View[int8](raw), slope, inter)
	case "int16":
		scaleSlice(dst, shards.View[int16](raw), slope, inter)
	case "uint16":
		scaleSlice(dst, shards.View[uint16](raw), slope, inter)
	case "int32":
		scaleSlice(dst, shards.View[int32](raw), slope, inter)
	case "uint32":
		scaleSlice(dst, shards.View[uint32](raw), slope, inter)
	case "int64":
		scaleSlice(dst, shards.View[int64](raw), slope, inter)
	case "uint64":
		scaleSlice(dst, shards.View[uint64](raw), slope, inter)
	case "float32":
		scaleSlice(dst, shards.View[float32](raw), slope, inter)
	case "float64":
		scaleSlice(dst, shards.View[float64](raw), slope, inter)
	}
}

func scaleSlice[F float32 | float64, T int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | float32 | float64](dst []F, src []T, slope, inter float64) {
	// The explicit float64(...) conversions forbid fusing into an FMA, which
	// would round differently from numpy's separate multiply and add.
	switch {
	case slope != 1 && inter != 0:
		for i, x := range src {
			dst[i] = F(float64(float64(x)*slope) + inter)
		}
	case slope != 1:
		for i, x := range src {
			dst[i] = F(float64(x) * slope)
		}
	default:
		for i, x := range src {
			dst[i] = F(float64(x) + inter)
		}
	}
}

// String gives a one-line summary, e.g. "NIfTI-1 int16 33×41×25 LAS".
func (r *Result) String() string {
	s := r.Header.Shape()
	dims := make([]string, len(s))
	for i, d := range s {
		dims[i] = fmt.Sprint(d)
	}
	return fmt.Sprintf("NIfTI-%d %s %s %s", r.Header.Version, r.Header.DatatypeName(), strings.Join(dims, "×"), r.Orientation.Codes())
}
