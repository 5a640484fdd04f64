package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/medmd/medmd/ingest/dicom/codec/jpeg12"
	"github.com/medmd/medmd/ingest/dicom/codec/jpeg2000"
	"github.com/medmd/medmd/ingest/dicom/codec/jpegls"
	"github.com/medmd/medmd/ingest/dicom/jpegll"
	"github.com/medmd/medmd/shards"
)

// maxPixelBytes bounds the decoded pixel data of one file.
const maxPixelBytes = 4 << 30

// maxExpansion bounds decoded/compressed size for encapsulated data.
const maxExpansion = 1024

// nativeBytes is the size native pixel data must have (PS3.5 §8.1.1).
func nativeBytes(p *PixelArray, h *Header) int64 {
	n := int64(p.Frames) * int64(p.Rows) * int64(p.Cols) * int64(p.Samples)
	switch {
	case h.BitsAllocated == 1:
		return (n + 7) / 8
	case h.Photometric == "YBR_FULL_422" && p.Samples == 3:
		return n / 3 * 2 * int64(h.BitsAllocated/8)
	}
	return n * int64(h.BitsAllocated/8)
}

// PixelArray holds decoded stored pixel values exactly as pydicom's
// pixel_array lays them out: frames × rows × columns × samples, samples
// interleaved (planar data is interleaved), little-endian.
//
// Values are the stored values after the masking medmd applies everywhere
// (and documents in testdata/make_golden.py): bits outside BitsStored
// (below HighBit) are cleared and signed data are sign-extended from
// BitsStored. DType follows BitsAllocated and PixelRepresentation:
// 1 → uint8 (unpacked LSB first), 8 → (u)int8, 16 → (u)int16,
// 32 → (u)int32. YBR_FULL_422 native data are upsampled to full YBR.
// JPEG baseline colour frames come out as RGB (the JPEG decoder applies the
// colour transform), as pydicom+gdcm does.
type PixelArray struct {
	Frames, Rows, Cols, Samples int
	DType                       shards.DType
	Data                        []byte
	// Photometric is the interpretation of Data (RGB after a JPEG colour
	// transform, YBR_FULL after 4:2:2 upsampling, else the header's).
	Photometric string
}

// frameBytes is the size of one decoded frame.
func (p *PixelArray) frameBytes() int { return p.Rows * p.Cols * p.Samples * p.DType.Size() }

// Frame returns the bytes of frame i (aliasing Data).
func (p *PixelArray) Frame(i int) []byte {
	n := p.frameBytes()
	return p.Data[i*n : (i+1)*n]
}

// storedDType maps BitsAllocated and PixelRepresentation to a dtype.
func storedDType(bitsAlloc, pixelRep int) (shards.DType, error) {
	signed := pixelRep == 1
	switch bitsAlloc {
	case 1:
		return shards.Uint8, nil
	case 8:
		if signed {
			return shards.Int8, nil
		}
		return shards.Uint8, nil
	case 16:
		if signed {
			return shards.Int16, nil
		}
		return shards.Uint16, nil
	case 32:
		if signed {
			return shards.Int32, nil
		}
		return shards.Uint32, nil
	}
	return "", fmt.Errorf("BitsAllocated %d not supported (1, 8, 16, 32)", bitsAlloc)
}

// CanDecode reports whether medmd can decode this file's pixels, and why
// not.
func (h *Header) CanDecode() error {
	if !h.HasPixels {
		return errors.New("no pixel data")
	}
	if !Decodable(h.TransferSyntax) {
		return unsupported(h.TransferSyntax)
	}
	if h.Rows <= 0 || h.Columns <= 0 {
		return fmt.Errorf("bad image size %dx%d", h.Columns, h.Rows)
	}
	if _, err := storedDType(h.BitsAllocated, h.PixelRep); err != nil {
		return err
	}
	if h.SamplesPerPixel != 1 && h.SamplesPerPixel != 3 {
		return fmt.Errorf("SamplesPerPixel %d not supported (1 or 3)", h.SamplesPerPixel)
	}
	return nil
}

