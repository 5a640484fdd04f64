package shards

import (
	"crypto/sha256"
	"hash"
	"sync"
	"unsafe"
)

// asyncHash is a SHA-256 computed on its own goroutine, so that a file's
// checksum costs the writing goroutine a memcpy of small pieces rather
// than the hash of every byte: hashing (about 1.5–2.2 GB/s per core
// here) runs beside the write (page-cache speed).
//
// Written bytes are hashed in order. A Write of bytes inside the borrowed
// range (the record batch's voxel buffer) is queued by reference, without
// a copy; any other Write is copied first, because its buffer may be
// reused by the encoder as soon as Write returns.
//
// INVARIANT: a borrowed buffer is not modified before barrier returns;
// partWriter.write calls barrier before the record batch is released.
// Sum waits for every queued byte. Not safe for concurrent Writes.
type asyncHash struct {
	h       hash.Hash
	q       chan hashItem // pieces in order
	done    chan struct{} // one value per barrier
	small   []byte        // copies not yet queued
	lo, hi  uintptr       // borrowed range [lo, hi)
	stopped bool
	once    sync.Once
}

// hashItem is a piece to hash, or a barrier request.
type hashItem struct {
	p       []byte
	barrier bool
}

const asyncChunk = 256 << 10

func newAsyncHash() *asyncHash {
	q := make(chan hashItem, 64)
	a := &asyncHash{h: sha256.New(), q: q, done: make(chan struct{})}
	go func() {
		for it := range q {
			switch {
			case it.barrier:
				a.done <- struct{}{}
			default:
				a.h.Write(it.p)
			}
		}
		close(a.done)
	}()
	return a
}

// borrow declares b as not modified until the next barrier: Writes of
// its bytes are hashed by reference.
func (a *asyncHash) borrow(b []byte) {
	a.lo, a.hi = 0, 0
	if len(b) > 0 {
		a.lo = uintptr(unsafe.Pointer(&b[0]))
		a.hi = a.lo + uintptr(len(b))
	}
}

func (a *asyncHash) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s := uintptr(unsafe.Pointer(&p[0])); s >= a.lo && s+uintptr(len(p)) <= a.hi {
		a.flushSmall()
		a.q <- hashItem{p: p}
		return len(p), nil
	}
	if a.small == nil {
		a.small = make([]byte, 0, asyncChunk)
	}
	a.small = append(a.small, p...)
	if len(a.small) >= asyncChunk {
		a.flushSmall()
	}
	return len(p), nil
}

func (a *asyncHash) flushSmall() {
	if len(a.small) > 0 {
		a.q <- hashItem{p: a.small}
		a.small = nil
	}
}

// barrier returns once every byte written so far is hashed; the borrowed
// range is released.
func (a *asyncHash) barrier() {
	if a.stopped {
		return
	}
	a.flushSmall()
	a.q <- hashItem{barrier: true}
	<-a.done
	a.lo, a.hi = 0, 0
}

// Sum hashes what is left and returns the digest appended to b; the
// goroutine ends. Nothing may be written after Sum.
func (a *asyncHash) Sum(b []byte) []byte {
	a.barrier()
	a.stop()
	return a.h.Sum(b)
}

// stop ends the goroutine (Abort and Sum); it is idempotent.
func (a *asyncHash) stop() {
	a.once.Do(func() {
		a.stopped = true
		close(a.q)
		for range a.done {
		}
	})
}

func (a *asyncHash) Reset()         { a.barrier(); a.h.Reset() }
func (a *asyncHash) Size() int      { return sha256.Size }
func (a *asyncHash) BlockSize() int { return sha256.BlockSize }
