package dicom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/shards"
)

// Object-store roots (s3://, file://, …) among a source's paths.
//
// Planning reads headers only, as for local files: each object's header is
// fetched with ranged GETs of the same growing prefixes ReadHeader reads
// from a file (64 KiB, then ×4 until the walker reaches the Pixel Data
// element; readHeaderPrefix serves both), parsed in memory, and handed to
// the one scan every root goes through, named by the object's URL
// (storage.ObjectURL, without connection parameters), so unit paths,
// sample provenance and quarantine records name objects, identically in
// every task and on every machine. Nothing is written locally while
// planning: a bucket of millions of objects must not become millions of
// local files.
//
// Reading a series downloads its objects whole (an archive's members it
// extracts, remotearchive.go), concurrently (bounded by
// the store's limit), into a temporary folder that lives for that one read,
// and hands that folder's copy to ReadSeries. Whole objects, not ranges:
// a DICOM file is small (a CT or MR slice is 0.1–1 MB, a whole series
// rarely over a few hundred MB) and every byte of it is needed, so one GET
// per object is the fewest round trips; a temporary file rather than
// memory because ReadSeries reads files, and the copy is read back from the
// page cache at once.

// remoteRoot is one object-store root: the URL prefix of its objects'
// names, and the open store.
type remoteRoot struct {
	url      string // storage.ObjectURL(root, "")
	st       *storage.Bucket
	archives map[string]*archiveIndex // zip and tar objects planned, by key
}

// planRoots is Plan's view of the roots: local ones to walk, and the
// headers of the objects under the URL roots, read already.
type planRoots struct {
	local   []string
	remote  []remoteRoot
	headers []scanned
}

// readRemote reads the headers of the objects under every URL root (see
// above). Objects that cannot be read (archives, unsafe keys, failed
// reads) come back as headers with their URL and reason, so Plan turns
// them into units the runner quarantines. Zip and tar objects are read as
// archives (remotearchive.go).
func readRemote(ctx context.Context, roots []string) (*planRoots, error) {
	pr := &planRoots{}
	for _, root := range roots {
		if !storage.IsURL(root) {
			pr.local = append(pr.local, root)
			continue
		}
		b, err := storage.Open(ctx, root, storage.Options{})
		if err != nil {
			return nil, err
		}
		rr := remoteRoot{url: storage.ObjectURL(root, ""), st: b, archives: map[string]*archiveIndex{}}
		hs, err := rr.headers(ctx)
		if err != nil {
			return nil, err
		}
		pr.headers = append(pr.headers, hs...)
		pr.remote = append(pr.remote, rr)
	}
	return pr, nil
}

// archiveStreams is how many archive objects planning streams at once.
const archiveStreams = 4

// headers lists one root page by page while workers fetch headers, then
// reads the archives found, archiveStreams at a time, and returns the headers in URL
// order (an archive's members in archive order), as a walk of local files
// orders its files.
func (rr remoteRoot) headers(ctx context.Context) ([]scanned, error) {
	type job struct {
		key  string
		size int64
		out  *scanned
	}
	jobs := make(chan job)
	var out []*scanned
	skip := func(key string, size int64, why string) {
		out = append(out, &scanned{ref: Ref{Path: rr.url + key, Size: size}, err: errors.New(rr.url + key + ": " + why)})
	}
	type archive struct {
		key  string
		size int64
	}
	var archives []archive
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out.h, j.out.err = rr.header(ctx, j.key, j.size)
			}
		}()
	}
	err := rr.st.List(ctx, "", func(o storage.Object) error {
		if !safeKey(o.Key) {
			skip(o.Key, o.Size, "object key is not a safe relative path")
			return nil
		}
		if hiddenKey(o.Key) {
			return nil
		}
		switch {
		case isZip(o.Key) || isTar(o.Key):
			archives = append(archives, archive{o.Key, o.Size})
			return nil
		case !candidate(o.Key):
			return nil
		}
		sc := &scanned{ref: Ref{Path: rr.url + o.Key, Size: o.Size}}
		out = append(out, sc)
		select {
		case jobs <- job{o.Key, o.Size, sc}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(jobs)
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	res := make([]scanned, len(out))
	for i, sc := range out {
		res[i] = *sc
	}
	// Archives are streamed whole, a few at a time: each is one long GET,
	// and their members' headers parse on the goroutine that streams them.
	hs := make([][]scanned, len(archives))
	idx := make([]*archiveIndex, len(archives))
	errs := make([]error, len(archives))
	sem := make(chan struct{}, archiveStreams)
	for i, a := range archives {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			hs[i], idx[i], errs[i] = rr.archiveHeaders(ctx, a.key, a.size)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, a := range archives {
		rr.archives[a.key] = idx[i]
		res = append(res, hs[i]...)
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].ref.Path < res[j].ref.Path })
	return res, nil
}

// safeKey reports whether key is a clean relative path: one with "..",
// "." or backslashes would name another object to any tool that cleans
// the URL it is recorded under.
func safeKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "/") || strings.ContainsRune(key, '\\') {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." {
			return false
		}
	}
	return true
}