// Pixels decodes every frame of the file.
func (f *File) Pixels() (*PixelArray, error) {
	p, err := f.pixels()
	if err != nil {
		return nil, &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	return p, nil
}

func (f *File) pixels() (*PixelArray, error) {
	if err := f.CanDecode(); err != nil {
		return nil, err
	}
	dt, _ := storedDType(f.BitsAllocated, f.PixelRep)
	p := &PixelArray{Frames: f.FrameCount(), Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt, Photometric: f.Photometric}
	total := int64(p.Frames) * int64(p.Rows) * int64(p.Cols) * int64(p.Samples) * int64(dt.Size())
	if total > maxPixelBytes || total <= 0 {
		return nil, fmt.Errorf("%d frames of %dx%dx%d would need %d bytes (limit %d)", p.Frames, p.Cols, p.Rows, p.Samples, total, int64(maxPixelBytes))
	}
	if !f.Encapsulated {
		if err := f.checkNative(p); err != nil {
			return nil, err
		}
		p.Data = make([]byte, total)
		fb := p.frameBytes()
		ph, err := f.nativeFrames(func(i int) []byte { return p.Data[i*fb : (i+1)*fb] })
		if err != nil {
			return nil, err
		}
		p.Photometric = ph
		return p, nil
	}
	// No codec here expands data more than ~1000× (JPEG's best case is one
	// bit per 8×8 block); a header claiming more is lying.
	if total > int64(len(f.ds)-f.pix.valueOff)*maxExpansion+1<<20 {
		return nil, fmt.Errorf("%d compressed bytes cannot hold %d decoded bytes", len(f.ds)-f.pix.valueOff, total)
	}
	var frames [][]byte
	var err error
	if eot, ok := extendedOffsets(f.ds[:f.pix.hdrOff], f.sx, p.Frames); ok {
		frames, err = eotFrames(f.ds[f.pix.valueOff:], eot)
	} else {
		frames, err = encapsulatedFrames(f.ds[f.pix.valueOff:], f.FrameCount(), f.TransferSyntax)
	}
	if err != nil {
		return nil, err
	}
	if len(frames) < p.Frames {
		return nil, fmt.Errorf("encapsulated pixel data holds %d frames, header says %d", len(frames), p.Frames)
	}
	p.Data = make([]byte, total)
	if err := decodeFrames(frames[:p.Frames], p, &f.Header, runtime.GOMAXPROCS(0)); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeFrames decodes frames into p.Data on up to workers goroutines: the
// frames of a multi-frame file are independent codestreams, so a
// multi-frame JPEG-LS or JPEG 2000 file decodes in about 1/cores of the
// time. Each worker decodes with its own copy of p (the codecs may set
// Photometric, e.g. RGB after a JPEG colour transform); frame 0's value is
// kept, as every frame of a file has the same coding. The error of the
// lowest failing frame is returned, as a sequential decode would.
func decodeFrames(frames [][]byte, p *PixelArray, h *Header, workers int) error {
	n := len(frames)
	workers = max(1, min(workers, n))
	fb := p.frameBytes()
	errs := make([]error, n)
	photo := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				q := *p
				errs[i] = decodeFrame(frames[i], p.Data[i*fb:(i+1)*fb], &q, h)
				photo[i] = q.Photometric
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
	}
	p.Photometric = photo[0]
	return nil
}

const (
	tagExtendedOffsetTable        = 0x7FE00001
	tagExtendedOffsetTableLengths = 0x7FE00002
)

// frameSpan is one frame's place in encapsulated pixel data per the
// Extended Offset Table: the offset of its fragment's item tag from the
// first fragment's item tag, and the length of its encoded bytes.
type frameSpan struct{ off, n uint64 }

// extendedOffsets reads the Extended Offset Table (7FE0,0001) and its
// Lengths (7FE0,0002) from the top-level elements in hdr (the dataset
// before Pixel Data). ok is false when either is absent or they do not
// hold one 64-bit value per frame; the fragments are then split as
// without them.
func extendedOffsets(hdr []byte, sx syntax, nframes int) (spans []frameSpan, ok bool) {
	var offs, lens []byte
	for off := 0; off < len(hdr); {
		h, err := readHeader(hdr, off, sx)
		if err != nil {
			return nil, false
		}
		if h.vl != undefinedLength && off+h.hdrLen+int(h.vl) <= len(hdr) {
			v := hdr[off+h.hdrLen : off+h.hdrLen+int(h.vl)]
			switch h.tag {
			case tagExtendedOffsetTable:
				offs = v
			case tagExtendedOffsetTableLengths:
				lens = v
			}
		}
		next, err := skipValue(hdr, off+h.hdrLen, h, sx, 0)
		if err != nil {
			return nil, false
		}
		off = next
	}
	if nframes < 1 || len(offs) != 8*nframes || len(lens) != 8*nframes {
		return nil, false
	}
	spans = make([]frameSpan, nframes)
	for i := range spans {
		spans[i] = frameSpan{sx.bo.Uint64(offs[8*i:]), sx.bo.Uint64(lens[8*i:])}
	}
	return spans, true
}

// eotFrames splits encapsulated pixel data b with the Extended Offset
// Table: PS3.3 C.7.6.3.1.8 requires an empty Basic Offset Table and each
// frame in one fragment, at spans[i].off from the first fragment's item
// tag and spans[i].n bytes long. Every span is checked against the
// fragment it points at.
func eotFrames(b []byte, spans []frameSpan) ([][]byte, error) {
	if len(b) < 8 || binary.LittleEndian.Uint32(b) != tagItemLE {
		return nil, errors.New("encapsulated pixel data does not start with an item")
	}
	if bot := binary.LittleEndian.Uint32(b[4:]); bot != 0 {
		return nil, fmt.Errorf("extended offset table with a %d-byte basic offset table (must be empty)", bot)
	}
	base := uint64(8)
	out := make([][]byte, len(spans))
	for i, s := range spans {
		at := base + s.off
		if at+8 < at || at+8 > uint64(len(b)) || binary.LittleEndian.Uint32(b[at:]) != tagItemLE {
			return nil, fmt.Errorf("extended offset table entry %d (%d) points at no fragment", i, s.off)
		}
		vl := uint64(binary.LittleEndian.Uint32(b[at+4:]))
		if s.n > vl || at+8+vl > uint64(len(b)) {
			return nil, fmt.Errorf("extended offset table frame %d: %d bytes in a %d-byte fragment", i, s.n, vl)
		}
		out[i] = b[at+8 : at+8+s.n]
	}
	return out, nil
}

// tagItemLE is the Item tag (FFFE,E000) as its four little-endian bytes
// read as one uint32 (group low, element high).
const tagItemLE = 0xE000FFFE

// decodeInto decodes every frame into dst, which must hold exactly
// frames×rows×columns×samples stored values; it avoids the allocation of
// Pixels when the caller owns the destination (volume assembly).
func (f *File) decodeInto(dst []byte) (photometric string, err error) {
	if err := f.CanDecode(); err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	if f.Encapsulated || f.pix.vl == undefinedLength {
		p, err := f.Pixels()
		if err != nil {
			return "", err
		}
		if len(p.Data) != len(dst) {
			return "", &Error{Path: f.Path, Reason: "decoded size differs"}
		}
		copy(dst, p.Data)
		return p.Photometric, nil
	}
	dt, _ := storedDType(f.BitsAllocated, f.PixelRep)
	p := &PixelArray{Frames: f.FrameCount(), Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt, Photometric: f.Photometric}
	fb := p.frameBytes()
	if p.Frames*fb != len(dst) {
		return "", &Error{Path: f.Path, Reason: "decoded size differs"}
	}
	if err := f.checkNative(p); err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	ph, err := f.nativeFrames(func(i int) []byte { return dst[i*fb : (i+1)*fb] })
	if err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	return ph, nil
}

// decodeFramesInto decodes the frames of a native file one at a time into
// the buffer dst returns for each (one decoded frame, as Frame; nil skips
// the frame), so no buffer of the whole file is made: volume assembly
// hands out its own slots. Encapsulated files are decoded by Pixels.
func (f *File) decodeFramesInto(dst func(frame int) []byte) (photometric string, err error) {
	if err := f.CanDecode(); err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	if f.Encapsulated {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: errors.New("encapsulated pixel data is decoded whole")}
	}
	dt, _ := storedDType(f.BitsAllocated, f.PixelRep)
	p := &PixelArray{Frames: f.FrameCount(), Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt, Photometric: f.Photometric}
	if err := f.checkNative(p); err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	ph, err := f.nativeFrames(dst)
	if err != nil {
		return "", &Error{Path: f.Path, Reason: "pixel data", Err: err}
	}
	return ph, nil
}

