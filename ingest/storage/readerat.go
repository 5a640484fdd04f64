package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// readBlock is how much of an object one ranged GET of a ReaderAt fetches
// at least: readers of zip and Parquet files make many small reads (flate's
// buffer, page headers) that must not each cost a round trip.
const readBlock = 1 << 20

// ReaderAt is an io.ReaderAt and io.Seeker over one object of a known size
// (archive/zip and Parquet readers need both), each read a ranged GET of at
// least readBlock bytes kept as a one-block read-ahead. It is safe for
// concurrent use; Seek moves only the offset that Read uses.
type ReaderAt struct {
	ctx   context.Context
	b     *Bucket
	key   string
	name  string // the object's URL, for errors
	size  int64
	block int64 // the least one GET fetches

	mu  sync.Mutex
	off int64 // where buf starts
	buf []byte
	pos int64 // Read's offset
}

// NewReaderAt reads object key, listed with size bytes, under ctx. name
// names it in errors. A read finding the object shorter than size fails
// with io.ErrUnexpectedEOF: the object was cut or replaced since listing.
func (b *Bucket) NewReaderAt(ctx context.Context, key, name string, size int64) *ReaderAt {
	return &ReaderAt{ctx: ctx, b: b, key: key, name: name, size: size, block: readBlock}
}

// NewExactReaderAt is NewReaderAt for a reader whose reads are sized to
// what it needs (shards.PartIDs reads metadata and id buffers between
// volumes): each read missing the last one's bytes is one ranged GET of
// exactly its bytes.
func (b *Bucket) NewExactReaderAt(ctx context.Context, key, name string, size int64) *ReaderAt {
	r := b.NewReaderAt(ctx, key, name, size)
	r.block = 0
	return r
}

func (o *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
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
			want := min(max(int64(len(p)-n), o.block), o.size-at)
			b, err := o.b.ReadRange(o.ctx, o.key, at, want)
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

// Read reads from the offset Seek set.
func (o *ReaderAt) Read(p []byte) (int, error) {
	o.mu.Lock()
	pos := o.pos
	o.mu.Unlock()
	n, err := o.ReadAt(p, pos)
	o.mu.Lock()
	o.pos = pos + int64(n)
	o.mu.Unlock()
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the offset Read uses.
func (o *ReaderAt) Seek(offset int64, whence int) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("storage: bad whence")
	}
	if offset < 0 {
		return 0, fmt.Errorf("%s: seek to negative offset", o.name)
	}
	o.pos = offset
	return offset, nil
}
