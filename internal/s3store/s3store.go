// Package s3store is an in-memory object store behind gofakes3, the S3
// protocol server that `medmd perf` runs on the loopback interface in
// place of a bucket: a gofakes3.Backend and gofakes3.MultipartBackend,
// so gofakes3 still parses and answers every request.
//
// gofakes3's own in-memory backend (s3mem) and multipart uploader copy an
// object's bytes twice more after reading them (once to join its parts,
// once to store it) and MD5-hash them twice (each part, then the object
// for its ETag), part hashes under one lock shared by every upload. On a
// machine where the server shares the cores of the process it serves,
// those costs, which a real store spends on machines of its own, were
// most of what a benchmark of the client measured. Here a body is read
// once into memory of its declared size and kept as it came, parts of a
// multipart upload included, and an ETag is what the S3 API promises and
// no more: an opaque value that changes whenever the object is written
// (S3's own ETags are not MD5s for multipart uploads either). It is 20
// bytes, so no client takes it for an MD5: the write's sequence number,
// the size and a CRC-32C (SSE4.2, tens of GB/s) of the bytes, or for an
// object uploaded in parts, of its parts' CRC-32Cs.
//
// Objects are not versioned.
package s3store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// Backend is a gofakes3.Backend holding every object in memory. The zero
// value is not usable; call New.
type Backend struct {
	mu      sync.RWMutex
	buckets map[string]*bucket
	writes  uint64 // objects and parts stored so far: each ETag's sequence number
	now     func() time.Time

	uploads   map[gofakes3.UploadID]*upload // multipart uploads in progress
	uploadSeq uint64                        // uploads created so far
}

var _ gofakes3.Backend = (*Backend)(nil)

type bucket struct {
	created time.Time
	objects map[string]*object
	keys    []string // sorted: listings walk it from a marker
}

// object is one stored object: its bytes are its parts' in order (one
// part unless it was uploaded in many). They are never written after they
// are stored, so readers share them without copies.
type object struct {
	meta     map[string]string
	parts    [][]byte
	size     int64
	crc      uint32
	modified time.Time
	etag     []byte
}

// reader returns a reader of the n bytes of o from off.
func (o *object) reader(off, n int64) io.Reader {
	var rs []io.Reader
	for _, p := range o.parts {
		if n == 0 {
			break
		}
		if off >= int64(len(p)) {
			off -= int64(len(p))
			continue
		}
		k := min(n, int64(len(p))-off)
		rs = append(rs, bytes.NewReader(p[off:off+k]))
		off, n = 0, n-k
	}
	if len(rs) == 1 {
		return rs[0]
	}
	return io.MultiReader(rs...)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// etag returns the ETag of the seq-th write, of size bytes with CRC-32C
// crc.
func etag(seq uint64, size int, crc uint32) []byte {
	e := binary.BigEndian.AppendUint64(nil, seq)
	e = binary.BigEndian.AppendUint64(e, uint64(size))
	return binary.BigEndian.AppendUint32(e, crc)
}

// New returns an empty store.
func New() *Backend {
	return &Backend{buckets: map[string]*bucket{}, uploads: map[gofakes3.UploadID]*upload{}, now: time.Now}
}

func (b *Backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []gofakes3.BucketInfo
	for name, bk := range b.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(bk.created)})
	}
	slices.SortFunc(out, func(x, y gofakes3.BucketInfo) int { return cmp.Compare(x.Name, y.Name) })
	return out, nil
}

// ListBucket lists the objects of bucket name that match prefix, in key
// order, after page.Marker, at most page.MaxKeys entries (keys and
// common prefixes together) where it is set. As in S3, a key that rolls
// up into a common prefix at or before the marker was listed by an
// earlier page, and NextMarker is the last entry listed, key or prefix.
func (b *Backend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	if prefix == nil {
		prefix = &gofakes3.Prefix{}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk := b.buckets[name]
	if bk == nil {
		return nil, gofakes3.BucketNotFound(name)
	}
	out := gofakes3.NewObjectList()
	i, _ := slices.BinarySearch(bk.keys, page.Marker)
	var match gofakes3.PrefixMatch
	var last string // the last entry listed
	var n int64
	for ; i < len(bk.keys); i++ {
		key := bk.keys[i]
		if !prefix.Match(key, &match) {
			continue
		}
		entry := key
		if match.CommonPrefix {
			entry = match.MatchedPart
		}
		if (page.Marker != "" && entry <= page.Marker) || (n > 0 && entry == last) {
			continue
		}
		if page.MaxKeys > 0 && n >= page.MaxKeys {
			out.IsTruncated = true
			break
		}
		if match.CommonPrefix {
			out.AddPrefix(entry)
		} else {
			o := bk.objects[key]
			out.Add(&gofakes3.Content{Key: key, LastModified: gofakes3.NewContentTime(o.modified),
				ETag: gofakes3.FormatETag(o.etag), Size: o.size})
		}
		last = entry
		n++
	}
	if out.IsTruncated {
		out.NextMarker = last
	}
	return out, nil
}

func (b *Backend) CreateBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] != nil {
		return gofakes3.ResourceError(gofakes3.ErrBucketAlreadyExists, name)
	}
	b.buckets[name] = &bucket{created: b.now(), objects: map[string]*object{}}
	return nil
}

