package dicom

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// A gzipped tar in a bucket cannot be entered midway, and its series are
// read one unit at a time: streamed again per series, an archive of n
// series would cost about n/2 downloads. tarCache instead inflates the
// last few gzipped tars read to local plain tars, once each, and series
// are copied out of those by the offsets planning noted (copyTarRanges).
// Units are planned in URL order, so an archive's series are read close
// together and a short list holds the ones in use.

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
}

// acquire returns the inflated copy of the archive url, calling fill to
// make it (once, however many callers want it at the same time). The
// caller releases it when done reading.
func (c *tarCache) acquire(ctx context.Context, url string, fill func(dst string) error) (*tarEntry, error) {
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
		e.err = fill(e.path)
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
		os.Remove(e.path)
	}
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
		os.Remove(e.path)
	}
}

// Close removes every inflated archive.
func (c *tarCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		e.gone = true
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
