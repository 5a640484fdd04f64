package dicom

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// ReadOptions control how a series becomes images.
type ReadOptions struct {
	// Canonical reorients each volume to closest-canonical RAS (as
	// nibabel.as_closest_canonical) after assembly.
	Canonical bool
	// MaxVoxels rejects a series with more voxels (all volumes, channels)
	// before allocating; 0 means DefaultMaxVoxels.
	MaxVoxels int64
	// MaxInflatedBytes bounds one deflated file after inflation; 0 means
	// DefaultMaxInflatedBytes.
	MaxInflatedBytes int64
	// Hash sets SourceSHA256 to the SHA-256 of the series' file bytes in
	// reading order (files in slice order, archive members in archive
	// order).
	Hash bool
	// Workers bounds the goroutines decoding a series' files at once
	// (each holds one file and one decoded frame besides the volume);
	// 0 means GOMAXPROCS. Hashing (Hash) reads files one at a time.
	Workers int
}

// DefaultMaxVoxels bounds one series (2 Gi voxels).
const DefaultMaxVoxels = 1 << 31

// ReadSeries decodes a scanned series into one image per volume (several
// for 4D series). Files are decoded on up to ReadOptions.Workers
// goroutines (archives in one pass, one member at a time), each file
// straight into the volume buffer (frame by frame; deflated files
// inflated as they are decoded), so peak memory is the volume in its
// stored type, plus one file and its decoder's working buffers per
// worker, plus its output type when that is wider (float32 for varying
// rescale), plus one copy for a canonical reorientation that permutes
// axes (flips are done in place). The output does not depend on the
// number of workers, nor does the error: the first in slice order.
//
// Monochrome values are rescaled (RescaleSlope/Intercept: Hounsfield units
// for CT) into the smallest integer type holding the result when every
// slice shares an integral rescale, else float32. PALETTE COLOR and YBR are
// converted to RGB channels. MONOCHROME1 is kept as stored and recorded in
// Meta["photometric"] (display code inverts it).
func ReadSeries(ctx context.Context, s *Series, o ReadOptions) ([]*shards.Image, error) {
	h0 := s.Header()
	rows, cols, spp := h0.Rows, h0.Columns, h0.SamplesPerPixel
	dt, err := storedDType(h0.BitsAllocated, h0.PixelRep)
	if err != nil {
		return nil, err
	}
	bps := dt.Size()
	n := len(s.Slices)
	limit := o.MaxVoxels
	if limit <= 0 {
		limit = DefaultMaxVoxels
	}
	if int64(n)*int64(rows)*int64(cols)*int64(spp) > limit {
		return nil, fmt.Errorf("series %s: %d×%d×%d×%d voxels exceed the limit %d", s.ID, n, rows, cols, spp, limit)
	}
	fb := rows * cols * spp * bps
	stored := make([]byte, n*fb)
	slots := map[string][][2]int{} // ref → (frame, slot)
	hdrs := map[string]*Header{}
	for i, sl := range s.Slices {
		k := sl.Ref.String()
		slots[k] = append(slots[k], [2]int{sl.Frame, i})
		hdrs[k] = sl.Hdr
	}
	// Per-slice value range, taken while each slice is hot in cache, so
	// rescaling can pick its output type without another pass.
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	// int16 data with one integral rescale is range-checked while the
	// intercept is added (see addInt16Checked): no min/max pass needed.
	fastI16 := dt == shards.Int16 && spp == 1 && s.integralRescale()
	needRange := spp == 1 && !fastI16
	photometric := ""
	hash := sha256.New()
	refs := s.Refs()
	if !o.Hash {
		// Fast path: native single-frame files whose stored values need no
		// masking or swapping are read straight into the volume.
		type job struct {
			path string
			off  int64
			dst  []byte
		}
		var rest []Ref
		var jobs []job
		for _, r := range refs {
			k := r.String()
			h := hdrs[k]
			fs := slots[k]
			if r.Member != "" || len(fs) != 1 || fs[0][0] != 0 || !directReadable(h, fb) {
				rest = append(rest, r)
				continue
			}
			jobs = append(jobs, job{r.Path, h.PixelOffset, stored[fs[0][1]*fb : (fs[0][1]+1)*fb]})
			if photometric == "" {
				photometric = h.Photometric
			}
		}
		// Independent reads into disjoint slots: a small worker pool.
		var mu sync.Mutex
		var firstErr error
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < min(runtime.GOMAXPROCS(0)*2, len(jobs), 16); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, h := int64(math.MaxInt64), int64(math.MinInt64)
				for {
					i := int(next.Add(1) - 1)
					if i >= len(jobs) || ctx.Err() != nil {
						break
					}
					j := jobs[i]
					if err := readAt(j.path, j.off, j.dst); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						break
					}
					if needRange {
						a, b := minMax(j.dst, dt)
						l, h = min(l, a), max(h, b)
					}
				}
				mu.Lock()
				lo, hi = min(lo, l), max(hi, h)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if firstErr == nil {
			firstErr = ctx.Err()
		}
		if firstErr != nil {
			return nil, fmt.Errorf("series %s: %w", s.ID, firstErr)
		}
		refs = rest
	}
	// Files are decoded on several goroutines (see decodeRefs): the value
	// range and photometric are merged under rmu, and the photometric is
	// the one of the earliest file in reading order, as when decoding one
	// file at a time.
	var rmu sync.Mutex
	phFrom := -1 // reading-order index photometric came from; -1: none, or a direct read
	order := make(map[string]int, len(refs))
	for i, r := range refs {
		order[r.String()] = i
	}
	widenRange := func(dst []byte) {
		if !needRange {
			return
		}
		l, h := minMax(dst, dt)
		rmu.Lock()
		lo, hi = min(lo, l), max(hi, h)
		rmu.Unlock()
	}
	setPhotometric := func(ref Ref, ph string) {
		rmu.Lock()
		defer rmu.Unlock()
		if i := order[ref.String()]; ph != "" && (photometric == "" || phFrom > i) {
			photometric, phFrom = ph, i
		}
	}
	decodeRef := func(ref Ref, data []byte, err error) error {
		if err != nil {
			return err
		}
		if o.Hash {
			hash.Write(data)
		}
		f, err := parseWith(ref.String(), data, true, parseOpts{mode: parseStream, known: hdrs[ref.String()], maxInflated: o.MaxInflatedBytes})
		if err != nil {
			return err
		}
		if f.Rows != rows || f.Columns != cols || f.SamplesPerPixel != spp || f.BitsAllocated != h0.BitsAllocated || f.PixelRep != h0.PixelRep {
			return &Error{Path: ref.String(), Reason: fmt.Sprintf("image %dx%dx%d/%d bits differs from the series' %dx%dx%d/%d", f.Columns, f.Rows, f.SamplesPerPixel, f.BitsAllocated, cols, rows, spp, h0.BitsAllocated)}
		}
		fs := slots[ref.String()]
		if f.FrameCount() == 1 && len(fs) == 1 && fs[0][0] == 0 {
			// The common case: decode straight into the volume.
			dst := stored[fs[0][1]*fb : (fs[0][1]+1)*fb]
			ph, err := f.decodeInto(dst)
			if err != nil {
				return err
			}
			widenRange(dst)
			setPhotometric(ref, ph)
			return nil
		}
		if !f.Encapsulated {
			// Native frames go straight to their slots (a multi-frame
			// file is never decoded whole beside the volume).
			byFrame := map[int][]int{}
			for _, fs := range fs {
				if fs[0] >= f.FrameCount() {
					return &Error{Path: ref.String(), Reason: fmt.Sprintf("frame %d missing", fs[0])}
				}
				byFrame[fs[0]] = append(byFrame[fs[0]], fs[1])
			}
			ph, err := f.decodeFramesInto(func(i int) []byte {
				if sl, ok := byFrame[i]; ok {
					return stored[sl[0]*fb : (sl[0]+1)*fb]
				}
				return nil
			})
			if err != nil {
				return err
			}
			setPhotometric(ref, ph)
			for _, sl := range byFrame {
				for _, k := range sl[1:] {
					copy(stored[k*fb:(k+1)*fb], stored[sl[0]*fb:(sl[0]+1)*fb])
				}
			}
			for _, fs := range fs {
				widenRange(stored[fs[1]*fb : (fs[1]+1)*fb])
			}
			return nil
		}
		p, err := f.Pixels()
		if err != nil {
			return err
		}
		setPhotometric(ref, p.Photometric)
		for _, fs := range fs {
			if fs[0] >= p.Frames {
				return &Error{Path: ref.String(), Reason: fmt.Sprintf("frame %d missing", fs[0])}
			}
			dst := stored[fs[1]*fb : (fs[1]+1)*fb]
			copy(dst, p.Frame(fs[0]))
			widenRange(dst)
		}
		return nil
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if o.Hash {
		// The hash is over the files' bytes in reading order.
		workers = 1
	}
	err = decodeRefs(ctx, refs, workers, decodeRef)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", s.ID, err)
	}
	if m := s.Mosaic; m != nil {
		stored = m.unpack(stored, len(s.Slices), bps)
		rows, cols = m.Rows, m.Cols
	}
	plane := rows * cols
	vox := s.Depth * plane // voxels per channel per volume
	var imgs []*shards.Image
	switch {
	case photometric == "PALETTE COLOR" && spp == 1:
		if h0.Palette == nil {
			return nil, fmt.Errorf("series %s: PALETTE COLOR without a usable palette", s.ID)
		}
		for v := 0; v < s.Volumes; v++ {
			im := s.newImage(h0, 3)
			im.DType, im.Voxels = applyPalette(stored[v*vox*bps:(v+1)*vox*bps], dt, h0.Palette)
			imgs = append(imgs, im)
		}
	case spp == 3:
		if photometric == "YBR_FULL" {
			if dt != shards.Uint8 {
				return nil, fmt.Errorf("series %s: YBR_FULL with %s samples not supported", s.ID, dt)
			}
			ybrToRGB(stored)
		}
		for v := 0; v < s.Volumes; v++ {
			im := s.newImage(h0, 3)
			im.DType = dt
			im.Voxels = deinterleave(stored[v*vox*3*bps:(v+1)*vox*3*bps], 3, bps)
			imgs = append(imgs, im)
		}
	case spp == 1:
		if fastI16 {
			b := int64(s.Slices[0].Geom.Intercept)
			if b == 0 || addInt16Checked(stored, b) {
				for v := 0; v < s.Volumes; v++ {
					im := s.newImage(h0, 1)
					im.DType = shards.Int16
					im.Voxels = stored[v*vox*2 : (v+1)*vox*2 : (v+1)*vox*2]
					imgs = append(imgs, im)
				}
				break
			}
			lo, hi = minMax(stored, dt) // overflowed and undone: widen
		}
		odt, out, err := s.rescale(stored, dt, lo, hi)
		if err != nil {
			return nil, err
		}
		for v := 0; v < s.Volumes; v++ {
			im := s.newImage(h0, 1)
			im.DType = odt
			sz := odt.Size()
			im.Voxels = out[v*vox*sz : (v+1)*vox*sz : (v+1)*vox*sz]
			imgs = append(imgs, im)
		}
	default:
		return nil, fmt.Errorf("series %s: %d samples per pixel not supported", s.ID, spp)
	}
	sum := ""
	if o.Hash {
		sum = hex.EncodeToString(hash.Sum(nil))
	}
	for v, im := range imgs {
		im.SourceSHA256 = sum
		if photometric != "" {
			im.Meta["photometric"] = photometric
		}
		if photometric == "MONOCHROME1" {
			// Values stay as stored (rescaled); whatever maps them to
			// display intensities must invert (min is white).
			im.Meta["invert_for_display"] = "true"
		}
		s.diffusionMeta(v, im.Meta)
		if s.Volumes > 1 {
			im.Meta["volume"] = strconv.Itoa(v)
			im.Meta["volumes"] = strconv.Itoa(s.Volumes)
			// Slices of volume v carry their own positions; the affine of
			// volume 0 applies (same positions by construction).
		}
		if o.Canonical {
			if err := normalize.CanonicalOwned(im); err != nil {
				return nil, fmt.Errorf("series %s: %w", s.ID, err)
			}
			// In canonical RAS the k slices are axial whatever the
			// acquisition plane, which stays in Meta.
			if im.Plane != "" {
				im.Meta["acquisition_plane"] = im.Plane
			}
			im.Plane = "axial"
		}
	}
	return imgs, nil
}

