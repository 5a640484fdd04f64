package shards

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// bigWriteChunk is the most one raw write syscall of a bigWriter hands
// the kernel: about a millisecond into the page cache. Not less: the page
// cache keeps what one write syscall brings in folios of at most its
// size, and a file written in chunks of 1 MiB or less is read back through
// a memory map (the loader, radmd, verify) at half the speed of one
// written in chunks of 4 MiB or more (SHA-256 of a 64 MiB ext4 file
// through mmap on the development machine: 75 ms against 39).
const bigWriteChunk = 4 << 20

// bigWriteMin is the smallest write a bigWriter makes raw: smaller ones
// end before the scheduler's monitor would look at them.
const bigWriteMin = 1 << 20

// slowChunk is how long one raw write may take before the bigWriter
// concludes that the kernel makes it wait (dirty page throttling, a
// network file system) and goes back to os.File.Write: ten times what
// bigWriteChunk bytes take into the page cache.
var slowChunk = 10 * time.Millisecond

// bigWriter writes to a regular file, writes of at least bigWriteMin
// bytes as raw write syscalls of at most bigWriteChunk bytes.
//
// Why: os.File.Write enters the Go scheduler's syscall state, and a
// write of megabytes into the page cache takes milliseconds, so when
// every core is busy (a shard's images hashed beside its write) the
// runtime's monitor thread takes the writer's processor away mid-write
// and, while it keeps finding such writes, wakes every 20 µs to look
// again. On the 2-core development machine that cost the write a third
// more CPU time than the same write alone: 30 shards of 268 MB made
// 19,000 monitor sleeps and 37,000 context switches through
// os.File.Write, 2,200 and 4,200 through raw writes. A raw write is
// invisible to the scheduler, so the goroutine keeps its processor.
//
// The cost is that a garbage-collection pause waits for a raw write to
// return. The chunk size bounds that for page-cache writes; a chunk
// slower than slowChunk turns raw writes off for the file, so a file
// whose writes block costs at most one such wait.
type bigWriter struct {
	f    *os.File
	slow bool
}

// newBigWriter returns a bigWriter for w where w is a regular *os.File,
// and w itself otherwise: pipes, sockets and devices can block a write
// for as long as their reader likes.
func newBigWriter(w io.Writer) io.Writer {
	f, ok := w.(*os.File)
	if !ok {
		return w
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return w
	}
	return &bigWriter{f: f}
}

func (b *bigWriter) Write(p []byte) (int, error) {
	if b.slow || len(p) < bigWriteMin {
		return b.f.Write(p)
	}
	sc, err := b.f.SyscallConn()
	if err != nil {
		return b.f.Write(p)
	}
	n := 0
	var werr error
	cerr := sc.Write(func(fd uintptr) bool {
		for n < len(p) && werr == nil && !b.slow {
			c := min(len(p)-n, bigWriteChunk)
			t := time.Now()
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(c))
			b.slow = time.Since(t) > slowChunk
			switch {
			case e == syscall.EINTR:
			case e != 0:
				werr = &os.PathError{Op: "write", Path: b.f.Name(), Err: e}
			case r == 0:
				werr = io.ErrShortWrite
			default:
				n += int(r)
			}
		}
		return true
	})
	if werr == nil {
		werr = cerr
	}
	if werr == nil && n < len(p) {
		m, err := b.f.Write(p[n:])
		return n + m, err
	}
	return n, werr
}
