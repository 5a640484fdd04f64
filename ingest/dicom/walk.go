package dicom

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits for archive members (zip bombs, hostile tars).
const (
	maxMemberBytes  = 2 << 30
	maxMemberCount  = 1 << 20
	maxArchiveDepth = 1 // archives inside archives are not opened
)

// Ref names one input file: a plain path, or a member of a zip or tar
// archive (Archive set, Member the cleaned name inside it).
type Ref struct {
	Path   string // the file, or the archive holding it
	Member string // "" for a plain file
	Size   int64
	// Hdr and At place a member of a tar on disk: where its header blocks
	// and its bytes start (in the inflated stream of a gzipped tar), so
	// that reading it need not stream the archive from the start. Zero
	// when unknown (a zip's members, objects).
	Hdr, At int64
}

// String is the name used in reports: path, or archive!member.
func (r Ref) String() string {
	if r.Member == "" {
		return r.Path
	}
	return r.Path + "!" + r.Member
}

func isZip(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".zip") }
func isTar(name string) bool {
	n := strings.ToLower(name)
	return strings.HasSuffix(n, ".tar") || strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz")
}

// safeMember cleans an archive member name and rejects absolute paths,
// parent escapes and empty names (the name is only used as a label, but a
// label like "../../x" would mislead whoever extracts by it).
func safeMember(name string) (string, bool) {
	name = strings.ReplaceAll(name, `\`, "/")
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, ":") && len(name) > 1 && name[1] == ':' {
		return "", false
	}
	c := path.Clean(name)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

// candidate reports whether a file name might be DICOM; names are not
// trusted (DICOM files often have no extension), so only names that are
// clearly something else are skipped.
func candidate(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	if strings.HasPrefix(base, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(base)) {
	case ".json", ".txt", ".md", ".nii", ".gz", ".xml", ".jpg", ".jpeg", ".png", ".csv", ".py", ".html", ".pdf", ".bval", ".bvec":
		return false
	}
	return base != "dicomdir"
}

// Walk lists the inputs under roots (files, folders searched recursively,
// zip and tar archives) in a stable order and calls fn for each with a
// function that opens it. Entries that cannot be DICOM by name are skipped.
// Archive members are visited in archive order, streamed: a tar is read
// once.
func Walk(ctx context.Context, roots []string, fn func(ref Ref, open func() (io.ReadCloser, error)) error) error {
	var files []string
	for _, root := range roots {
		st, err := os.Stat(root)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			files = append(files, root)
			continue
		}
		err = listTree(ctx, root, func(p string) {
			if isZip(p) || isTar(p) || candidate(p) {
				files = append(files, p)
			}
		})
		if err != nil {
			return err
		}
	}
	sort.Strings(files)
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch {
		case isZip(p):
			err = walkZip(ctx, p, fn)
		case isTar(p):
			err = walkTar(ctx, p, func(ref Ref, r io.Reader) error {
				return fn(ref, func() (io.ReadCloser, error) { return io.NopCloser(r), nil })
			})
		default:
			st, serr := os.Stat(p)
			if serr != nil {
				return serr
			}
			pp := p
			err = fn(Ref{Path: p, Size: st.Size()}, func() (io.ReadCloser, error) { return os.Open(pp) })
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// listTree calls fn with every regular file under root, following
// symbolic links to files and folders (git-annex and DataLad datasets are
// trees of links) and skipping hidden folders. A folder is entered once:
// links that lead back into a folder already entered (a loop, or two links
// to one folder) are skipped, so each file is listed under its first path
// in lexical order. Broken links are skipped. It stops when ctx is done.
func listTree(ctx context.Context, root string, fn func(path string)) error {
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return err
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, d := range ents {
			p := filepath.Join(dir, d.Name())
			typ := d.Type()
			if typ&fs.ModeSymlink != 0 {
				st, err := os.Stat(p)
				if err != nil {
					continue // broken link
				}
				typ = st.Mode().Type()
			}
			switch {
			case typ.IsDir():
				if strings.HasPrefix(d.Name(), ".") {
					continue
				}
				if err := walk(p); err != nil {
					return err
				}
			case typ.IsRegular():
				fn(p)
			}
		}
		return nil
	}
	return walk(root)
}

func walkZip(ctx context.Context, p string, fn func(ref Ref, open func() (io.ReadCloser, error)) error) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer zr.Close()
	return walkZipReader(ctx, p, &zr.Reader, fn)
}

// walkZipReader is walkZip over an open zip (a file, or an object read by
// ranged GETs), its members named under p.
func walkZipReader(ctx context.Context, p string, zr *zip.Reader, fn func(ref Ref, open func() (io.ReadCloser, error)) error) error {
	n := 0
	for _, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if zf.FileInfo().IsDir() || !zf.Mode().IsRegular() {
			continue
		}
		name, ok := safeMember(zf.Name)
		if !ok || !candidate(name) || zf.UncompressedSize64 > maxMemberBytes {
			continue
		}
		if n++; n > maxMemberCount {
			return fmt.Errorf("%s: more than %d members", p, maxMemberCount)
		}
		zf := zf
		open := func() (io.ReadCloser, error) {
			rc, err := zf.Open()
			if err != nil {
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{io.LimitReader(rc, maxMemberBytes), rc}, nil
		}
		if err := fn(Ref{Path: p, Member: name, Size: int64(zf.UncompressedSize64)}, open); err != nil {
			return err
		}
	}
	return nil
}

// walkTar streams a (gzipped) tar once, calling fn with a reader for each
// regular member; links and devices are skipped.
func walkTar(ctx context.Context, p string, fn func(ref Ref, r io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return walkTarReader(ctx, p, f, func(m tarMember) error {
		if m.at > 0 {
			m.ref.Hdr, m.ref.At = m.hdr, m.at
		}
		return fn(m.ref, m.r)
	})
}

// tarMember is one regular member as walkTarReader meets it.
type tarMember struct {
	ref Ref
	r   io.Reader // its bytes, valid until the walk moves on
	// hdr is where its header blocks (a PAX or GNU long-name header
	// included) start in the uncompressed tar stream, at where its bytes
	// start; at is -1 for a member whose bytes are not stored as one run
	// there (a PAX sparse file).
	hdr, at int64
}

// walkTarReader is walkTar over a stream (a file, or an object's body),
// its members named under p; p's suffix says whether it is gzipped.
func walkTarReader(ctx context.Context, p string, f io.Reader, fn func(m tarMember) error) error {
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if n := strings.ToLower(p); strings.HasSuffix(n, ".gz") || strings.HasSuffix(n, ".tgz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		defer zr.Close()
		r = zr
	}
	// Counted between the buffer and the tar reader, the bytes read are
	// the tar reader's position: it reads whole blocks and nothing ahead.
	pos := &countingReader{r: r}
	tr := tar.NewReader(pos)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The next header starts where the last member's bytes end,
		// padded to a block (Next would read through them anyway).
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		hdr := (pos.n + 511) &^ 511
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name, ok := safeMember(h.Name)
		if !ok || !candidate(name) || h.Size > maxMemberBytes {
			continue
		}
		if n++; n > maxMemberCount {
			return fmt.Errorf("%s: more than %d members", p, maxMemberCount)
		}
		at := pos.n
		if sparsePAX(h) {
			at = -1
		}
		if err := fn(tarMember{ref: Ref{Path: p, Member: name, Size: h.Size}, r: io.LimitReader(tr, h.Size), hdr: hdr, at: at}); err != nil {
			return err
		}
	}
}

// sparsePAX reports a member stored in the PAX sparse format: a regular
// file whose stored bytes are a map followed by the non-hole runs.
func sparsePAX(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readRef reads a whole input into memory, reusing *buf's capacity when
// buf is not nil (the bytes are then only valid until the next call).
func readRef(ref Ref, open func() (io.ReadCloser, error), buf *[]byte) ([]byte, error) {
	if ref.Size > maxFileBytes {
		return nil, &Error{Path: ref.String(), Reason: fmt.Sprintf("file of %d bytes exceeds the %d-byte limit", ref.Size, int64(maxFileBytes))}
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b []byte
	if buf != nil {
		b = (*buf)[:0]
	}
	if int64(cap(b)) < ref.Size+1 {
		b = make([]byte, 0, ref.Size+1)
	}
	for {
		if len(b) == cap(b) {
			if int64(len(b)) >= maxFileBytes {
				return nil, &Error{Path: ref.String(), Reason: "file exceeds the size limit"}
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := rc.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &Error{Path: ref.String(), Err: err}
		}
	}
	if buf != nil {
		*buf = b
	}
	return b, nil
}

// errAllRead stops an archive's walk once every member wanted is read.
var errAllRead = errors.New("every member wanted is read")

// ReadRefs reads the given inputs, calling fn with each one's bytes (or
// the error reading it), in a single pass per archive; plain files are read
// in the order given. The bytes passed to fn are only valid during the call.
// An error returned by fn stops the reading.
func ReadRefs(ctx context.Context, refs []Ref, fn func(ref Ref, data []byte, err error) error) error {
	byArchive := map[string]map[string]bool{}
	var archives []string
	for _, r := range refs {
		if r.Member == "" {
			continue
		}
		if byArchive[r.Path] == nil {
			byArchive[r.Path] = map[string]bool{}
			archives = append(archives, r.Path)
		}
		byArchive[r.Path][r.Member] = true
	}
	var buf []byte
	for _, r := range refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Member != "" {
			continue
		}
		data, err := readRef(r, func() (io.ReadCloser, error) { return os.Open(r.Path) }, &buf)
		if err := fn(r, data, err); err != nil {
			return err
		}
	}
	for _, a := range archives {
		want := byArchive[a]
		visit := func(ref Ref, open func() (io.ReadCloser, error)) error {
			if !want[ref.Member] {
				return nil
			}
			delete(want, ref.Member)
			data, err := readRef(ref, open, &buf)
			if err := fn(ref, data, err); err != nil {
				return err
			}
			if len(want) == 0 {
				// A tar is read no further than its last member wanted.
				return errAllRead
			}
			return nil
		}
		var err error
		if ms, ok := placed(a, want, refs); ok {
			err = readTarPlaced(ctx, a, ms, func(ref Ref, data []byte, err error) error {
				delete(want, ref.Member)
				return fn(ref, data, err)
			}, &buf)
		} else if isZip(a) {
			err = walkZip(ctx, a, visit)
		} else {
			err = walkTar(ctx, a, func(ref Ref, r io.Reader) error {
				return visit(ref, func() (io.ReadCloser, error) { return io.NopCloser(r), nil })
			})
		}
		if err != nil && !errors.Is(err, errAllRead) {
			return err
		}
		missing := make([]string, 0, len(want))
		for m := range want {
			missing = append(missing, m)
		}
		sort.Strings(missing)
		for _, m := range missing {
			if err := fn(Ref{Path: a, Member: m}, nil, fmt.Errorf("%s!%s: member not found", a, m)); err != nil {
				return err
			}
		}
	}
	return nil
}

// placed returns the members of the plain tar a that refs name and want
// lists, in archive order, when every one of them was placed while
// planning (Ref.At); else false, and the archive is streamed.
func placed(a string, want map[string]bool, refs []Ref) ([]Ref, bool) {
	if !isPlainTar(a) {
		return nil, false
	}
	var ms []Ref
	for _, r := range refs {
		if r.Path != a || !want[r.Member] {
			continue
		}
		if r.At < r.Hdr+512 || r.Hdr < 0 {
			return nil, false
		}
		ms = append(ms, r)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].At < ms[j].At })
	return ms, len(ms) == len(want)
}

// readTarPlaced reads members ms of the plain tar a where planning placed
// them, each member's headers parsed again and checked against its name
// and size (an archive changed since planning fails naming the member),
// and calls fn with each one's bytes in archive order.
func readTarPlaced(ctx context.Context, a string, ms []Ref, fn func(ref Ref, data []byte, err error) error, buf *[]byte) error {
	f, err := os.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := make([]byte, m.At-m.Hdr)
		if _, err := f.ReadAt(hdr, m.Hdr); err != nil {
			return fmt.Errorf("%s: header at %d: %w", m, m.Hdr, err)
		}
		if err := checkMemberHeader(hdr, m, m.Hdr); err != nil {
			return err
		}
		data, err := readRef(m, func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(f, m.At, m.Size)), nil
		}, buf)
		if err := fn(m, data, err); err != nil {
			return err
		}
	}
	return nil
}