// checkNative checks that the native pixel value of f can hold the frames
// p describes (all of the file's), before any of it is decoded. A
// streamed value is checked against the inflation limit instead of the
// bytes present, which are known only once inflated.
func (f *File) checkNative(p *PixelArray) error {
	if f.pix.vl == undefinedLength {
		return errors.New("native pixel data with undefined length")
	}
	if f.stream != nil {
		if end := int64(f.pix.valueOff) + int64(f.pix.vl); end > f.inflateLimit {
			return fmt.Errorf("inflated dataset exceeds %d bytes: the pixel data ends at byte %d", f.inflateLimit, end)
		}
	} else if end := f.pix.valueOff + int(f.pix.vl); end > len(f.ds) {
		// Truncated: pydicom refuses too; say how much is missing.
		return fmt.Errorf("pixel data truncated: %d of %d bytes present: %w", len(f.ds)-f.pix.valueOff, f.pix.vl, errShort)
	}
	if need := nativeBytes(p, &f.Header); int64(f.pix.vl) < need {
		return fmt.Errorf("pixel data has %d bytes, the header implies %d", f.pix.vl, need)
	}
	return nil
}

// nativeFrames decodes native pixel data (PS3.5 §8.1.1) frame by frame
// into dst(i) (nil skips frame i), after checkNative. The raw bytes are
// sliced from the dataset or, for a streamed deflated file, inflated
// straight into the destination (through one frame of scratch where the
// stored layout differs from the decoded one), so decoding costs the
// destination and at most one frame more.
func (f *File) nativeFrames(dst func(frame int) []byte) (photometric string, err error) {
	h := &f.Header
	dt, _ := storedDType(f.BitsAllocated, f.PixelRep)
	one := &PixelArray{Frames: 1, Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt, Photometric: f.Photometric}
	n := f.FrameCount()
	fb := one.frameBytes()
	all := *one
	all.Frames = n
	need := nativeBytes(&all, h)
	var raw []byte // the whole value, when it is in memory
	stream := f.stream
	if stream != nil {
		// One pass over the inflater: a second decode has nothing to read.
		f.stream = nil
		f.ds = nil
	} else {
		raw = f.ds[f.pix.valueOff : f.pix.valueOff+int(f.pix.vl)]
	}
	got := int64(0) // bytes taken from stream
	read := func(b []byte) error {
		m, err := io.ReadFull(stream, b)
		got += int64(m)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("pixel data truncated: %d of %d bytes present: %w", got, f.pix.vl, errShort)
		}
		if err != nil {
			return fmt.Errorf("inflating deflated dataset: %w", err)
		}
		return nil
	}
	if h.BitsAllocated == 1 {
		// Frames of packed bits need not start on a byte; the packed
		// value is an eighth of the decoded one, so it is read whole.
		if stream != nil {
			raw = make([]byte, need)
			if err := read(raw); err != nil {
				return "", err
			}
		}
		per := f.Rows * f.Columns * f.SamplesPerPixel
		for i := 0; i < n; i++ {
			d := dst(i)
			if d == nil {
				continue
			}
			for j, b := 0, i*per; j < per; j, b = j+1, b+1 {
				d[j] = raw[b>>3] >> (b & 7) & 1
			}
		}
		return f.Photometric, nil
	}
	rfb := int(nativeBytes(one, h)) // stored bytes of one frame
	// Stored as decoded (interleaved, one value per sample): inflate
	// straight into the destination and fix byte order and bits there.
	direct := rfb == fb && !(one.Samples > 1 && h.PlanarConfiguration == 1)
	var scratch []byte
	photometric = f.Photometric
	for i := 0; i < n; i++ {
		d := dst(i)
		var src []byte
		switch {
		case stream == nil:
			src = raw[i*rfb : (i+1)*rfb]
			if d == nil {
				continue
			}
		case d != nil && direct:
			if err := read(d); err != nil {
				return "", err
			}
			src = d
		default:
			if scratch == nil {
				scratch = make([]byte, rfb)
			}
			if err := read(scratch); err != nil {
				return "", err
			}
			if d == nil {
				continue
			}
			src = scratch
		}
		p := *one
		p.Data = d
		if err := decodeNative(src, &p, h, f.sx.bo); err != nil {
			return "", err
		}
		photometric = p.Photometric
	}
	return photometric, nil
}

