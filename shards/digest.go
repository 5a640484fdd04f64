package shards

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/medmd/medmd/shards/internal/sha256x2"
)

// DigestVoxelTree names how the SHA-256 of an Arrow part written at
// schema version 3 is computed (FileStats.Digest): SHA-256 over the file's
// bytes in order, except that each image's voxel bytes (one contiguous,
// non-empty value of the voxels column) enter as the 32 raw bytes of their
// own SHA-256 instead of themselves. An image's SHA-256 is its
// voxel_sha256, so every voxel byte is hashed once, and the images of a
// part are hashed on all cores; a plain file digest is one sequential
// stream, slower than writing the file. The IPC metadata that says where
// each image lies is hashed as plain bytes, so the digest covers the
// layout too. Parquet parts and parts written before version 3 carry the
// plain SHA-256 of their bytes (Digest "").
const DigestVoxelTree = "sha256-voxel-tree"

// voxelHashes are the SHA-256s of the images of one record batch,
// computed on their own goroutines: min(images, GOMAXPROCS) of them pull
// images in order. rec is retained until the hashes are done. They start
// with start, startPair or the first wait, whichever comes first.
type voxelHashes struct {
	vox     *array.LargeBinary
	rec     arrow.RecordBatch
	sums    [][sha256.Size]byte
	started atomic.Bool
	done    chan struct{}
}

// newVoxelHashes prepares the hashes of rec's images without starting them.
func newVoxelHashes(rec arrow.RecordBatch) *voxelHashes {
	rec.Retain()
	vox := voxelColumn(rec)
	return &voxelHashes{vox: vox, rec: rec, sums: make([][sha256.Size]byte, vox.Len()), done: make(chan struct{})}
}

// start starts hashing unless it has started.
func (v *voxelHashes) start() {
	if !v.started.CompareAndSwap(false, true) {
		return
	}
	go func() {
		hashAll(v.sums, v.vox.Value)
		v.end()
	}()
}

func (v *voxelHashes) end() {
	v.rec.Release()
	close(v.done)
}

// lone reports whether v is one image not yet being hashed: a candidate
// for startPair.
func (v *voxelHashes) lone() bool {
	return len(v.sums) == 1 && !v.started.Load()
}

// startPair hashes the one image of a and of b together on one goroutine
// (sha256x2.Sum2), or starts each on its own where either is not lone.
// Like start and wait it is called from the writer's goroutine only.
func startPair(a, b *voxelHashes) {
	if !a.lone() || !b.lone() {
		a.start()
		b.start()
		return
	}
	a.started.Store(true)
	b.started.Store(true)
	go func() {
		a.sums[0], b.sums[0] = sha256x2.Sum2(a.vox.Value(0), b.vox.Value(0))
		a.end()
		b.end()
	}()
}

// hashAll sets sums[i] to the SHA-256 of value(i) for every i, on up to
// GOMAXPROCS goroutines that take the values in order, and returns when
// all are done. With more values than goroutines, and a CPU on which
// sha256x2.Sum2 hashes two at once (about 1.5 times the speed of one
// after the other on one core), each goroutine takes them two at a time;
// with no more values than goroutines, one each on separate cores is
// faster.
func hashAll(sums [][sha256.Size]byte, value func(int) []byte) {
	n := len(sums)
	procs := runtime.GOMAXPROCS(0)
	step := 1
	if n > procs && sha256x2.Interleaved() {
		step = 2
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, procs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(int64(step))) - step; i < n; i = int(next.Add(int64(step))) - step {
				if step == 1 || i+1 == n {
					sums[i] = sha256.Sum256(value(i))
				} else {
					sums[i], sums[i+1] = sha256x2.Sum2(value(i), value(i+1))
				}
			}
		}()
	}
	wg.Wait()
}

// wait returns once every image is hashed, starting the hashes if they
// have not started; rec is released by then.
func (v *voxelHashes) wait() {
	v.start()
	<-v.done
}

// ready reports, without blocking, whether wait would return at once.
func (v *voxelHashes) ready() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// hex returns the images' SHA-256s in hex (the location rows' voxel_sha256).
func (v *voxelHashes) hex() []string {
	out := make([]string, len(v.sums))
	for i := range v.sums {
		out[i] = hex.EncodeToString(v.sums[i][:])
	}
	return out
}

// treeDigest computes DigestVoxelTree while a part is written. Plain
// bytes are hashed as they come unless a batch's images are still being
// hashed: then they are copied and wait their turn, so the stream keeps
// file order. It is a hash.Hash so hashWriter treats it like any other.
type treeDigest struct {
	h     hash.Hash
	queue []treeItem // in file order; nothing hashed past the first pending voxel item
}

// treeItem is a copied run of plain bytes or one batch's images.
type treeItem struct {
	plain []byte
	vox   *voxelHashes
}

func newTreeDigest() *treeDigest { return &treeDigest{h: sha256.New()} }

func (d *treeDigest) Write(p []byte) (int, error) {
	if len(d.queue) == 0 {
		return d.h.Write(p)
	}
	if last := &d.queue[len(d.queue)-1]; last.vox == nil {
		last.plain = append(last.plain, p...)
	} else {
		d.queue = append(d.queue, treeItem{plain: slices.Clone(p)})
	}
	return len(p), nil
}

