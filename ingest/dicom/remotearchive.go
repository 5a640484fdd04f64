package dicom

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Zip and tar archives among an object-store root's objects.
//
// They are read as a local archive is (walkZipReader, walkTarReader: the
// same member limits, unsafe names and non-DICOM names skipped, every
// member read through readRef's size bound), without a local copy:
//
//   - a zip through an io.ReaderAt over the object (storage.ReaderAt):
//     archive/zip reads the end record and central directory, then each
//     member, at offsets, and each read is a ranged GET of at least 1 MiB,
//     so flate's small reads do not each cost a round trip. Planning reads a
//     member's header by reading the member; reading a series fetches only
//     its members' ranges, not the whole archive.
//   - a tar (or .tar.gz, .tgz) streamed while planning: one GET of the
//     whole object (a dropped connection is resumed from the byte it
//     stopped at), its members read as they go past. Planning notes where
//     each member's headers and bytes start in the uncompressed stream,
//     so reading a series copies only its members' ranges (runs of
//     neighbouring members at once, each member's headers parsed again
//     and checked against its planned name and size): from the object
//     by ranged GETs for a plain tar; for a gzipped one, which cannot be
//     entered midway, from a local inflated copy made once for all its
//     series (tarcache.go).
//
// Members are named url!member, as a local archive's are path!member. An
// archive that cannot be read to its end (cut, not a zip, a gzip error,
// changed since listing) is one unit that fails naming its URL: none of
// its members are planned, so a half-read archive never yields a partial
// series.

const (
	// tarGap is the most bytes between two members of a plain tar read
	// in one GET rather than two: the padding and header blocks between
	// neighbours, and long names' PAX headers, fit many times over.
	tarGap = 64 << 10
	// tarPiece bounds one ranged GET of a plain tar; tarAhead is how
	// many run ahead of the copy, so a series held in memory at once is
	// at most tarPiece×(tarAhead+2) bytes whatever its size.
	tarPiece = 4 << 20
	tarAhead = 4
)

// archiveIndex is what planning learnt of one archive object: the size it
// was listed with and, for a tar, where each member lies in the
// uncompressed stream.
type archiveIndex struct {
	size int64
	at   map[string]tarSpan // by member; nil but for a tar
	end  int64              // where the last member's bytes end in a tar
}

// tarSpan is where a plain tar member's header blocks and bytes start.
type tarSpan struct{ hdr, at int64 }

// isPlainTar reports a tar that is not compressed, whose members can be
// read by range.
func isPlainTar(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".tar") }

// walkObjectArchive walks the archive object key of size bytes as Walk
// walks a local one, its members named under the object's URL. at is
// where a tar member lies in the uncompressed stream (tarMember); a zip
// member's at is -1.
func (rr remoteRoot) walkObjectArchive(ctx context.Context, key string, size int64, fn func(ref Ref, at tarSpan, open func() (io.ReadCloser, error)) error) error {
	name := rr.url + key
	if isZip(key) {
		zr, err := zip.NewReader(rr.st.NewReaderAt(ctx, key, name, size), size)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return walkZipReader(ctx, name, zr, func(ref Ref, open func() (io.ReadCloser, error)) error {
			return fn(ref, tarSpan{-1, -1}, open)
		})
	}
	body, err := rr.st.NewReader(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer body.Close()
	cr := &countingReader{r: body}
	err = walkTarReader(ctx, name, cr, func(m tarMember) error {
		return fn(m.ref, tarSpan{m.hdr, m.at}, func() (io.ReadCloser, error) { return io.NopCloser(m.r), nil })
	})
	if err != nil {
		return err
	}
	// The tar's end is two zero blocks, often followed by padding: read the
	// rest so an object shorter or longer than listed is caught.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if cr.n != size {
		return fmt.Errorf("%s: object of %d bytes, listed with %d (truncated or replaced since listing): %w", name, cr.n, size, io.ErrUnexpectedEOF)
	}
	return nil
}