// hiddenKey reports a key under a hidden folder, which a local walk skips.
func hiddenKey(key string) bool {
	dir := path.Dir(key)
	return dir != "." && (strings.HasPrefix(dir, ".") || strings.Contains(dir, "/."))
}

// header reads the header of one object of size bytes as scanHeader reads
// a local file: an empty or cut .dcm is broken, an object that does not
// sniff as DICOM is not DICOM, the rest is parsed from the prefixes
// ReadHeader would read. The first prefix serves the sniffing too, so a
// small file costs one GET.
func (rr remoteRoot) header(ctx context.Context, key string, size int64) (*Header, error) {
	name := rr.url + key
	read := func(off, n int64) ([]byte, error) {
		b, err := rr.st.ReadRange(ctx, key, off, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(b)) < n {
			return nil, fmt.Errorf("%s: object ended after %d bytes, listed with %d: %w", name, off+int64(len(b)), size, io.ErrUnexpectedEOF)
		}
		return b, nil
	}
	var first []byte
	if size > 0 {
		var err error
		if first, err = read(0, min(int64(headerChunk), size)); err != nil {
			return nil, err
		}
	}
	head := first[:min(len(first), 132)]
	if why := brokenHead(key, head); why != "" {
		return nil, &Error{Path: name, Reason: why}
	}
	if !sniffBytes(key, head) {
		return nil, fmt.Errorf("%s: %w", name, errNotDICOM)
	}
	return readHeaderPrefix(name, size, func(off, n int64) ([]byte, error) {
		if off == 0 && n == int64(len(first)) {
			return first, nil
		}
		return read(off, n)
	})
}

// readSeriesFrom reads a series through ReadSeries, first downloading it
// to a temporary folder when its files are objects (see above). An object
// deleted, truncated or changed since planning fails the series with an
// error naming the object's URL.
func (s *Source) readSeriesFrom(ctx context.Context, se *Series) ([]*shards.Image, error) {
	if len(se.Slices) == 0 || !storage.IsURL(se.Slices[0].Ref.Path) {
		return s.readLocal(ctx, se)
	}
	tmp, err := os.MkdirTemp("", "medmd-dicom-read-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var refs []Ref
	members := map[string][]Ref{} // archive URL → its members in the series
	var archives []string
	for _, r := range se.Refs() {
		if r.Member == "" {
			refs = append(refs, r)
			continue
		}
		if members[r.Path] == nil {
			archives = append(archives, r.Path)
		}
		members[r.Path] = append(members[r.Path], r)
	}
	local := make(map[string]string, len(refs)+len(archives)) // URL → local file
	for i, r := range refs {
		local[r.Path] = filepath.Join(tmp, strconv.Itoa(i)+"_"+path.Base(r.Path))
	}
	errs := make([]error, len(refs)+len(archives))
	dirs := make([]string, len(archives))
	found := make([]string, len(archives))
	for i := range archives {
		dirs[i] = filepath.Join(tmp, "a"+strconv.Itoa(i))
		if err := os.Mkdir(dirs[i], 0o755); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, a := range archives {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			found[i], errs[len(refs)+i] = s.extractMembers(ctx, members[a], dirs[i])
		}()
	}
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.download(ctx, r, local[r.Path])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, a := range archives {
		local[a] = found[i]
	}
	return s.readCopies(ctx, se, local)
}

// readCopies reads se with the files (and archives) that copies maps
// read from their local copies instead; errors and the images' source
// paths name the originals.
func (s *Source) readCopies(ctx context.Context, se *Series, copies map[string]string) ([]*shards.Image, error) {
	cp := *se
	cp.Slices = append([]Slice(nil), se.Slices...)
	for i := range cp.Slices {
		if c, ok := copies[cp.Slices[i].Ref.Path]; ok {
			cp.Slices[i].Ref.Path = c
		}
	}
	imgs, err := ReadSeries(ctx, &cp, s.read)
	if err != nil {
		msg := err.Error()
		for orig, c := range copies {
			msg = strings.ReplaceAll(msg, c, orig)
		}
		return nil, shards.Reworded(err, msg)
	}
	for _, im := range imgs {
		im.SourcePath = se.Slices[0].Ref.String()
	}
	return imgs, nil
}

// download copies one object, checked against the size it was listed
// with, to a local file.
func (s *Source) download(ctx context.Context, r Ref, dst string) error {
	rr := s.rootOf(r.Path)
	if rr == nil {
		return fmt.Errorf("%s: no configured root holds this object", r.Path)
	}
	data, err := rr.st.ReadAll(ctx, strings.TrimPrefix(r.Path, rr.url), maxFileBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Path, err)
	}
	if int64(len(data)) != r.Size {
		err := errors.New("changed after planning")
		if int64(len(data)) < r.Size {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%s: object of %d bytes, listed with %d (truncated or replaced since planning): %w", r.Path, len(data), r.Size, err)
	}
	return os.WriteFile(dst, data, 0o644)
}