// decodeNative decodes uncompressed pixel data (PS3.5 §8.1.1).
func decodeNative(raw []byte, p *PixelArray, h *Header, bo binary.ByteOrder) error {
	npix := p.Frames * p.Rows * p.Cols
	nsamp := npix * p.Samples
	if h.BitsAllocated == 1 {
		need := (nsamp + 7) / 8
		if len(raw) < need {
			return fmt.Errorf("1-bit pixel data has %d bytes, want %d", len(raw), need)
		}
		for i := 0; i < nsamp; i++ {
			p.Data[i] = raw[i>>3] >> (i & 7) & 1
		}
		return nil
	}
	bps := h.BitsAllocated / 8
	if h.Photometric == "YBR_FULL_422" && p.Samples == 3 {
		// Two pixels share one Cb and Cr: Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2).
		need := npix * 2 * bps
		if len(raw) < need || p.Cols%2 != 0 || bps != 1 {
			return fmt.Errorf("YBR_FULL_422 pixel data: %d bytes, want %d (even columns, 8-bit)", len(raw), need)
		}
		for i, o := 0, 0; i+1 < npix; i, o = i+2, o+4 {
			y1, y2, cb, cr := raw[o], raw[o+1], raw[o+2], raw[o+3]
			d := p.Data[3*i:]
			d[0], d[1], d[2], d[3], d[4], d[5] = y1, cb, cr, y2, cb, cr
		}
		p.Photometric = "YBR_FULL"
		return nil
	}
	need := nsamp * bps
	if len(raw) < need {
		return fmt.Errorf("pixel data has %d bytes, want %d", len(raw), need)
	}
	if p.Samples > 1 && h.PlanarConfiguration == 1 {
		// Planar: each frame is RRR…GGG…BBB; interleave.
		fp := p.Rows * p.Cols
		for fr := 0; fr < p.Frames; fr++ {
			src := raw[fr*fp*p.Samples*bps:]
			dst := p.Data[fr*fp*p.Samples*bps:]
			for s := 0; s < p.Samples; s++ {
				for i := 0; i < fp; i++ {
					copy(dst[(i*p.Samples+s)*bps:(i*p.Samples+s+1)*bps], src[(s*fp+i)*bps:(s*fp+i+1)*bps])
				}
			}
		}
	} else {
		copy(p.Data, raw[:need])
	}
	if bo == binary.BigEndian && bps > 1 {
		swapBytes(p.Data, bps)
	}
	maskSamples(p.Data, bps, h)
	return nil
}