func (b *Backend) BucketExists(name string) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.buckets[name] != nil, nil
}

func (b *Backend) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[name]
	if bk == nil {
		return gofakes3.BucketNotFound(name)
	}
	if len(bk.keys) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	delete(b.buckets, name)
	return nil
}

func (b *Backend) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] == nil {
		return gofakes3.BucketNotFound(name)
	}
	delete(b.buckets, name)
	return nil
}

// get returns the object bucketName/key.
func (b *Backend) get(bucketName, key string) (*object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.getLocked(bucketName, key)
}

// getLocked is get with b.mu held.
func (b *Backend) getLocked(bucketName, key string) (*object, error) {
	bk := b.buckets[bucketName]
	if bk == nil {
		return nil, gofakes3.BucketNotFound(bucketName)
	}
	o := bk.objects[key]
	if o == nil {
		return nil, gofakes3.KeyNotFound(key)
	}
	return o, nil
}

func (b *Backend) GetObject(bucketName, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	o, err := b.get(bucketName, key)
	if err != nil {
		return nil, err
	}
	rng, err := rangeRequest.Range(o.size)
	if err != nil {
		return nil, err
	}
	off, n := int64(0), o.size
	if rng != nil {
		off, n = rng.Start, rng.Length
	}
	return &gofakes3.Object{Name: key, Metadata: o.meta, Size: o.size, Hash: o.etag, Range: rng,
		Contents: io.NopCloser(o.reader(off, n))}, nil
}

func (b *Backend) HeadObject(bucketName, key string) (*gofakes3.Object, error) {
	o, err := b.get(bucketName, key)
	if err != nil {
		return nil, err
	}
	return &gofakes3.Object{Name: key, Metadata: o.meta, Size: o.size, Hash: o.etag,
		Contents: io.NopCloser(bytes.NewReader(nil))}, nil
}

func (b *Backend) DeleteObject(bucketName, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[bucketName]
	if bk == nil {
		return gofakes3.ObjectDeleteResult{}, gofakes3.BucketNotFound(bucketName)
	}
	bk.remove(key)
	return gofakes3.ObjectDeleteResult{}, nil
}

func (b *Backend) DeleteMulti(bucketName string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out gofakes3.MultiDeleteResult
	bk := b.buckets[bucketName]
	if bk == nil {
		return out, gofakes3.BucketNotFound(bucketName)
	}
	for _, key := range keys {
		bk.remove(key)
		out.Deleted = append(out.Deleted, gofakes3.ObjectID{Key: key})
	}
	return out, nil
}

// PutObject stores size bytes read from input under key.
func (b *Backend) PutObject(bucketName, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	body, err := gofakes3.ReadAll(input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	crc := crc32.Checksum(body, castagnoli)
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err = b.storeLocked(bucketName, key, [][]byte{body}, crc, meta, conditions)
	return gofakes3.PutObjectResult{}, err
}

// Clear deletes every object of every bucket.
func (b *Backend) Clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bk := range b.buckets {
		bk.objects, bk.keys = map[string]*object{}, nil
	}
	clear(b.uploads)
}

// storeLocked puts parts, of CRC-32C crc, under key once conditions hold
// and returns the object; b.mu is held.
func (b *Backend) storeLocked(bucketName, key string, parts [][]byte, crc uint32, meta map[string]string, conditions *gofakes3.PutConditions) (*object, error) {
	bk := b.buckets[bucketName]
	if bk == nil {
		return nil, gofakes3.BucketNotFound(bucketName)
	}
	if conditions != nil {
		info := &gofakes3.ConditionalObjectInfo{}
		if old := bk.objects[key]; old != nil {
			info.Exists, info.Hash = true, old.etag
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return nil, err
		}
	}
	if _, ok := bk.objects[key]; !ok {
		i, _ := slices.BinarySearch(bk.keys, key)
		bk.keys = slices.Insert(bk.keys, i, key)
	}
	b.writes++
	var size int64
	for _, p := range parts {
		size += int64(len(p))
	}
	o := &object{meta: meta, parts: parts, size: size, crc: crc, modified: b.now(), etag: etag(b.writes, int(size), crc)}
	bk.objects[key] = o
	return o, nil
}

func (b *Backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	src, err := b.getLocked(srcBucket, srcKey)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	o, err := b.storeLocked(dstBucket, dstKey, src.parts, src.crc, meta, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: gofakes3.FormatETag(o.etag), LastModified: gofakes3.NewContentTime(o.modified)}, nil
}

// remove deletes key if it is there.
func (bk *bucket) remove(key string) {
	if _, ok := bk.objects[key]; !ok {
		return
	}
	delete(bk.objects, key)
	if i, found := slices.BinarySearch(bk.keys, key); found {
		bk.keys = slices.Delete(bk.keys, i, i+1)
	}
}