// decodeRefs calls decode with each ref's bytes like ReadRefs, but with
// plain files on up to workers goroutines (each with its own read buffer,
// so one file in memory per worker); archive members follow, one at a
// time in one pass per archive. decode must be safe to call concurrently
// for different refs. The error returned is the one ReadRefs would
// return: the first in reading order. Files are handed out in that order
// and none is started after an error, so every file before a failed one
// has been decoded when the workers stop.
func decodeRefs(ctx context.Context, refs []Ref, workers int, decode func(ref Ref, data []byte, err error) error) error {
	var plain, members []Ref
	for _, r := range refs {
		if r.Member == "" {
			plain = append(plain, r)
		} else {
			members = append(members, r)
		}
	}
	workers = min(workers, len(plain))
	if workers <= 1 {
		return ReadRefs(ctx, refs, decode)
	}
	var (
		mu       sync.Mutex
		errAt    = len(plain) // index of the first failed file
		firstErr error
		failed   atomic.Bool
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(plain) {
					return
				}
				err := ctx.Err()
				if err == nil {
					r := plain[i]
					data, rerr := readRef(r, func() (io.ReadCloser, error) { return os.Open(r.Path) }, &buf)
					err = decode(r, data, rerr)
				}
				if err != nil {
					mu.Lock()
					if i < errAt {
						errAt, firstErr = i, err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if len(members) == 0 {
		return nil
	}
	return ReadRefs(ctx, members, decode)
}

// directReadable reports whether a file's pixel data can be read as is
// into the volume: native little-endian single frame, grey or interleaved
// colour, 8/16/32 bits with nothing to mask.
func directReadable(h *Header, fb int) bool {
	if h == nil || h.PixelOffset < 0 || h.Encapsulated || h.FrameCount() != 1 || int64(h.PixelLength) < int64(fb) ||
		h.TransferSyntax == ExplicitVRBigEndian || h.BitsAllocated < 8 || h.Photometric == "YBR_FULL_422" ||
		(h.SamplesPerPixel > 1 && h.PlanarConfiguration == 1) || h.CanDecode() != nil {
		return false
	}
	shift, width := maskParams(h, h.BitsAllocated/8)
	return shift == 0 && width == h.BitsAllocated
}

// readAt reads len(dst) bytes at off of the file at path.
func readAt(path string, off int64, dst []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadAt(dst, off); err != nil {
		return &Error{Path: path, Reason: "reading pixel data", Err: err}
	}
	return nil
}

// newImage fills the geometry and metadata common to every volume.
func (s *Series) newImage(h *Header, channels int) *shards.Image {
	im := &shards.Image{
		Modality: h.Modality,
		Plane:    s.Plane(),
		Channels: channels,
		Depth:    s.Depth,
		Height:   h.Rows,
		Width:    h.Columns,
		Spacing:  s.Spacing,
		Affine:   s.Affine,
		Meta:     s.Meta(),
	}
	if m := s.Mosaic; m != nil {
		im.Height, im.Width = m.Rows, m.Cols
	}
	if len(s.Slices) > 0 {
		im.SourcePath = s.Slices[0].Ref.String()
	}
	return im
}

// Meta is the series metadata stored on images and in sidecars. Patient
// names are never included; the patient id only hashed.
func (s *Series) Meta() map[string]string {
	h := s.Header()
	m := map[string]string{}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			m[k] = v
		}
	}
	num := func(k string, v float64) {
		if v != 0 {
			m[k] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	set("modality", h.Modality)
	set("body_part", h.BodyPart)
	set("series_description", h.SeriesDescription)
	set("protocol_name", h.ProtocolName)
	set("manufacturer", h.Manufacturer)
	set("manufacturer_model", h.ManufacturerModel)
	set("kvp", h.KVP)
	set("window_center", h.WindowCenter)
	set("window_width", h.WindowWidth)
	set("convolution_kernel", h.ConvolutionKernel)
	// UIDs as keyed 2.25 UIDs (PS3.15 Annex E replaces them): the same
	// study or series still groups, the original is not recoverable.
	set("study_instance_uid", PseudoUID(h.StudyInstanceUID))
	set("series_instance_uid", PseudoUID(h.SeriesInstanceUID))
	set("frame_of_reference_uid", PseudoUID(h.FrameOfReferenceUID))
	set("transfer_syntax", h.TransferSyntax)
	set("image_type", strings.Join(h.ImageType, `\`))
	set("rescale_type", h.RescaleType)
	if h.PatientID != "" {
		// The group's pseudonym (keyed HMAC when MEDMD_PSEUDONYM_KEY is
		// set); the key name stays for corpora built before the key.
		m["patient_id_sha256"] = shards.Pseudonym("patient", h.PatientID)
	}
	if h.SeriesNumber != 0 {
		m["series_number"] = strconv.Itoa(h.SeriesNumber)
	}
	num("slice_thickness", h.SliceThickness)
	num("spacing_between_slices", h.SpacingBetweenSlices)
	num("echo_time", h.EchoTime)
	num("repetition_time", h.RepetitionTime)
	num("flip_angle", h.FlipAngle)
	num("magnetic_field_strength", h.MagneticField)
	num("gantry_tilt", h.GantryTilt)
	if h.HasRescale {
		m["rescale_slope"] = strconv.FormatFloat(h.RescaleSlope, 'g', -1, 64)
		m["rescale_intercept"] = strconv.FormatFloat(h.RescaleIntercept, 'g', -1, 64)
	}
	m["images"] = strconv.Itoa(len(s.Refs()))
	if s.Mosaic != nil {
		m["mosaic_images"] = strconv.Itoa(s.Mosaic.Images)
	}
	if len(s.Warnings) > 0 {
		m["warnings"] = strings.Join(s.Warnings, "; ")
	}
	return m
}

// rescale applies each slice's RescaleSlope/Intercept. With one integral
// rescale for all slices it stays integer (in place when the result fits a
// type of the stored size), else the output is float32.
// integralRescale reports whether every slice has slope 1 and the same
// integral intercept.
func (s *Series) integralRescale() bool {
	inter := s.Slices[0].Geom.Intercept
	if inter != math.Trunc(inter) || math.Abs(inter) >= 1<<15 {
		return false
	}
	for _, sl := range s.Slices {
		if sl.Geom.Slope != 1 || sl.Geom.Intercept != inter {
			return false
		}
	}
	return true
}

// addInt16Checked adds b to every little-endian int16 in buf, four lanes
// per 64-bit word, and reports whether no lane overflowed; on overflow it
// restores buf and returns false. Chunks run in parallel.
func addInt16Checked(buf []byte, b int64) bool {
	const hb = 0x8000800080008000
	d := uint64(uint16(b)) * 0x0001000100010001
	nd := uint64(uint16(-b)) * 0x0001000100010001
	add := func(w []uint64, d uint64) uint64 {
		var ovf uint64
		for i, x := range w {
			r := ((x &^ hb) + (d &^ hb)) ^ ((x ^ d) & hb)
			ovf |= (x ^ r) & (d ^ r)
			w[i] = r
		}
		return ovf & hb
	}
	if !isLE {
		return false
	}
	w := shards.View[uint64](buf)
	tail := buf[len(w)*8:]
	parts := min(runtime.GOMAXPROCS(0), 8, max(1, len(w)>>16))
	ovfs := make([]uint64, parts)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			ovfs[p] = add(w[p*len(w)/parts:(p+1)*len(w)/parts], d)
		}(p)
	}
	wg.Wait()
	ok := true
	for _, o := range ovfs {
		ok = ok && o == 0
	}
	for i := 0; i+1 < len(tail); i += 2 {
		v := int64(int16(binary.LittleEndian.Uint16(tail[i:]))) + b
		ok = ok && v >= math.MinInt16 && v <= math.MaxInt16
		binary.LittleEndian.PutUint16(tail[i:], uint16(v))
	}
	if !ok {
		add(w, nd) // wrapping subtraction restores every lane
		for i := 0; i+1 < len(tail); i += 2 {
			binary.LittleEndian.PutUint16(tail[i:], uint16(int64(int16(binary.LittleEndian.Uint16(tail[i:])))-b))
		}
	}
	return ok
}

func (s *Series) rescale(stored []byte, dt shards.DType, lo, hi int64) (shards.DType, []byte, error) {
	slope, inter := s.Slices[0].Geom.Slope, s.Slices[0].Geom.Intercept
	uniform := true
	for _, sl := range s.Slices {
		if sl.Geom.Slope != slope || sl.Geom.Intercept != inter {
			uniform = false
			break
		}
	}
	if uniform && slope == 1 && inter == math.Trunc(inter) && math.Abs(inter) < 1<<30 {
		b := int64(inter)
		lo, hi = lo+b, hi+b
		for _, cand := range candidates(dt) {
			cl, ch := rangeOf(cand)
			if lo < cl || hi > ch {
				continue
			}
			if cand.Size() == dt.Size() {
				addInPlace(stored, dt, b)
				return cand, stored, nil
			}
			return cand, widen(stored, dt, cand, b), nil
		}
	}
	if !uniform && len(s.Slices) > 1 {
		s.warn("rescale slope/intercept vary between slices: float32 volume")
	}
	plane := len(stored) / len(s.Slices) / dt.Size()
	out := make([]byte, len(s.Slices)*plane*4)
	for i, sl := range s.Slices {
		toFloat32(out[i*plane*4:(i+1)*plane*4], stored[i*plane*dt.Size():(i+1)*plane*dt.Size()], dt, sl.Geom.Slope, sl.Geom.Intercept)
	}
	return shards.Float32, out, nil
}

// candidates lists output types to try, smallest first, stored type first.
func candidates(dt shards.DType) []shards.DType {
	switch dt {
	case shards.Uint8:
		return []shards.DType{shards.Uint8, shards.Int8, shards.Int16, shards.Int32}
	case shards.Int8:
		return []shards.DType{shards.Int8, shards.Uint8, shards.Int16, shards.Int32}
	case shards.Uint16:
		return []shards.DType{shards.Uint16, shards.Int16, shards.Int32}
	case shards.Int16:
		return []shards.DType{shards.Int16, shards.Uint16, shards.Int32}
	case shards.Uint32:
		return []shards.DType{shards.Uint32, shards.Int32, shards.Int64}
	}
	return []shards.DType{shards.Int32, shards.Uint32, shards.Int64}
}

func rangeOf(dt shards.DType) (int64, int64) {
	switch dt {
	case shards.Uint8:
		return 0, math.MaxUint8
	case shards.Int8:
		return math.MinInt8, math.MaxInt8
	case shards.Uint16:
		return 0, math.MaxUint16
	case shards.Int16:
		return math.MinInt16, math.MaxInt16
	case shards.Uint32:
		return 0, math.MaxUint32
	case shards.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// at reads element i of a little-endian buffer of type dt.
func at(b []byte, dt shards.DType, i int) int64 {
	switch dt {
	case shards.Uint8:
		return int64(b[i])
	case shards.Int8:
		return int64(int8(b[i]))
	case shards.Uint16:
		return int64(binary.LittleEndian.Uint16(b[2*i:]))
	case shards.Int16:
		return int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case shards.Uint32:
		return int64(binary.LittleEndian.Uint32(b[4*i:]))
	default:
		return int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
}

// isLE is true on little-endian hosts, where typed views of the buffers
// are valid.
var isLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func minMax(b []byte, dt shards.DType) (int64, int64) {
	if isLE {
		switch dt {
		case shards.Int16:
			return minMaxT(shards.View[int16](b))
		case shards.Uint16:
			return minMaxT(shards.View[uint16](b))
		case shards.Uint8:
			return minMaxT(b)
		}
	}
	n := len(b) / dt.Size()
	if n == 0 {
		return 0, 0
	}
	lo, hi := at(b, dt, 0), at(b, dt, 0)
	for i := 1; i < n; i++ {
		v := at(b, dt, i)
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

type integer interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32
}

func minMaxT[T integer](x []T) (int64, int64) {
	if len(x) == 0 {
		return 0, 0
	}
	// Four independent accumulators let the loop run without a
	// dependency chain per element.
	l0, l1, l2, l3 := x[0], x[0], x[0], x[0]
	h0, h1, h2, h3 := x[0], x[0], x[0], x[0]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b, c, d := x[i], x[i+1], x[i+2], x[i+3]
		l0, h0 = min(l0, a), max(h0, a)
		l1, h1 = min(l1, b), max(h1, b)
		l2, h2 = min(l2, c), max(h2, c)
		l3, h3 = min(l3, d), max(h3, d)
	}
	for ; i < len(x); i++ {
		l0, h0 = min(l0, x[i]), max(h0, x[i])
	}
	return int64(min(l0, l1, l2, l3)), int64(max(h0, h1, h2, h3))
}

// addInPlace adds b to every element, reinterpreting to a type of the
// same size (the caller checked the results fit).
func addInPlace(buf []byte, dt shards.DType, b int64) {
	if b == 0 {
		return
	}
	if isLE && (dt == shards.Int16 || dt == shards.Uint16) {
		// SWAR: four 16-bit lanes per 64-bit word, carries kept in lane.
		const hb = 0x8000800080008000
		d := uint64(uint16(b)) * 0x0001000100010001
		w := shards.View[uint64](buf)
		for i, x := range w {
			w[i] = ((x &^ hb) + (d &^ hb)) ^ ((x ^ d) & hb)
		}
		x := shards.View[uint16](buf[len(w)*8:])
		for i := range x {
			x[i] += uint16(b)
		}
		return
	}
	switch dt.Size() {
	case 1:
		for i := range buf {
			buf[i] = byte(int64(at(buf, dt, i)) + b)
		}
	case 2:
		for i := 0; i < len(buf)/2; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(at(buf, dt, i)+b))
		}
	case 4:
		for i := 0; i < len(buf)/4; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(at(buf, dt, i)+b))
		}
	}
}

// widen converts to a larger integer type adding b.
func widen(buf []byte, dt, out shards.DType, b int64) []byte {
	n := len(buf) / dt.Size()
	o := make([]byte, n*out.Size())
	for i := 0; i < n; i++ {
		v := at(buf, dt, i) + b
		switch out.Size() {
		case 2:
			binary.LittleEndian.PutUint16(o[2*i:], uint16(v))
		case 4:
			binary.LittleEndian.PutUint32(o[4*i:], uint32(v))
		case 8:
			binary.LittleEndian.PutUint64(o[8*i:], uint64(v))
		}
	}
	return o
}

func toFloat32(dst, src []byte, dt shards.DType, slope, inter float64) {
	n := len(src) / dt.Size()
	for i := 0; i < n; i++ {
		f := float32(float64(at(src, dt, i))*slope + inter)
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f))
	}
}

// deinterleave turns pixel-interleaved samples into channel planes.
func deinterleave(b []byte, ch, bps int) []byte {
	n := len(b) / (ch * bps)
	out := make([]byte, len(b))
	for i := 0; i < n; i++ {
		for c := 0; c < ch; c++ {
			copy(out[(c*n+i)*bps:(c*n+i+1)*bps], b[(i*ch+c)*bps:(i*ch+c+1)*bps])
		}
	}
	return out
}

// ybrToRGB converts YBR_FULL 8-bit samples to RGB in place with the
// equations of PS3.3 §C.7.6.3.1.2, in float32 with floor(x+0.5) and
// clipping, exactly as pydicom's convert_color_space.
func ybrToRGB(b []byte) {
	const (
		gcb = float32(-0.114 * 1.772 / 0.587)
		gcr = float32(-0.299 * 1.402 / 0.587)
	)
	for i := 0; i+2 < len(b); i += 3 {
		y := float32(b[i])
		cb := float32(b[i+1]) - 128
		cr := float32(b[i+2]) - 128
		b[i] = clip8(y + float32(1.402)*cr)
		b[i+1] = clip8(y + gcb*cb + gcr*cr)
		b[i+2] = clip8(y + float32(1.772)*cb)
	}
}

func clip8(v float32) byte {
	v = float32(math.Floor(float64(v + 0.5)))
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// applyPalette maps stored indices through a PALETTE COLOR LUT into RGB
// channel planes: uint8 for 8-bit tables, uint16 otherwise (as pydicom's
// apply_color_lut). Indices below the first mapped value take the first
// entry, above the table the last (PS3.3 §C.7.6.3.1.5).
func applyPalette(b []byte, dt shards.DType, p *Palette) (shards.DType, []byte) {
	n := len(b) / dt.Size()
	out8 := p.Bits == 8
	odt := shards.Uint16
	if out8 {
		odt = shards.Uint8
	}
	out := make([]byte, 3*n*odt.Size())
	luts := [3][]uint16{p.R, p.G, p.B}
	for i := 0; i < n; i++ {
		idx := int(at(b, dt, i)) - p.First
		for c, lut := range luts {
			j := min(max(idx, 0), len(lut)-1)
			v := lut[j]
			if out8 {
				out[c*n+i] = byte(v)
			} else {
				binary.LittleEndian.PutUint16(out[2*(c*n+i):], v)
			}
		}
	}
	return odt, out
}
