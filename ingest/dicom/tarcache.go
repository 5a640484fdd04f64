package dicom

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/medmd/medmd/shards"
)

// A gzipped tar cannot be entered midway, and its series are read one
// unit at a time: streamed again per series, an archive of n series would
// cost about n/2 downloads (from a bucket) or inflations (on disk).
// tarCache instead keeps the last few gzipped tars read inflated to local
// plain tars, and series are read out of those at the offsets planning
// noted (copyTarRanges for objects, placed reads for files). An object is
// inflated whole when first read; a file on disk only as far as the reads
// so far have needed (inflation), so a series near the archive's start
// does not wait for the rest. Units are planned in path order, so an
// archive's series are read close together and a short list holds the
// ones in use.

// tarCacheSize is how many inflated archives are kept besides those in
// use.
const tarCacheSize = 2

// tarCache is a Source's inflated gzipped tars, in a temporary folder
// made on first use and removed by Close. It is safe for concurrent use.
type tarCache struct {
	mu      sync.Mutex
	dir     string
	made    int         // files made, to name the next
	entries []*tarEntry // least recently used first
}

// tarEntry is one archive: being inflated until ready is closed, then
// path (or err, and it is dropped from the cache).
type tarEntry struct {
	url   string
	ready chan struct{}
	path  string
	err   error
	refs  int  // readers holding it
	gone  bool // evicted: its file goes with the last reader
	cache *tarCache
	// grow, for a file on disk, is its inflation so far; nil for an
	// object's copy, which is whole.
	grow *inflation
}

// acquire returns the inflated copy of the archive url, calling fill to
// make it at e.path (once, however many callers want it at the same time).
// The caller releases it when done reading.
func (c *tarCache) acquire(ctx context.Context, url string, fill func(e *tarEntry) error) (*tarEntry, error) {
	c.mu.Lock()
	if c.dir == "" {
		d, err := os.MkdirTemp("", "medmd-dicom-tars-*")
		if err != nil {
			c.mu.Unlock()
			return nil, err
		}
		c.dir = d
	}
	var e *tarEntry
	for i, x := range c.entries {
		if x.url == url {
			e = x
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), x)
			break
		}
	}
	owner := e == nil
	if owner {
		c.made++
		e = &tarEntry{url: url, ready: make(chan struct{}), cache: c, path: filepath.Join(c.dir, strconv.Itoa(c.made)+".tar")}
		c.entries = append(c.entries, e)
	}
	e.refs++
	c.mu.Unlock()
	if owner {
		e.err = fill(e)
		c.mu.Lock()
		if e.err != nil {
			c.drop(e)
		} else {
			c.evict() // only now: a failed fill must not push out a good copy
		}
		c.mu.Unlock()
		close(e.ready)
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		e.release()
		return nil, ctx.Err()
	}
	if e.err != nil {
		e.release()
		return nil, e.err
	}
	return e, nil
}

// release lets go of an entry acquire returned.
func (e *tarEntry) release() {
	c := e.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.gone && e.refs == 0 {
		e.remove()
	}
}

// remove deletes the entry's file (and closes its inflation). The cache's
// lock is held and no reader holds the entry.
func (e *tarEntry) remove() {
	if e.grow != nil {
		e.grow.close()
	}
	os.Remove(e.path)
}

// evict drops the least recently used entries not in use beyond
// tarCacheSize. c.mu is held.
func (c *tarCache) evict() {
	for over := len(c.entries) - tarCacheSize; over > 0; over-- {
		for _, x := range c.entries {
			if x.refs == 0 {
				c.drop(x)
				break
			}
		}
	}
}

// drop removes e from the list, and its file unless it is in use. c.mu is
// held.
func (c *tarCache) drop(e *tarEntry) {
	for i, x := range c.entries {
		if x == e {
			c.entries = append(c.entries[:i:i], c.entries[i+1:]...)
			break
		}
	}
	e.gone = true
	if e.refs == 0 {
		e.remove()
	}
}

// Close removes every inflated archive.
func (c *tarCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		e.gone = true
		if e.grow != nil {
			e.grow.close()
		}
	}
	c.entries = nil
	if c.dir == "" {
		return nil
	}
	err := os.RemoveAll(c.dir)
	c.dir = ""
	return err
}

