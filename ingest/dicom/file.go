package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	sdicom "github.com/suyashkumar/dicom"
)

// Limits on what an untrusted header may make us allocate.
const (
	maxFileBytes     = 4 << 30 // one DICOM file
	maxInflatedBytes = 2 << 30 // a deflated dataset after inflation
	headerChunk      = 64 << 10
)

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
// syntax medmd does not decode (JPEG-LS, JPEG 2000, 12-bit JPEG, video).
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
	size := st.Size()
	if size > maxFileBytes {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("file of %d bytes exceeds the %d-byte limit", size, int64(maxFileBytes))}
	}
	n := int64(headerChunk)
	for {
		if n > size {
			n = size
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(fh, buf); err != nil {
			return nil, &Error{Path: path, Err: err}
		}
		f, err := parse(path, buf, n == size)
		if err == nil {
			return &f.Header, nil
		}
		if !errors.Is(err, errShort) || n == size {
			return nil, err
		}
		n *= 4
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
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
	return parseWith(path, data, complete, nil)
}

// parseWith is parse; when known is not nil (the header of this same file
// from an earlier scan) the header is not parsed again: only the meta and
// the element walk to the pixel data are done.
func parseWith(path string, data []byte, complete bool, known *Header) (f *File, err error) {
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
	if deflated {
		if !complete {
			return nil, errShort
		}
		ds, err = inflate(ds)
		if err != nil {
			return nil, &Error{Path: path, Reason: "inflating deflated dataset", Err: err}
		}
	}
	pix, err := findPixelData(ds, sx)
	if err != nil {
		if errors.Is(err, errShort) && !complete {
			return nil, err
		}
		return nil, &Error{Path: path, Reason: "walking dataset", Err: err}
	}
	if known != nil {
		if known.TransferSyntax != ts {
			return nil, &Error{Path: path, Reason: "file changed since it was scanned"}
		}
		f = &File{Header: *known, ds: ds, pix: pix, sx: sx}
		f.HasPixels = pix.found && !pix.float
		f.Encapsulated = encapsulated && pix.vl == undefinedLength
		return f, nil
	}
	hdrBytes := ds
	if pix.found {
		hdrBytes = ds[:pix.hdrOff]
	}
	hdrBytes, dropped, err := sanitizeHeader(hdrBytes, sx)
	if err != nil {
		return nil, &Error{Path: path, Reason: "walking header", Err: err}
	}
	parsed, err := parseElements(hdrBytes, sx)
	if err != nil {
		return nil, &Error{Path: path, Reason: "parsing header", Err: err}
	}
	f = &File{ds: ds, pix: pix, sx: sx}
	f.PixelOffset = -1
	if pix.found && !deflated {
		f.PixelOffset, f.PixelLength = int64(off+pix.valueOff), pix.vl
	}
	f.Header.fill(parsed, sx)
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
	return f, nil
}

// inflate decompresses a raw-deflate dataset (PS3.5 §A.5) with a size cap.
func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(r, maxInflatedBytes+1))
	if err != nil {
		return nil, err
	}
	if n > maxInflatedBytes {
		return nil, fmt.Errorf("inflated dataset exceeds %d bytes", int64(maxInflatedBytes))
	}
	return out.Bytes(), nil
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
