package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	sdicom "github.com/suyashkumar/dicom"
)

// Limits on what an untrusted header may make us allocate.
const (
	maxFileBytes = 4 << 30 // one DICOM file
	headerChunk  = 64 << 10
)

// DefaultMaxInflatedBytes bounds a deflated dataset (PS3.5 §A.5) after
// inflation: the largest single file a legitimate series has (a 2 Gi-voxel
// volume at DefaultMaxVoxels is 4 GiB in 16 bits, but no one file of it
// is; enhanced multi-frame objects reach a few hundred MiB).
const DefaultMaxInflatedBytes = 1 << 30

// parseMode says how much of a dataset a parse needs.
type parseMode int

const (
	// parseAll keeps the whole dataset, pixel data included.
	parseAll parseMode = iota
	// parseHeader needs only the elements before the pixel data: a
	// deflated dataset is inflated only that far, so a file that is then
	// excluded (a secondary capture, a localizer) never costs its pixels.
	parseHeader
	// parseStream is parseAll for a caller that decodes the pixels once,
	// into its own buffers: a deflated dataset is inflated only to the
	// start of its (native) pixel value, and the pixel bytes are inflated
	// as they are decoded, so the inflated dataset is never held whole
	// beside the volume it is decoded into.
	parseStream
)

// parseOpts are the options of one parse.
type parseOpts struct {
	mode parseMode
	// maxInflated bounds the inflated dataset; 0 means
	// DefaultMaxInflatedBytes.
	maxInflated int64
	// known is the header of this same file from an earlier scan: only the
	// meta and the element walk to the pixel data are redone.
	known *Header
}

