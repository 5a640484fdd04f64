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
// element), written at the start of a sparse local file of the object's
// size, and the folder of such files is scanned by the one Scan every root
// goes through. The series found are then renamed: every file name is the
// object's URL (storage.ObjectURL, without connection parameters), so unit
// paths, sample provenance and quarantine records name objects, identically
// in every task and on every machine.
//
// Reading a series downloads its objects whole, concurrently (bounded by
// the store's limit), into a temporary folder that lives for that one read,
// and hands that folder's copy to ReadSeries. Whole objects, not ranges:
// a DICOM file is small (a CT or MR slice is 0.1–1 MB, a whole series
// rarely over a few hundred MB) and every byte of it is needed, so one GET
// per object is the fewest round trips; a temporary file rather than
// memory because ReadSeries reads files, and the copy is read back from the
// page cache at once.

// remoteRoot is one object-store root: where Plan staged its headers, the
// URL prefix of its objects' names, and the open store.
type remoteRoot struct {
	stage string // dir/<i>, removed when Plan returns
	url   string // storage.ObjectURL(root, "")
	st    *storage.Bucket
}

// staged is Plan's view of the roots: local ones as given, remote ones
// replaced by their folders of header-only files.
type staged struct {
	dir     string
	roots   []string
	remote  []remoteRoot
	skipped []Skipped
}

// stageRemote fetches the headers of the objects under every URL root
// (see above). Objects that cannot be staged (archives, unsafe keys,
// failed reads) come back as skipped files with their URL and reason, so
// Plan turns them into units the runner quarantines.
func stageRemote(ctx context.Context, roots []string) (*staged, error) {
	st := &staged{roots: append([]string(nil), roots...)}
	for i, root := range roots {
		if !storage.IsURL(root) {
			continue
		}
		if st.dir == "" {
			dir, err := os.MkdirTemp("", "medmd-dicom-plan-*")
			if err != nil {
				return nil, err
			}
			st.dir = dir
		}
		b, err := storage.Open(ctx, root, storage.Options{})
		if err != nil {
			st.remove()
			return nil, err
		}
		rr := remoteRoot{stage: filepath.Join(st.dir, strconv.Itoa(i)), url: storage.ObjectURL(root, ""), st: b}
		if err := os.MkdirAll(rr.stage, 0o755); err != nil {
			st.remove()
			return nil, err
		}
		if err := st.stageRoot(ctx, rr); err != nil {
			st.remove()
			return nil, err
		}
		st.roots[i] = rr.stage
		st.remote = append(st.remote, rr)
	}
	return st, nil
}