// archiveHeaders reads the headers of an archive object's members (see
// above) and indexes it; an archive that fails anywhere is one entry
// naming its URL.
func (rr remoteRoot) archiveHeaders(ctx context.Context, key string, size int64) ([]scanned, *archiveIndex, error) {
	var out []scanned
	idx := &archiveIndex{size: size}
	if isTar(key) {
		idx.at = map[string]tarSpan{}
	}
	err := rr.walkObjectArchive(ctx, key, size, func(ref Ref, at tarSpan, open func() (io.ReadCloser, error)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, dup := idx.at[ref.Member]; idx.at != nil && !dup {
			// A name met twice (an archive appended to with tar -r) is
			// read as a streaming read finds it: its first copy.
			idx.at[ref.Member] = at
			idx.end = max(idx.end, at.at+ref.Size)
		}
		h, err := scanHeader(ref, open)
		out = append(out, scanned{ref: ref, h: h, err: err})
		return nil
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err != nil {
		return []scanned{{ref: Ref{Path: rr.url + key, Size: size}, err: fmt.Errorf("archive not read: %w", err)}}, idx, nil
	}
	return out, idx, nil
}

// extractMembers copies the members refs names (all of one archive
// object, found by their cleaned names) into a local archive of the same
// kind under dir, in archive order, and returns its path: ReadSeries then
// reads them as it reads a local archive's, in the same order, so the
// series hashes alike. A zip's members are copied still compressed (their
// checksums are checked when ReadSeries inflates them); a tar's are
// written uncompressed. A member missing, cut, or of another size than
// planned fails with an error naming the object.
func (s *Source) extractMembers(ctx context.Context, refs []Ref, dir string) (string, error) {
	url := refs[0].Path
	rr := s.rootOf(url)
	if rr == nil {
		return "", fmt.Errorf("%s: no configured root holds this object", url)
	}
	key := url[len(rr.url):]
	// The size listed at planning: an object replaced since then is caught
	// by the zip reader's checks, a short read, or a member's size.
	idx, ok := rr.archives[key]
	if !ok {
		return "", fmt.Errorf("%s: archive was not planned", url)
	}
	size := idx.size
	want := map[string]int64{}
	for _, r := range refs {
		want[r.Member] = r.Size
	}
	ext := ".tar"
	if isZip(key) {
		ext = ".zip"
	}
	dst := filepath.Join(dir, "archive"+ext)
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	defer f.Close()
	take := func(member string, n int64) (bool, error) {
		planned, ok := want[member]
		if !ok {
			return false, nil
		}
		delete(want, member)
		if n != planned {
			return false, fmt.Errorf("%s!%s: member of %d bytes, planned with %d (archive replaced since planning)", url, member, n, planned)
		}
		return true, nil
	}
	if isZip(key) {
		zr, err := zip.NewReader(rr.st.NewReaderAt(ctx, key, url, size), size)
		if err != nil {
			return "", fmt.Errorf("%s: %w", url, err)
		}
		zw := zip.NewWriter(f)
		for _, zf := range zr.File {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			name, safe := safeMember(zf.Name)
			if zf.FileInfo().IsDir() || !zf.Mode().IsRegular() || !safe {
				continue
			}
			ok, err := take(name, int64(zf.UncompressedSize64))
			if err != nil {
				return "", err
			}
			if ok {
				if err := zw.Copy(zf); err != nil {
					return "", fmt.Errorf("%s!%s: %w", url, name, err)
				}
			}
		}
		if err := zw.Close(); err != nil {
			return "", err
		}
	} else if ms, ok := idx.members(refs); ok {
		fetch := rr.st.ReadRange
		if !isPlainTar(key) {
			e, err := s.tars.acquire(ctx, url, func(e *tarEntry) error { return rr.inflateTar(ctx, key, size, idx.end, e.path) })
			if err != nil {
				return "", err
			}
			defer e.release()
			if fetch, err = fileRanges(e.path); err != nil {
				return "", err
			}
		}
		if err := copyTarRanges(ctx, url, key, ms, fetch, tar.NewWriter(f)); err != nil {
			return "", err
		}
		want = nil
	} else {
		tw := tar.NewWriter(f)
		err := rr.walkObjectArchive(ctx, key, size, func(ref Ref, _ tarSpan, open func() (io.ReadCloser, error)) error {
			ok, err := take(ref.Member, ref.Size)
			if !ok || err != nil {
				return err
			}
			rc, err := open()
			if err != nil {
				return err
			}
			defer rc.Close()
			if err := tw.WriteHeader(&tar.Header{Name: ref.Member, Mode: 0o644, Size: ref.Size, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.Copy(tw, rc); err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			if len(want) == 0 {
				return errAllRead // the rest of the stream is not needed
			}
			return nil
		})
		if err != nil && !errors.Is(err, errAllRead) {
			return "", err
		}
		if err := tw.Close(); err != nil {
			return "", fmt.Errorf("%s: %w", url, err)
		}
	}
	if len(want) > 0 {
		missing := make([]string, 0, len(want))
		for m := range want {
			missing = append(missing, url+"!"+m)
		}
		sort.Strings(missing)
		return "", fmt.Errorf("%s: member not found (archive replaced since planning)", missing[0])
	}
	return dst, f.Close()
}

// rootOf is the configured object-store root holding url, or nil.
func (s *Source) rootOf(url string) *remoteRoot {
	var rr *remoteRoot
	for i := range s.remote {
		if len(url) > len(s.remote[i].url) && url[:len(s.remote[i].url)] == s.remote[i].url {
			rr = &s.remote[i]
		}
	}
	return rr
}

// tarAt is one member of a plain tar object and where it lies.
type tarAt struct {
	ref Ref
	tarSpan
}

// members is refs with their places in archive order, or false when the
// archive is not a plain tar indexed while planning or a member's bytes
// are not one run (sparse): the archive is then streamed.
func (idx *archiveIndex) members(refs []Ref) ([]tarAt, bool) {
	if idx.at == nil {
		return nil, false
	}
	ms := make([]tarAt, 0, len(refs))
	for _, r := range refs {
		sp, ok := idx.at[r.Member]
		if !ok || sp.hdr < 0 || sp.at < sp.hdr+512 {
			return nil, false
		}
		ms = append(ms, tarAt{ref: r, tarSpan: sp})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].at < ms[j].at })
	return ms, true
}

// span is the bytes [off, end) of an object.
type span struct{ off, end int64 }

// tarSpans is the ranged GETs that read members ms (in archive order),
// their headers included: neighbours less than tarGap apart share a run,
// and runs are cut into pieces of at most tarPiece bytes.
func tarSpans(ms []tarAt) []span {
	var runs []span
	for _, m := range ms {
		s := span{m.hdr, m.at + m.ref.Size}
		if n := len(runs); n > 0 && s.off-runs[n-1].end <= tarGap {
			runs[n-1].end = max(runs[n-1].end, s.end)
			continue
		}
		runs = append(runs, s)
	}
	var out []span
	for _, r := range runs {
		for off := r.off; off < r.end; off += tarPiece {
			out = append(out, span{off, min(off+tarPiece, r.end)})
		}
	}
	return out
}

// rangeFunc reads length bytes at offset of the object key (fewer where it
// ends): Bucket.ReadRange, or fileRanges' local file.
type rangeFunc func(ctx context.Context, key string, offset, length int64) ([]byte, error)

// fileRanges reads ranges of a local file (an inflated tar); the file is
// opened per read, so it needs no closing.
func fileRanges(path string) (rangeFunc, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return func(_ context.Context, _ string, off, n int64) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		b := make([]byte, n)
		k, err := f.ReadAt(b, off)
		if err == io.EOF {
			err = nil
		}
		return b[:k], err
	}, nil
}

// copyTarRanges writes members ms of the tar object key (named url in
// errors) to tw in archive order, their ranges (tarSpans) read by fetch,
// tarAhead ahead of the copy. Each member's headers are parsed again and
// must name the member with its planned size: an object replaced or cut
// since planning fails, naming its URL.
func copyTarRanges(ctx context.Context, url, key string, ms []tarAt, fetch rangeFunc, tw *tar.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sr := &spanReader{ctx: ctx, spans: tarSpans(ms), url: url}
	sr.pieces = prefetch(ctx, fetch, key, sr.spans, tarAhead)
	var hdr bytes.Buffer
	for _, m := range ms {
		hdr.Reset()
		if err := sr.copyRange(&hdr, m.hdr, m.at-m.hdr); err != nil {
			return err
		}
		if err := checkMemberHeader(hdr.Bytes(), m.ref, m.hdr); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.ref.Member, Mode: 0o644, Size: m.ref.Size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if err := sr.copyRange(tw, m.at, m.ref.Size); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}

// sameMember reports whether a header's name is the member planned under
// the cleaned name member.
func sameMember(name, member string) bool {
	n, ok := safeMember(name)
	return ok && n == member
}

// checkMemberHeader parses the header blocks found at offset off, where
// planning placed member ref of a tar: they must be whole and name it
// with its planned size, else the archive changed since planning.
func checkMemberHeader(hdr []byte, ref Ref, off int64) error {
	r := bytes.NewReader(hdr)
	h, err := tar.NewReader(r).Next()
	if err != nil || r.Len() != 0 || h.Size != ref.Size || !sameMember(h.Name, ref.Member) {
		return fmt.Errorf("%s: no header of this %d-byte member at offset %d (archive changed since planning)", ref, ref.Size, off)
	}
	return nil
}

// piece is one ranged GET's bytes.
type piece struct {
	b   []byte
	err error
}

// prefetch fetches spans of object key in order, at most ahead of them
// waiting beyond the one being read, and hands them over in order. Cancel
// ctx to stop it early.
func prefetch(ctx context.Context, fetch rangeFunc, key string, spans []span, ahead int) <-chan chan piece {
	out := make(chan chan piece, ahead)
	go func() {
		defer close(out)
		for _, s := range spans {
			c := make(chan piece, 1)
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
			go func() {
				b, err := fetch(ctx, key, s.off, s.end-s.off)
				c <- piece{b, err}
			}()
		}
	}()
	return out
}

// spanReader copies byte ranges of an object out of the pieces prefetch
// hands over, in increasing order of offset.
type spanReader struct {
	ctx    context.Context // prefetch's: why the pieces stopped
	url    string
	spans  []span
	pieces <-chan chan piece
	next   int    // index of the next piece to take
	cur    []byte // the piece taken last
	off    int64  // its offset in the object
}

// copyRange writes bytes [off, off+n) of the object to w; they lie within
// the spans, at or after every byte copied before.
func (sr *spanReader) copyRange(w io.Writer, off, n int64) error {
	for n > 0 {
		for off >= sr.off+int64(len(sr.cur)) {
			if err := sr.take(); err != nil {
				return err
			}
		}
		if off < sr.off {
			return fmt.Errorf("%s: range at %d read out of order", sr.url, off)
		}
		k := off - sr.off
		m := min(n, int64(len(sr.cur))-k)
		if _, err := w.Write(sr.cur[k : k+m]); err != nil {
			return err
		}
		off, n = off+m, n-m
	}
	return nil
}

// take moves to the next piece.
func (sr *spanReader) take() error {
	if sr.next >= len(sr.spans) {
		return fmt.Errorf("%s: range read past the planned spans", sr.url)
	}
	s := sr.spans[sr.next]
	c, ok := <-sr.pieces
	if !ok {
		return fmt.Errorf("%s: %w", sr.url, context.Cause(sr.ctx))
	}
	p := <-c
	if p.err != nil {
		return fmt.Errorf("%s: %w", sr.url, p.err)
	}
	if int64(len(p.b)) < s.end-s.off {
		return fmt.Errorf("%s: object ended after %d bytes (cut since planning): %w", sr.url, s.off+int64(len(p.b)), io.ErrUnexpectedEOF)
	}
	sr.next++
	sr.cur, sr.off = p.b, s.off
	return nil
}