func swapBytes(b []byte, bps int) {
	switch bps {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
	}
}

// maskParams returns the right shift and width that extract BitsStored
// bits ending at HighBit (PS3.5 §8.1.1), falling back to the low bits when
// the header's values are inconsistent.
func maskParams(h *Header, bps int) (shift, width int) {
	width = h.BitsStored
	if width <= 0 || width > 8*bps {
		width = 8 * bps
	}
	shift = h.HighBit + 1 - width
	if shift < 0 || shift+width > 8*bps {
		shift = 0
	}
	return shift, width
}

// maskSamples clears bits outside BitsStored and sign-extends signed data,
// in place on little-endian samples.
func maskSamples(b []byte, bps int, h *Header) {
	shift, width := maskParams(h, bps)
	if shift == 0 && width == 8*bps {
		return
	}
	signed := h.PixelRep == 1
	m := uint32(1)<<width - 1
	if width == 32 {
		m = 0xFFFFFFFF
	}
	ext := func(v uint32) uint32 {
		v = v >> shift & m
		if signed && width < 32 && v&(1<<(width-1)) != 0 {
			v |= ^m
		}
		return v
	}
	switch bps {
	case 1:
		for i := range b {
			b[i] = byte(ext(uint32(b[i])))
		}
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			v := ext(uint32(b[i]) | uint32(b[i+1])<<8)
			b[i], b[i+1] = byte(v), byte(v>>8)
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			v := ext(binary.LittleEndian.Uint32(b[i:]))
			binary.LittleEndian.PutUint32(b[i:], v)
		}
	}
}