// stageRoot lists one root page by page while workers fetch headers.
func (st *staged) stageRoot(ctx context.Context, rr remoteRoot) error {
	type job struct {
		key  string
		size int64
	}
	jobs := make(chan job)
	var mu sync.Mutex
	skip := func(key, why string) {
		mu.Lock()
		st.skipped = append(st.skipped, Skipped{Ref: rr.url + key, Reason: rr.url + key + ": " + why, Kind: "error"})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := stageHeader(ctx, rr, j.key, j.size); err != nil && ctx.Err() == nil {
					skip(j.key, err.Error())
				}
			}
		}()
	}
	err := rr.st.List(ctx, "", func(o storage.Object) error {
		if !safeKey(o.Key) {
			skip(o.Key, "object key is not a safe relative path")
			return nil
		}
		if hiddenKey(o.Key) {
			return nil
		}
		switch {
		case isZip(o.Key) || isTar(o.Key):
			skip(o.Key, "zip and tar archives are read from local paths only; unpack the archive into the bucket")
			return nil
		case !candidate(o.Key):
			return nil
		}
		select {
		case jobs <- job{o.Key, o.Size}:
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
	return err
}

// safeKey reports whether key can name a file below the staging folder.
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

// stageHeader writes the header prefix of one object at the start of a
// sparse file of the object's size. It reads the prefixes ReadHeader reads,
// so ReadHeader on the staged file sees the same bytes and stops at the
// same length.
func stageHeader(ctx context.Context, rr remoteRoot, key string, size int64) error {
	var buf []byte
	for n := int64(headerChunk); ; n *= 4 {
		n = min(n, size)
		if int64(len(buf)) < n {
			more, err := rr.st.ReadRange(ctx, key, int64(len(buf)), n-int64(len(buf)))
			if err != nil {
				return err
			}
			buf = append(buf, more...)
			if int64(len(buf)) < n {
				return fmt.Errorf("object ended after %d bytes, listed with %d: %w", len(buf), size, io.ErrUnexpectedEOF)
			}
		}
		if n == size || size > maxFileBytes {
			break
		}
		if _, err := parseWith(key, buf, false, parseOpts{mode: parseHeader}); !errors.Is(err, errShort) {
			break
		}
	}
	p := filepath.Join(rr.stage, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rename gives every file Scan found under a staging folder its object's
// URL, and adds the objects that could not be staged.
func (st *staged) rename(res *ScanResult) {
	name := func(s string) string {
		for _, rr := range st.remote {
			s = strings.ReplaceAll(s, rr.stage+string(filepath.Separator), rr.url)
		}
		return s
	}
	for _, se := range res.Series {
		for i := range se.Slices {
			r := &se.Slices[i].Ref
			for _, rr := range st.remote {
				if rel, ok := strings.CutPrefix(r.Path, rr.stage+string(filepath.Separator)); ok {
					r.Path = rr.url + filepath.ToSlash(rel)
				}
			}
		}
		for i, w := range se.Warnings {
			se.Warnings[i] = name(w)
		}
	}
	for i := range res.Skipped {
		res.Skipped[i].Ref = name(res.Skipped[i].Ref)
		res.Skipped[i].Reason = name(res.Skipped[i].Reason)
	}
	res.Skipped = append(res.Skipped, st.skipped...)
	sort.SliceStable(res.Skipped, func(i, j int) bool { return res.Skipped[i].Ref < res.Skipped[j].Ref })
}

// remove deletes the staging folder; the stores stay open for Read.
func (st *staged) remove() {
	if st.dir != "" {
		os.RemoveAll(st.dir)
	}
}

// readSeriesFrom reads a series through ReadSeries, first downloading it
// to a temporary folder when its files are objects (see above). An object
// deleted, truncated or changed since planning fails the series with an
// error naming the object's URL.
func (s *Source) readSeriesFrom(ctx context.Context, se *Series) ([]*shards.Image, error) {
	if len(se.Slices) == 0 || !storage.IsURL(se.Slices[0].Ref.Path) {
		return ReadSeries(ctx, se, s.read)
	}
	tmp, err := os.MkdirTemp("", "medmd-dicom-read-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	refs := se.Refs()
	local := make(map[string]string, len(refs))
	for i, r := range refs {
		local[r.Path] = filepath.Join(tmp, strconv.Itoa(i)+"_"+path.Base(r.Path))
	}
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
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
	cp := *se
	cp.Slices = append([]Slice(nil), se.Slices...)
	for i := range cp.Slices {
		cp.Slices[i].Ref.Path = local[cp.Slices[i].Ref.Path]
	}
	imgs, err := ReadSeries(ctx, &cp, s.read)
	if err != nil {
		msg := err.Error()
		for u, p := range local {
			msg = strings.ReplaceAll(msg, p, u)
		}
		return nil, &maskedError{msg: msg, err: err}
	}
	return imgs, nil
}

// download copies one object, checked against the size it was listed
// with, to a local file.
func (s *Source) download(ctx context.Context, r Ref, dst string) error {
	var rr *remoteRoot
	for i := range s.remote {
		if strings.HasPrefix(r.Path, s.remote[i].url) {
			rr = &s.remote[i]
		}
	}
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
