package dicom

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/medmd/medmd/ingest/storage"
)

// Zip and tar archives among an object-store root's objects.
//
// They are read as a local archive is (walkZipReader, walkTarReader: the
// same member limits, unsafe names and non-DICOM names skipped, every
// member read through readRef's size bound), without a local copy:
//
//   - a zip through an io.ReaderAt over the object: archive/zip reads the
//     end record and central directory, then each member, at offsets, and
//     each read is a ranged GET (a block of zipBlock bytes at a time, so
//     flate's small reads do not each cost a round trip). Planning reads a
//     member's header by reading the member; reading a series fetches only
//     its members' ranges, not the whole archive.
//   - a tar (or .tar.gz, .tgz) streamed: one GET of the whole object (a
//     dropped connection is resumed from the byte it stopped at), its
//     members read as they go past. A tar has no index, so reading a
//     series streams the archive again up to its last member.
//
// Members are named url!member, as a local archive's are path!member. An
// archive that cannot be read to its end (cut, not a zip, a gzip error,
// changed since listing) is one unit that fails naming its URL: none of
// its members are planned, so a half-read archive never yields a partial
// series.

// zipBlock is how much of a zip object one ranged GET fetches.
const zipBlock = 1 << 20

// objectReaderAt is an io.ReaderAt over one object of a known size, with a
// one-block read-ahead cache. It is safe for concurrent use.
type objectReaderAt struct {
	ctx  context.Context
	st   *storage.Bucket
	key  string
	name string // the object's URL, for errors
	size int64

	mu  sync.Mutex
	off int64
	buf []byte
}

func (o *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset", o.name)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= o.size {
			return n, io.EOF
		}
		o.mu.Lock()
		if at < o.off || at >= o.off+int64(len(o.buf)) {
			want := min(max(int64(len(p)-n), zipBlock), o.size-at)
			b, err := o.st.ReadRange(o.ctx, o.key, at, want)
			if err != nil {
				o.mu.Unlock()
				return n, fmt.Errorf("%s: %w", o.name, err)
			}
			if int64(len(b)) < want {
				o.mu.Unlock()
				return n, fmt.Errorf("%s: object ended after %d bytes, listed with %d: %w", o.name, at+int64(len(b)), o.size, io.ErrUnexpectedEOF)
			}
			o.off, o.buf = at, b
		}
		n += copy(p[n:], o.buf[at-o.off:])
		o.mu.Unlock()
	}
	return n, nil
}

// walkObjectArchive walks the archive object key of size bytes as Walk
// walks a local one, its members named under the object's URL.
func (rr remoteRoot) walkObjectArchive(ctx context.Context, key string, size int64, fn func(ref Ref, open func() (io.ReadCloser, error)) error) error {
	name := rr.url + key
	if isZip(key) {
		zr, err := zip.NewReader(&objectReaderAt{ctx: ctx, st: rr.st, key: key, name: name, size: size}, size)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return walkZipReader(ctx, name, zr, fn)
	}
	body, err := rr.st.NewReader(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer body.Close()
	cr := &countingReader{r: body}
	err = walkTarReader(ctx, name, cr, func(ref Ref, r io.Reader) error {
		return fn(ref, func() (io.ReadCloser, error) { return io.NopCloser(r), nil })
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

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// archiveHeaders reads the headers of an archive object's members (see
// above); an archive that fails anywhere is one entry naming its URL.
func (rr remoteRoot) archiveHeaders(ctx context.Context, key string, size int64) ([]scanned, error) {
	var out []scanned
	err := rr.walkObjectArchive(ctx, key, size, func(ref Ref, open func() (io.ReadCloser, error)) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := scanHeader(ref, open)
		out = append(out, scanned{ref: ref, h: h, err: err})
		return nil
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return []scanned{{ref: Ref{Path: rr.url + key, Size: size}, err: fmt.Errorf("archive not read: %w", err)}}, nil
	}
	return out, nil
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
	size, ok := rr.archives[key]
	if !ok {
		return "", fmt.Errorf("%s: archive was not planned", url)
	}
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
		zr, err := zip.NewReader(&objectReaderAt{ctx: ctx, st: rr.st, key: key, name: url, size: size}, size)
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
	} else {
		tw := tar.NewWriter(f)
		err := rr.walkObjectArchive(ctx, key, size, func(ref Ref, open func() (io.ReadCloser, error)) error {
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
			return nil
		})
		if err != nil {
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
