package nifti

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// Whole-file gzip inflation with libdeflate.
//
// Inflating is most of the time of reading a .nii.gz: Go's compress/flate
// streams at roughly half the speed of zlib, and libdeflate, which
// decompresses a whole buffer in one call, is 2–3× faster than zlib. When
// the shared library (Debian's libdeflate0) can be loaded at run time —
// through purego's dlopen, so neither cgo nor headers are needed to build —
// a read that needs every volume of a gzipped file inflates the whole file
// in one call into a buffer whose size is bounded before it is allocated.
// Otherwise, and for any stream libdeflate rejects or that does not fit
// that bound, the reader streams with compress/gzip as before, so results
// and errors are the same either way; only the speed differs.

// InflateEnv names the environment variable that, set to "go", makes every
// read inflate with compress/gzip even when libdeflate is present (to
// compare the two, or to rule libdeflate out). It is read once.
const InflateEnv = "MEDMD_NIFTI_INFLATE"

// libdeflateNames are the library names tried, in order: Debian's
// libdeflate0 ships libdeflate.so.0; macOS (Homebrew) names it
// libdeflate.0.dylib.
var libdeflateNames = []string{"libdeflate.so.0", "libdeflate.so", "libdeflate.0.dylib", "libdeflate.dylib"}

// libdeflateLib holds the bound libdeflate functions (libdeflate.h).
type libdeflateLib struct {
	alloc    func() uintptr
	free     func(d uintptr)
	gunzipEx func(d uintptr, in []byte, inN uintptr, out []byte, outN uintptr, actualIn, actualOut *uintptr) int32
}

// libdeflate_result values.
const (
	ldSuccess           = 0
	ldBadData           = 1
	ldShortOutput       = 2
	ldInsufficientSpace = 3
)

var (
	libdeflateOnce sync.Once
	libdeflate     *libdeflateLib
	// forceGoInflate makes reads use compress/gzip only (tests; InflateEnv).
	forceGoInflate atomic.Bool
	// libdeflateReads counts reads whose data libdeflate inflated (tests).
	libdeflateReads atomic.Int64
)

// UsesLibdeflate reports whether .nii.gz reads inflate with libdeflate
// (false: the slower compress/gzip fallback), so a speed report can say
// which inflater it measured.
func UsesLibdeflate() bool { return libdeflateLoaded() != nil }

// libdeflateLoaded reports whether reads will use libdeflate, loading it on
// first use; absence of the library is silent.
func libdeflateLoaded() *libdeflateLib {
	libdeflateOnce.Do(func() {
		if os.Getenv(InflateEnv) == "go" {
			return
		}
		libdeflate, _ = loadLibdeflate()
	})
	if forceGoInflate.Load() {
		return nil
	}
	return libdeflate
}

// errInflateSpace: the stream inflates to more than the bound given.
var errInflateSpace = errors.New("gzip data inflates to more than the expected size")