// encapsulatedFrames splits encapsulated pixel data (PS3.5 §A.4) into
// frames: by the Basic Offset Table when it is present, else one frame per
// fragment when the counts agree, else at JPEG SOI markers, else (one
// frame) all fragments joined.
func encapsulatedFrames(b []byte, nframes int, ts string) ([][]byte, error) {
	type frag struct{ off, start, end int }
	var frags []frag
	var bot []uint32
	off := 0
	first := true
	for {
		if off+8 > len(b) {
			return nil, fmt.Errorf("encapsulated pixel data ends without a sequence delimiter: %w", errShort)
		}
		tag := uint32(binary.LittleEndian.Uint16(b[off:]))<<16 | uint32(binary.LittleEndian.Uint16(b[off+2:]))
		vl := int(binary.LittleEndian.Uint32(b[off+4:]))
		if tag == tagSeqDelim {
			break
		}
		if tag != tagItem {
			return nil, fmt.Errorf("unexpected tag %08X in encapsulated pixel data", tag)
		}
		if vl < 0 || uint32(vl) == undefinedLength || off+8+vl > len(b) || off+8+vl < off {
			if uint32(vl) != undefinedLength && !first {
				// A cut file: decoding the part that is there would make up
				// the rest of the frame.
				return nil, fmt.Errorf("fragment of %d bytes has only %d: %w", vl, len(b)-off-8, errShort)
			}
			return nil, fmt.Errorf("fragment of length %d overruns the pixel data", vl)
		}
		if first {
			if vl%4 != 0 {
				return nil, fmt.Errorf("basic offset table length %d is not a multiple of 4", vl)
			}
			for i := 0; i < vl; i += 4 {
				bot = append(bot, binary.LittleEndian.Uint32(b[off+8+i:]))
			}
			first = false
			off += 8 + vl
			continue
		}
		frags = append(frags, frag{off, off + 8, off + 8 + vl})
		off += 8 + vl
	}
	if len(frags) == 0 {
		return nil, errors.New("encapsulated pixel data has no fragments")
	}
	base := frags[0].off
	join := func(fs []frag) []byte {
		if len(fs) == 1 {
			return b[fs[0].start:fs[0].end]
		}
		var out []byte
		for _, f := range fs {
			out = append(out, b[f.start:f.end]...)
		}
		return out
	}
	switch {
	case nframes == 1:
		return [][]byte{join(frags)}, nil
	case len(bot) >= nframes && len(bot) > 0 && bot[0] == 0:
		// Offsets are relative to the first fragment's item tag.
		var out [][]byte
		k := 0
		for i := 0; i < nframes; i++ {
			start := base + int(bot[i])
			end := len(b)
			if i+1 < len(bot) {
				end = base + int(bot[i+1])
			}
			var fs []frag
			for k < len(frags) && frags[k].off < start {
				k++
			}
			for k < len(frags) && frags[k].off < end {
				fs = append(fs, frags[k])
				k++
			}
			if len(fs) == 0 {
				return nil, fmt.Errorf("basic offset table entry %d (%d) points at no fragment", i, bot[i])
			}
			out = append(out, join(fs))
		}
		return out, nil
	case len(frags) == nframes:
		out := make([][]byte, nframes)
		for i, f := range frags {
			out[i] = b[f.start:f.end]
		}
		return out, nil
	case ts != RLELossless:
		// Frame boundaries: each JPEG frame starts with SOI (FFD8).
		var out [][]byte
		var cur []frag
		for _, f := range frags {
			if len(cur) > 0 && f.end-f.start >= 2 && b[f.start] == 0xFF && b[f.start+1] == 0xD8 {
				out = append(out, join(cur))
				cur = nil
			}
			cur = append(cur, f)
		}
		out = append(out, join(cur))
		if len(out) != nframes {
			return nil, fmt.Errorf("found %d frames at JPEG boundaries in %d fragments, header says %d", len(out), len(frags), nframes)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%d fragments for %d RLE frames and no offset table", len(frags), nframes)
}

// decodeFrame decodes one compressed frame into dst.
func decodeFrame(frame, dst []byte, p *PixelArray, h *Header) error {
	bps := p.DType.Size()
	switch h.TransferSyntax {
	case RLELossless:
		if h.BitsAllocated == 1 {
			return errors.New("1-bit RLE not supported")
		}
		if err := decodeRLE(frame, dst, p.Rows, p.Cols, p.Samples, bps); err != nil {
			return err
		}
		maskSamples(dst, bps, h)
		return nil
	case encapsulatedUncompresed:
		if len(frame) < len(dst) {
			return fmt.Errorf("uncompressed frame has %d bytes, want %d", len(frame), len(dst))
		}
		copy(dst, frame)
		maskSamples(dst, bps, h)
		return nil
	case JPEGLosslessP14, JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000:
		return decodeFrame16(frame, dst, p, h)
	case JPEGBaseline8Bit, JPEGExtended12Bit:
		if h.TransferSyntax == JPEGExtended12Bit && bps != 1 {
			// 12-bit DCT (process 4): image/jpeg stops at 8 bits.
			return decodeFrame16(frame, dst, p, h)
		}
		if bps != 1 {
			return unsupported(h.TransferSyntax)
		}
		// Check the stream's own size first: image/jpeg allocates what its
		// SOF says, which need not be what the DICOM header says.
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(frame))
		if err != nil {
			return err
		}
		if cfg.Width != p.Cols || cfg.Height != p.Rows {
			return fmt.Errorf("JPEG frame is %dx%d, header says %dx%d", cfg.Width, cfg.Height, p.Cols, p.Rows)
		}
		img, err := jpeg.Decode(bytes.NewReader(frame))
		if err != nil {
			return err
		}
		r := img.Bounds()
		if r.Dx() != p.Cols || r.Dy() != p.Rows {
			return fmt.Errorf("JPEG frame is %dx%d, header says %dx%d", r.Dx(), r.Dy(), p.Cols, p.Rows)
		}
		switch m := img.(type) {
		case *image.Gray:
			if p.Samples != 1 {
				return fmt.Errorf("grey JPEG for %d samples per pixel", p.Samples)
			}
			for y := 0; y < p.Rows; y++ {
				copy(dst[y*p.Cols:(y+1)*p.Cols], m.Pix[y*m.Stride:])
			}
		case *image.YCbCr:
			// Keep the JPEG's own components (Y, Cb, Cr, chroma upsampled)
			// as pydicom+gdcm does; the YBR_FULL→RGB conversion happens
			// with the other colour conversions (Interpret).
			if p.Samples != 3 {
				return fmt.Errorf("colour JPEG for %d samples per pixel", p.Samples)
			}
			upsampleYCbCr(m, dst)
			p.Photometric = "YBR_FULL"
			if h.Photometric == "RGB" && !jpegNamesColourSpace(frame) {
				// image/jpeg assumes YCbCr when the stream does not say;
				// with neither JFIF nor Adobe APP14 the DICOM header is the
				// only word on the colour space, and gdcm (libjpeg told
				// JCS_UNKNOWN) takes its RGB: the components are R, G, B.
				p.Photometric = "RGB"
			}
		case *image.RGBA:
			// Adobe APP14 with no colour transform: components are RGB.
			if p.Samples != 3 {
				return fmt.Errorf("colour JPEG for %d samples per pixel", p.Samples)
			}
			for y := 0; y < p.Rows; y++ {
				for x := 0; x < p.Cols; x++ {
					s := m.Pix[y*m.Stride+4*x:]
					d := dst[(y*p.Cols+x)*3:]
					d[0], d[1], d[2] = s[0], s[1], s[2]
				}
			}
			p.Photometric = "RGB"
		default:
			return fmt.Errorf("JPEG colour model %T not supported", img)
		}
		return nil
	}
	return unsupported(h.TransferSyntax)
}

// decodeFrame16 decodes one frame with the codecs that return unsigned
// samples of up to 16 bits (lossless JPEG, JPEG-LS, 12-bit DCT JPEG)
// into dst. The frame's own header may not ask for more samples than the
// DICOM header's, which bounds what the codec allocates.
func decodeFrame16(frame, dst []byte, p *PixelArray, h *Header) error {
	var (
		w, ht, c int
		pix      []uint16
	)
	limit := p.Rows * p.Cols * p.Samples
	switch h.TransferSyntax {
	case JPEGLSLossless, JPEGLSNearLossless:
		img, err := jpegls.DecodeLimit(frame, limit)
		if err != nil {
			return err
		}
		w, ht, c, pix = img.Width, img.Height, img.Components, img.Pix
	case JPEGExtended12Bit:
		img, err := jpeg12.DecodeLimit(frame, limit)
		if err != nil {
			return err
		}
		w, ht, c, pix = img.Width, img.Height, img.Components, img.Pix
	case JPEG2000Lossless, JPEG2000:
		img, err := jpeg2000.DecodeLimit(frame, limit)
		if err != nil {
			return err
		}
		w, ht, c = img.Width, img.Height, img.Components
		// Signed samples keep their two's-complement bits; maskSamples
		// sign-extends them from BitsStored.
		pix = make([]uint16, len(img.Pix))
		for i, v := range img.Pix {
			pix[i] = uint16(v)
		}
		// The codestream's own colour transform is undone by the codec.
		if p.Photometric == "YBR_RCT" || p.Photometric == "YBR_ICT" {
			p.Photometric = "RGB"
		}
	default:
		img, err := jpegll.Decode(frame)
		if err != nil {
			return err
		}
		w, ht, c, pix = img.Width, img.Height, img.Components, img.Pix
	}
	if w != p.Cols || ht != p.Rows || c != p.Samples {
		return fmt.Errorf("JPEG frame is %dx%dx%d, header says %dx%dx%d", w, ht, c, p.Cols, p.Rows, p.Samples)
	}
	bps := p.DType.Size()
	switch bps {
	case 1:
		for i, v := range pix {
			dst[i] = byte(v)
		}
	case 2:
		for i, v := range pix {
			dst[2*i], dst[2*i+1] = byte(v), byte(v>>8)
		}
	default:
		for i, v := range pix {
			binary.LittleEndian.PutUint32(dst[4*i:], uint32(v))
		}
	}
	maskSamples(dst, bps, h)
	return nil
}

// upsampleYCbCr writes the Y, Cb, Cr samples of m interleaved into dst.
// Chroma subsampled 2:1 horizontally (4:2:2) or in both directions (4:2:0)
// is upsampled with libjpeg 6b's "fancy" triangle filter (jdsample.c,
// h2v1_fancy_upsample and h2v2_fancy_upsample), which gdcm's bundled IJG
// code uses, so medmd matches pydicom+gdcm; other ratios replicate.
func upsampleYCbCr(m *image.YCbCr, dst []byte) {
	r := m.Bounds()
	w, h := r.Dx(), r.Dy()
	for y := 0; y < h; y++ {
		yo := m.YOffset(r.Min.X, r.Min.Y+y)
		for x := 0; x < w; x++ {
			dst[(y*w+x)*3] = m.Y[yo+x]
		}
	}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		cw := (w + 1) / 2
		ch := h
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 {
			ch = (h + 1) / 2
		}
		row := make([]byte, 2*cw)
		for c, plane := range [2][]byte{m.Cb, m.Cr} {
			for y := 0; y < h; y++ {
				if m.SubsampleRatio == image.YCbCrSubsampleRatio422 {
					h2v1(plane[y*m.CStride:y*m.CStride+cw], row)
				} else {
					cy := y / 2
					other := cy - 1 // upper output row pairs with the row above
					if y%2 == 1 {
						other = cy + 1
					}
					other = min(max(other, 0), ch-1)
					h2v2(plane[cy*m.CStride:cy*m.CStride+cw], plane[other*m.CStride:other*m.CStride+cw], row)
				}
				for x := 0; x < w; x++ {
					dst[(y*w+x)*3+1+c] = row[x]
				}
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				ci := m.COffset(r.Min.X+x, r.Min.Y+y)
				d := dst[(y*w+x)*3:]
				d[1], d[2] = m.Cb[ci], m.Cr[ci]
			}
		}
	}
}