// voxels stands for the voxel buffer of v's batch, which the caller does
// not pass to Write.
func (d *treeDigest) voxels(v *voxelHashes) {
	d.queue = append(d.queue, treeItem{vox: v})
}

// settle hashes queued items in order, waiting for pending image hashes
// when block is set and otherwise stopping at the first one not done.
func (d *treeDigest) settle(block bool) {
	for len(d.queue) > 0 {
		it := d.queue[0]
		if it.vox != nil {
			if !block && !it.vox.ready() {
				return
			}
			it.vox.wait()
			d.writeSums(it.vox)
		} else {
			d.h.Write(it.plain)
		}
		d.queue[0] = treeItem{}
		d.queue = d.queue[1:]
	}
	d.queue = nil
}

func (d *treeDigest) writeSums(v *voxelHashes) {
	for i := range v.sums {
		if v.vox.ValueLen(i) > 0 {
			d.h.Write(v.sums[i][:])
		}
	}
}

func (d *treeDigest) Sum(b []byte) []byte { d.settle(true); return d.h.Sum(b) }
func (d *treeDigest) Reset()              { d.settle(true); d.h.Reset() }
func (d *treeDigest) Size() int           { return sha256.Size }
func (d *treeDigest) BlockSize() int      { return sha256.BlockSize }

// voxelRun is one image's voxel bytes in a part file: [off, off+n).
type voxelRun struct{ off, n int64 }

// voxelRuns returns where the non-empty voxel values of every record
// batch of s lie in its mapping, in file order, checking that they are
// inside the file and do not overlap.
func voxelRuns(s *Shard) ([]voxelRun, error) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(s.data)))
	var runs []voxelRun
	for b := range s.batches {
		vox := s.batches[b].voxels
		for i := 0; i < vox.Len(); i++ {
			v := vox.Value(i)
			if len(v) == 0 {
				continue
			}
			off := int64(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - base)
			r := voxelRun{off: off, n: int64(len(v))}
			if off < 0 || r.off+r.n > int64(len(s.data)) {
				return nil, fmt.Errorf("record batch %d image value %d lies outside the file", b, i)
			}
			if k := len(runs); k > 0 && runs[k-1].off+runs[k-1].n > off {
				return nil, fmt.Errorf("record batch %d image value %d overlaps the one before", b, i)
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// mappedDigest returns the digest of the open part s as want.Digest
// defines it. For DigestVoxelTree the runs come from the file's own IPC
// metadata, their SHA-256s are computed on all cores, and the stream is
// hashed in order.
func mappedDigest(s *Shard, want FileStats) (string, error) {
	if want.Digest == "" {
		sum := sha256.Sum256(s.data)
		return hex.EncodeToString(sum[:]), nil
	}
	if want.Digest != DigestVoxelTree {
		return "", unknownDigest(s.path, want)
	}
	runs, err := voxelRuns(s)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.path, err)
	}
	sums := make([][sha256.Size]byte, len(runs))
	hashAll(sums, func(i int) []byte { return s.data[runs[i].off : runs[i].off+runs[i].n] })
	h := sha256.New()
	var at int64
	for i, r := range runs {
		h.Write(s.data[at:r.off])
		h.Write(sums[i][:])
		at = r.off + r.n
	}
	h.Write(s.data[at:])
	return hex.EncodeToString(h.Sum(nil)), nil
}

func unknownDigest(path string, want FileStats) error {
	return fmt.Errorf("%s: digest %q, this medmd knows %q and plain SHA-256", path, want.Digest, DigestVoxelTree)
}

// verifyMapped checks the open part s against want (size and digest).
func verifyMapped(s *Shard, want FileStats) error {
	sum, err := mappedDigest(s, want)
	if err != nil {
		return err
	}
	return compareDigest(s.path, want, sum, int64(len(s.data)))
}

// compareDigest reports a size or digest other than want's as an
// ErrChecksum naming path.
func compareDigest(path string, want FileStats, got string, n int64) error {
	if n != want.Bytes {
		return fmt.Errorf("%s: %w: %d bytes, manifest says %d", path, ErrChecksum, n, want.Bytes)
	}
	if got != want.SHA256 {
		return fmt.Errorf("%s: %w: sha256 %s, manifest says %s", path, ErrChecksum, got, want.SHA256)
	}
	return nil
}

// fileDigest returns the digest of the file at path as want.Digest
// defines it, and the file's size. A file that cannot be read as an
// Arrow part has no tree digest: that is reported as a checksum error.
func fileDigest(path string, want FileStats) (string, int64, error) {
	if want.Digest == DigestVoxelTree {
		fi, err := os.Stat(path)
		if err != nil {
			return "", 0, err
		}
		if fi.Size() != want.Bytes {
			return "", fi.Size(), nil
		}
		sh, err := OpenShard(path)
		if err != nil {
			// OpenShard's error names the file.
			return "", fi.Size(), fmt.Errorf("%w: %v", ErrChecksum, err)
		}
		defer sh.Close()
		sum, err := mappedDigest(sh, want)
		return sum, fi.Size(), err
	}
	if want.Digest != "" {
		return "", 0, unknownDigest(path, want)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