// gunzip inflates every gzip member of src, in order, into one buffer of at
// most max bytes, with libdeflate. The output must fit max (the caller
// bounds it from the header and limits, never from the gzip trailer
// alone); a stream that does not fit gives errInflateSpace. Every member's
// CRC-32 and length are checked by libdeflate; bytes after the last member
// that are not another member are an error, as they are to compress/gzip.
func (lib *libdeflateLib) gunzip(name string, src []byte, max int64) ([]byte, error) {
	if max < 0 || int64(int(max)) != max {
		return nil, errf(name, -1, errInflateSpace, "inflate bound %d", max)
	}
	out := make([]byte, max)
	d := lib.alloc()
	if d == 0 {
		return nil, errf(name, -1, nil, "libdeflate_alloc_decompressor failed")
	}
	defer lib.free(d)
	var in, n int
	for member := 1; in < len(src); member++ {
		rest := src[in:]
		if len(rest) < 18 || rest[0] != 0x1f || rest[1] != 0x8b {
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d): %d bytes that are not a gzip member", member, in, len(rest))
		}
		// libdeflate skips a member's header CRC (FHCRC) without checking
		// it; compress/gzip checks it. Leave such rare files to it so both
		// paths accept the same inputs.
		if rest[3]&0x02 != 0 {
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d) has a header CRC; left to compress/gzip", member, in)
		}
		if n == len(out) {
			return nil, errf(name, -1, errInflateSpace, "gzip member %d (compressed byte %d) begins after %d inflated bytes", member, in, n)
		}
		var ain, aout uintptr
		r := lib.gunzipEx(d, rest, uintptr(len(rest)), out[n:], uintptr(len(out)-n), &ain, &aout)
		runtime.KeepAlive(src)
		runtime.KeepAlive(out)
		switch r {
		case ldSuccess:
		case ldBadData:
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d): corrupt or truncated deflate data, header or trailer (libdeflate)", member, in)
		case ldInsufficientSpace:
			return nil, errf(name, -1, errInflateSpace, "gzip member %d (compressed byte %d): the data needs more than %d bytes in all, or is cut short", member, in, max)
		case ldShortOutput:
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d): libdeflate reported short output", member, in)
		default:
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d): libdeflate result %d", member, in, r)
		}
		if ain == 0 || ain > uintptr(len(rest)) || aout > uintptr(len(out)-n) {
			return nil, errf(name, -1, nil, "gzip member %d (compressed byte %d): libdeflate consumed %d of %d bytes and wrote %d of %d", member, in, ain, len(rest), aout, len(out)-n)
		}
		in += int(ain)
		n += int(aout)
	}
	return out[:n:n], nil
}

// gzipStream is a compress/gzip reader of a whole gzipped file that can
// also hand the file to libdeflate in one piece.
type gzipStream struct {
	*gzip.Reader
	src  io.ReaderAt // the compressed file, read from offset 0
	size int64       // its size in bytes
	data []byte      // the compressed file when already in memory (Decode)
}

// maxSlack is how far the inflated stream may run past the data the header
// describes and still be inflated in one piece: the bytes the streaming
// reader reads on past the voxels to reach the gzip trailer.
const maxSlack = 1 << 20

// inflateAll returns the whole inflated file when libdeflate is loaded and
// the file inflates cleanly to at least want bytes (vox_offset plus every
// volume, already checked against the voxel limit and the deflate ratio);
// otherwise nil, and the caller streams.
//
// The output buffer is sized from the header before anything is inflated:
// want bytes, plus up to maxSlack when the gzip ISIZE trailer says the
// stream runs on past the voxels. ISIZE — the length mod 2^32 of the last
// member only — is a hint, never a bound: when it is not want (mod 2^32)
// or a little more, the header and the stream disagree (a lie, a cut file,
// a multi-member file) and the stream is read instead, without allocating
// for a claim it may not back.
func (g *gzipStream) inflateAll(name string, want int64) []byte {
	lib := libdeflateLoaded()
	if lib == nil || g.size < 18 || want <= 0 {
		return nil
	}
	// Deflate never shrinks data by more than a few bytes per 64 KiB
	// (stored blocks): a compressed file much larger than want holds more
	// than the header describes and is left to the stream (and not read
	// into memory).
	if g.size > want+want/64+maxSlack {
		return nil
	}
	var tail [4]byte
	if g.data != nil {
		copy(tail[:], g.data[len(g.data)-4:])
	} else if _, err := g.src.ReadAt(tail[:], g.size-4); err != nil {
		return nil
	}
	extra := int64(binary.LittleEndian.Uint32(tail[:]) - uint32(want))
	if extra > maxSlack {
		return nil
	}
	src := g.data
	if src == nil {
		src = make([]byte, g.size)
		if n, _ := g.src.ReadAt(src, 0); n != len(src) {
			return nil
		}
	}
	out, err := lib.gunzip(name, src, want+extra)
	if err != nil || int64(len(out)) < want {
		return nil
	}
	libdeflateReads.Add(1)
	return out
}