// h2v1 is libjpeg 6b's h2v1_fancy_upsample for one row.
func h2v1(in, out []byte) {
	n := len(in)
	if n == 1 {
		out[0], out[1] = in[0], in[0]
		return
	}
	v := int(in[0])
	out[0] = in[0]
	out[1] = byte((v*3 + int(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v = int(in[i]) * 3
		out[2*i] = byte((v + int(in[i-1]) + 1) >> 2)
		out[2*i+1] = byte((v + int(in[i+1]) + 2) >> 2)
	}
	v = int(in[n-1])
	out[2*n-2] = byte((v*3 + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// h2v2 is libjpeg 6b's h2v2_fancy_upsample for one output row: in0 is the
// nearest chroma row, in1 the next nearest (above or below).
func h2v2(in0, in1, out []byte) {
	n := len(in0)
	col := func(i int) int { return int(in0[i])*3 + int(in1[i]) }
	if n == 1 {
		v := byte((col(0)*4 + 8) >> 4)
		out[0], out[1] = v, v
		return
	}
	this, next := col(0), col(1)
	out[0] = byte((this*4 + 8) >> 4)
	out[1] = byte((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 1; i < n-1; i++ {
		next = col(i + 1)
		out[2*i] = byte((this*3 + last + 8) >> 4)
		out[2*i+1] = byte((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	out[2*n-2] = byte((this*3 + last + 8) >> 4)
	out[2*n-1] = byte((this*4 + 7) >> 4)
}

// jpegNamesColourSpace reports whether a JPEG stream declares its colour
// space before its first scan: a JFIF APP0 segment (always YCbCr) or an
// Adobe APP14 segment (its transform flag, which image/jpeg honours; a
// segment too short to hold the flag is ignored, by image/jpeg too).
func jpegNamesColourSpace(b []byte) bool {
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		n := int(b[i+2])<<8 | int(b[i+3])
		if m == 0xDA || n < 2 {
			return false
		}
		seg := b[i+4 : min(len(b), i+2+n)]
		switch {
		case m == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")),
			m == 0xEE && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")):
			return true
		}
		i += 2 + n
	}
	return false
}