// inflateTar writes the gzipped tar object key (listed with size bytes)
// inflated to dst: its first end bytes, which hold every member planned,
// then checks the rest of the stream to its CRC and the object to its
// listed size, so a copy is only ever made of the archive planned.
func (rr remoteRoot) inflateTar(ctx context.Context, key string, size, end int64, dst string) error {
	url := rr.url + key
	body, err := rr.st.NewReader(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer body.Close()
	cr := &countingReader{r: body}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(f, zr, end); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if cr.n != size {
		return fmt.Errorf("%s: object of %d bytes, listed with %d (truncated or replaced since listing): %w", url, cr.n, size, io.ErrUnexpectedEOF)
	}
	return f.Close()
}

// inflation is a gzipped tar on disk inflated, into dst, as far as reads
// have needed; the gzip reader waits where it stopped.
type inflation struct {
	mu  sync.Mutex
	src *os.File // the .tar.gz
	zr  *gzip.Reader
	dst *os.File // the inflated prefix
	n   int64    // bytes in dst
	err error    // the error that stopped it, for every later read
}

// inflateFile starts the inflation of the gzipped tar src into dst.
func inflateFile(src, dst string) (*inflation, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	d, err := os.Create(dst)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &inflation{src: f, zr: zr, dst: d}, nil
}

// inflateChunk is how much upTo inflates between looks at its context.
const inflateChunk = 4 << 20

// upTo inflates until the copy holds end bytes. A stream that ends or
// breaks first fails naming the archive: it changed since planning.
func (x *inflation) upTo(ctx context.Context, end int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.n < end && x.err == nil {
		if err := ctx.Err(); err != nil {
			return err // not sticky: another reader may go on
		}
		m, err := io.CopyN(x.dst, x.zr, min(end-x.n, inflateChunk))
		x.n += m
		if err != nil {
			x.err = fmt.Errorf("%s: inflated %d bytes of the %d planned (archive changed since planning): %w", x.src.Name(), x.n, end, err)
		}
	}
	if x.n < end {
		return x.err
	}
	return nil
}

func (x *inflation) close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.src.Close()
	x.dst.Close()
	if x.err == nil {
		x.err = fmt.Errorf("%s: inflation closed", x.src.Name())
	}
}

// countArchives counts se once for each archive it reads (seriesIn).
func (s *Source) countArchives(se *Series) {
	archives := map[string]bool{}
	for _, r := range se.Refs() {
		if r.Member != "" && !archives[r.Path] {
			archives[r.Path] = true
			s.seriesIn[r.Path]++
		}
	}
}

// readLocal reads a series of files on disk. Members of gzipped tars that
// several planned series read are read from their inflated copies
// (tarCache), at the offsets planning placed them, the copies inflated as
// far as this series needs; errors name the archive, not its copy. An
// archive of one series (a study per .tgz) is streamed once, as before,
// and so is one with a member not placed (sparse).
func (s *Source) readLocal(ctx context.Context, se *Series) ([]*shards.Image, error) {
	end := map[string]int64{} // gzipped tar → where its last member wanted ends
	unplaced := map[string]bool{}
	for _, r := range se.Refs() {
		if r.Member == "" || !isTar(r.Path) || isPlainTar(r.Path) || s.seriesIn[r.Path] < 2 {
			continue
		}
		if r.At <= 0 {
			unplaced[r.Path] = true
		}
		end[r.Path] = max(end[r.Path], r.At+r.Size)
	}
	for a := range unplaced {
		delete(end, a)
	}
	if len(end) == 0 {
		return ReadSeries(ctx, se, s.read)
	}
	copies := map[string]string{} // archive → its inflated copy
	for a, n := range end {
		e, err := s.tars.acquire(ctx, "file:"+a, func(e *tarEntry) error {
			var err error
			e.grow, err = inflateFile(a, e.path)
			return err
		})
		if err != nil {
			return nil, err
		}
		defer e.release()
		if err := e.grow.upTo(ctx, n); err != nil {
			return nil, err
		}
		copies[a] = e.path
	}
	return s.readCopies(ctx, se, copies)
}