// Error is bad input: the file and the reason.
type Error struct {
	Path   string
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		if e.Reason != "" {
			return fmt.Sprintf("%s: %s: %v", e.Path, e.Reason, e.Err)
		}
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return e.Path + ": " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnsupportedSyntax is wrapped by errors for pixel data in a transfer
// syntax medmd does not decode (video, HTJ2K, JPEG 2000 Part 2).
var ErrUnsupportedSyntax = errors.New("unsupported transfer syntax")

// unsupported builds the error `unsupported transfer syntax <UID> (<name>)`.
func unsupported(uid string) error {
	return fmt.Errorf("%w %s (%s)", ErrUnsupportedSyntax, uid, SyntaxName(uid))
}

// File is one parsed DICOM file: its header plus the bytes of its dataset
// (inflated when the file was deflated), from which pixels are decoded.
type File struct {
	Header
	ds  []byte // the dataset after the file meta; pixel offsets index it
	pix pixelRef
	sx  syntax
	// stream, for a deflated file parsed with parseStream, yields the
	// inflated pixel value from its first byte (ds then ends where the
	// value starts); it is read once, by the first decode.
	stream io.Reader
	// inflateLimit bounds the inflated dataset when stream is set.
	inflateLimit int64
}

// ReadFile reads and parses a whole file, pixel data included (decoded
// lazily by Pixels).
func ReadFile(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileBytes {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("file of %d bytes exceeds the %d-byte limit", st.Size(), int64(maxFileBytes))}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a whole file held in data; path is only used in errors and
// recorded on the header. The returned File aliases data.
func Parse(path string, data []byte) (*File, error) {
	f, err := parse(path, data, true)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadHeader parses a file's header without reading its pixel data: it
// reads growing prefixes of the file until the walker reaches the Pixel Data
// element, and hands only the bytes before it to the parser. Deflated files
// are the exception (the whole stream must be inflated to find the end of
// the header).
func ReadHeader(path string) (*Header, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	return readHeaderPrefix(path, st.Size(), func(off, n int64) ([]byte, error) {
		b := make([]byte, n)
		if _, err := fh.ReadAt(b, off); err != nil {
			return nil, &Error{Path: path, Err: err}
		}
		return b, nil
	})
}

// readHeaderPrefix is ReadHeader of a file of size bytes named name, whose
// bytes read returns (n bytes at off, all of them or an error): prefixes
// of 64 KiB, then four times larger, each read only past the last, until
// the walker reaches the Pixel Data element. Local files and objects read
// by ranged GETs go through it alike, so both stop at the same length.
func readHeaderPrefix(name string, size int64, read func(off, n int64) ([]byte, error)) (*Header, error) {
	if size > maxFileBytes {
		return nil, &Error{Path: name, Reason: fmt.Sprintf("file of %d bytes exceeds the %d-byte limit", size, int64(maxFileBytes))}
	}
	var buf []byte
	for n := int64(headerChunk); ; n *= 4 {
		n = min(n, size)
		if int64(len(buf)) < n {
			more, err := read(int64(len(buf)), n-int64(len(buf)))
			if err != nil {
				return nil, err
			}
			buf = append(buf, more...)
		}
		f, err := parseWith(name, buf, n == size, parseOpts{mode: parseHeader})
		if err == nil {
			// A whole file was checked by parse; a prefix is checked
			// against the file's size.
			if err := f.checkFrames(size - f.pixelFileOffset(buf)); n < size && err != nil {
				return nil, &Error{Path: name, Reason: "pixel data", Err: err}
			}
			return &f.Header, nil
		}
		if !errors.Is(err, errShort) || n == size {
			return nil, err
		}
	}
}

// maxFramesPerFile bounds NumberOfFrames: every frame becomes a record of
// the series scan, so a header claiming 2^31 frames must not make 2^31 of
// them. Real multi-frame objects (enhanced MR, cine US, tomosynthesis) stay
// far below it.
const maxFramesPerFile = 1 << 17

// pixelFileOffset is where the pixel data value starts in the file held
// (in part) by data, or len(data) when there is none or the dataset was
// inflated (then the inflated dataset is whole and checkFrames is given
// its own remainder).
func (f *File) pixelFileOffset(data []byte) int64 {
	if !f.pix.found || f.PixelOffset < 0 {
		return int64(len(data))
	}
	return f.PixelOffset
}

// checkFrames checks the frame count the header claims against the bytes
// that follow the Pixel Data element in the file (present), before
// anything is allocated from it: native frames must fit in the element's
// length, encapsulated frames need at least one 8-byte item header each.
func (f *File) checkFrames(present int64) error {
	if !f.HasPixels {
		return nil
	}
	n := int64(f.FrameCount())
	if n > maxFramesPerFile {
		return fmt.Errorf("NumberOfFrames %d exceeds the limit of %d", n, maxFramesPerFile)
	}
	if present < 0 {
		present = 0
	}
	if f.Encapsulated {
		if n*8 > present {
			return fmt.Errorf("NumberOfFrames %d cannot fit in %d bytes of encapsulated pixel data", n, present)
		}
		return nil
	}
	if f.pix.vl == undefinedLength || f.Rows <= 0 || f.Columns <= 0 {
		return nil // CanDecode reports these
	}
	dt, err := storedDType(f.BitsAllocated, f.PixelRep)
	if err != nil {
		return nil
	}
	p := &PixelArray{Frames: int(n), Rows: f.Rows, Cols: f.Columns, Samples: f.SamplesPerPixel, DType: dt}
	if need := nativeBytes(p, &f.Header); need > int64(f.pix.vl) {
		return fmt.Errorf("NumberOfFrames %d of %dx%dx%d needs %d bytes, the Pixel Data element holds %d", n, f.Columns, f.Rows, f.SamplesPerPixel, need, f.pix.vl)
	}
	return nil
}

// meta is what medmd needs from the file meta information (group 0002).
type meta struct {
	transferSyntax string
	sopClass       string
	present        bool
}

// parseMeta reads the file meta group (always explicit VR little endian,
// PS3.10 §7.1) and returns where the dataset starts.
func parseMeta(b []byte) (meta, int, error) {
	var m meta
	off := 0
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		off = 132
	} else if len(b) >= 4 && string(b[:4]) == "DICM" {
		off = 4
	}
	le := syntax{bo: binary.LittleEndian}
	for off+8 <= len(b) && binary.LittleEndian.Uint16(b[off:]) == 0x0002 {
		m.present = true
		h, err := readHeader(b, off, le)
		if err != nil {
			return m, 0, fmt.Errorf("file meta: %w", err)
		}
		end := off + h.hdrLen + int(h.vl)
		if h.vl == undefinedLength || end > len(b) {
			return m, 0, fmt.Errorf("file meta: element %08X overruns the file: %w", h.tag, errShort)
		}
		v := string(bytes.TrimRight(b[off+h.hdrLen:end], "\x00 "))
		switch h.tag {
		case tagTransferUID:
			m.transferSyntax = v
		case tagMediaSOPClass:
			m.sopClass = v
		}
		off = end
	}
	return m, off, nil
}

// guessSyntax infers the encoding of a dataset with no transfer syntax from
// its first element: big endian if the group reads small only that way,
// explicit if a plausible VR follows the tag.
func guessSyntax(ds []byte) string {
	if len(ds) < 8 {
		return ImplicitVRLittleEndian
	}
	le := binary.LittleEndian.Uint16(ds)
	be := binary.BigEndian.Uint16(ds)
	explicit := ds[4] >= 'A' && ds[4] <= 'Z' && ds[5] >= 'A' && ds[5] <= 'Z'
	if be < le && be <= 0x0010 && explicit {
		return ExplicitVRBigEndian
	}
	if explicit {
		return ExplicitVRLittleEndian
	}
	return ImplicitVRLittleEndian
}

// parse does the work of Parse and ReadHeader; complete says whether data
// is the whole file (else errShort asks for more).
func parse(path string, data []byte, complete bool) (f *File, err error) {
	return parseWith(path, data, complete, parseOpts{})
}

// parseWith is parse under o (see parseOpts).
func parseWith(path string, data []byte, complete bool, o parseOpts) (f *File, err error) {
	known := o.known
	defer func() {
		// The header parser is third-party code fed untrusted bytes; a
		// panic there must quarantine the file, not stop the run.
		if r := recover(); r != nil {
			f, err = nil, &Error{Path: path, Reason: fmt.Sprintf("parser panic: %v", r)}
		}
	}()
	m, off, err := parseMeta(data)
	if err != nil {
		if errors.Is(err, errShort) && !complete {
			return nil, err
		}
		return nil, &Error{Path: path, Err: err}
	}
	ts := m.transferSyntax
	guessed := false
	if ts == "" {
		ts = guessSyntax(data[off:])
		guessed = true
	}
	sx, deflated, encapsulated := datasetSyntax(ts)
	ds := data[off:]
	var stream io.Reader
	if deflated {
		if !complete {
			return nil, errShort
		}
		var rest io.Reader
		ds, rest, err = inflateDataset(ds, sx, o)
		if err != nil {
			return nil, &Error{Path: path, Reason: "inflating deflated dataset", Err: err}
		}
		if rest != nil {
			stream = rest
		}
	}
	sx = followFirstElement(ds, sx)
	pix, err := findPixelData(ds, sx)
	if err != nil {
		if errors.Is(err, errShort) && !complete {
			return nil, err
		}
		return nil, &Error{Path: path, Reason: "walking dataset", Err: err}
	}
	if stream != nil && pix.found {
		// The pixel bytes inflated so far lead the stream; ds stops at
		// the value, so nothing can read pixels from ds by mistake.
		stream = io.MultiReader(bytes.NewReader(ds[pix.valueOff:]), stream)
		ds = ds[:pix.valueOff:pix.valueOff]
	} else {
		stream = nil
	}
	limit := o.maxInflated
	if limit <= 0 {
		limit = DefaultMaxInflatedBytes
	}
	if known != nil {
		if known.TransferSyntax != ts {
			return nil, &Error{Path: path, Reason: "file changed since it was scanned"}
		}
		f = &File{Header: *known, ds: ds, pix: pix, sx: sx, stream: stream, inflateLimit: limit}
		f.HasPixels = pix.found && !pix.float
		f.Encapsulated = encapsulated && pix.vl == undefinedLength
		return f, nil
	}
	hdrBytes := ds
	if pix.found {
		hdrBytes = ds[:pix.hdrOff]
	}
	// Private elements are dropped below; the CSA header is read first.
	mr := readMRInfo(hdrBytes, sx)
	hdrBytes, dropped, err := sanitizeHeader(hdrBytes, sx)
	if err != nil {
		return nil, &Error{Path: path, Reason: "walking header", Err: err}
	}
	parsed, err := parseElements(hdrBytes, sx)
	if err != nil {
		return nil, &Error{Path: path, Reason: "parsing header", Err: err}
	}
	f = &File{ds: ds, pix: pix, sx: sx, stream: stream, inflateLimit: limit}
	f.PixelOffset = -1
	if pix.found && !deflated {
		f.PixelOffset, f.PixelLength = int64(off+pix.valueOff), pix.vl
	}
	f.Header.fill(parsed, sx)
	f.MR = mr
	f.Path = path
	f.TransferSyntax = ts
	f.SyntaxGuessed = guessed
	f.HasMeta = m.present
	for _, t := range dropped {
		f.Dropped = append(f.Dropped, fmt.Sprintf("(%04X,%04X)", t>>16, t&0xFFFF))
	}
	if f.SOPClassUID == "" {
		f.SOPClassUID = m.sopClass
	}
	f.HasPixels = pix.found && !pix.float
	f.Encapsulated = encapsulated && pix.vl == undefinedLength
	if complete {
		present := int64(len(ds) - pix.valueOff)
		if deflated && (o.mode == parseHeader || stream != nil) {
			present = math.MaxInt64 // pixels not inflated: only lengths are checked
		}
		if err := f.checkFrames(present); err != nil {
			return nil, &Error{Path: path, Reason: "pixel data", Err: err}
		}
	}
	return f, nil
}

// inflateDataset decompresses a raw-deflate dataset (PS3.5 §A.5) no
// further than it must: in steps that double, until the walker finds the
// Pixel Data element (parseHeader stops there; parseStream stops there too
// when the value has a defined length and returns the inflater as rest,
// positioned after the bytes returned), then to the end of a native pixel
// value, or to the end of the stream for encapsulated data. Nothing beyond
// o.maxInflated is ever inflated, and the buffer never holds more than
// twice what was inflated.
func inflateDataset(b []byte, sx syntax, o parseOpts) (out []byte, rest io.Reader, err error) {
	limit := o.maxInflated
	if limit <= 0 {
		limit = DefaultMaxInflatedBytes
	}
	r := flate.NewReader(bytes.NewReader(b))
	out = make([]byte, 0, min(int64(4*len(b)+4096), limit))
	target := int64(-1) // bytes to inflate once the pixel element is known
	for {
		want := max(int64(len(out)), headerChunk)
		if target >= 0 {
			want = target - int64(len(out))
		}
		if int64(len(out))+want > limit {
			want = limit - int64(len(out)) + 1 // one more byte proves the overrun
		}
		if want <= 0 {
			return out, nil, nil
		}
		if int64(cap(out)-len(out)) < want {
			grown := make([]byte, len(out), int64(len(out))+want)
			copy(grown, out)
			out = grown
		}
		n, err := io.ReadFull(r, out[len(out):int64(len(out))+want])
		out = out[:len(out)+n]
		if int64(len(out)) > limit {
			return nil, nil, fmt.Errorf("inflated dataset exceeds %d bytes", limit)
		}
		eof := errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
		if err != nil && !eof {
			return nil, nil, err
		}
		if target < 0 {
			pix, perr := findPixelData(out, sx)
			if perr == nil && pix.found {
				switch {
				case o.mode == parseHeader:
					return out, nil, nil
				case o.mode == parseStream && pix.vl != undefinedLength:
					if eof {
						return out, bytes.NewReader(nil), nil
					}
					return out, r, nil
				case pix.vl != undefinedLength:
					target = int64(pix.valueOff) + int64(pix.vl)
				default:
					target = limit + 1
				}
			} else if perr != nil && !errors.Is(perr, errShort) {
				return out, nil, nil // the walk reports the error
			}
		}
		if eof || (target >= 0 && int64(len(out)) >= target && target <= limit) {
			return out, nil, nil
		}
	}
}

// parseElements hands header bytes (no pixel data) to suyashkumar/dicom.
func parseElements(hdr []byte, sx syntax) ([]*sdicom.Element, error) {
	p, err := sdicom.NewParser(bytes.NewReader(hdr), int64(len(hdr)), nil,
		sdicom.SkipMetadataReadOnNewParserInit(), sdicom.SkipPixelData())
	if err != nil {
		return nil, err
	}
	p.SetTransferSyntax(sx.bo, sx.implicit)
	var out []*sdicom.Element
	for {
		e, err := p.Next()
		if err != nil {
			if errors.Is(err, sdicom.ErrorEndOfDICOM) || errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, e)
	}
}
