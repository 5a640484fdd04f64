package s3store

import (
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// Multipart uploads. Without a gofakes3.MultipartBackend, gofakes3 keeps
// parts itself: it reads each into a slice grown as it goes, MD5-hashes
// it under one lock shared by every upload, and on completion copies the
// parts into one new slice. Here a part is read once into a slice of its
// declared length, its ETag is a CRC-32C computed outside any lock, and a
// completed object keeps its parts as they came: nothing is copied or
// hashed again.

var _ gofakes3.MultipartBackend = (*Backend)(nil)

// maxPart is the largest part S3 accepts (5 GiB): a declared length above
// it is refused before anything is allocated.
const maxPart = 5 << 30

// upload is a multipart upload in progress.
type upload struct {
	id        gofakes3.UploadID
	seq       uint64 // the order of creation: listings sort by key, then by it
	bucket    string
	key       string
	meta      map[string]string
	initiated time.Time
	parts     map[int]*part
}

// part is one uploaded part; body is never written after it is stored.
type part struct {
	body     []byte
	crc      uint32
	etag     string
	modified time.Time
}

// partETag returns the quoted ETag of the seq-th part stored, of body
// with CRC-32C crc: like an object's, opaque and 20 bytes.
func partETag(seq uint64, size int, crc uint32) string {
	return `"` + hex.EncodeToString(etag(seq, size, crc)) + `"`
}

func (b *Backend) CreateMultipartUpload(bucketName, key string, meta map[string]string) (gofakes3.UploadID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[bucketName] == nil {
		return "", gofakes3.BucketNotFound(bucketName)
	}
	b.uploadSeq++
	u := &upload{id: gofakes3.UploadID(strconv.FormatUint(b.uploadSeq, 10)), seq: b.uploadSeq,
		bucket: bucketName, key: key, meta: meta, initiated: b.now(), parts: map[int]*part{}}
	b.uploads[u.id] = u
	return u.id, nil
}

// uploadOf returns the upload id of key in bucketName; b.mu is held.
func (b *Backend) uploadOf(bucketName, key string, id gofakes3.UploadID) (*upload, error) {
	u := b.uploads[id]
	if u == nil || u.bucket != bucketName || u.key != key {
		return nil, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

// UploadPart reads the contentLength bytes of part partNumber. The read
// holds no lock, so parts of one upload and of many arrive in parallel.
func (b *Backend) UploadPart(bucketName, key string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	if partNumber < 1 || partNumber > gofakes3.MaxUploadPartNumber {
		return "", gofakes3.ErrInvalidPart
	}
	if contentLength < 0 || contentLength > maxPart {
		return "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidArgument, "part of %d bytes", contentLength)
	}
	b.mu.RLock()
	_, err := b.uploadOf(bucketName, key, id)
	b.mu.RUnlock()
	if err != nil {
		return "", err
	}
	body := make([]byte, contentLength)
	if _, err := io.ReadFull(input, body); err != nil {
		return "", gofakes3.ErrIncompleteBody
	}
	// The reader's end: more bytes than declared, or its own error there
	// (gofakes3 checks a Content-MD5 when its reader reaches the end).
	switch n, err := input.Read(make([]byte, 1)); {
	case n > 0:
		return "", gofakes3.ErrIncompleteBody
	case err != nil && err != io.EOF:
		return "", err
	}
	crc := crc32.Checksum(body, castagnoli)
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.uploadOf(bucketName, key, id) // it may have ended meanwhile
	if err != nil {
		return "", err
	}
	b.writes++
	p := &part{body: body, crc: crc, etag: partETag(b.writes, len(body), crc), modified: b.now()}
	u.parts[partNumber] = p
	return p.etag, nil
}

// CompleteMultipartUpload stores the listed parts, in ascending order of
// number, as one object and ends the upload.
func (b *Backend) CompleteMultipartUpload(bucketName, key string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.uploadOf(bucketName, key, id)
	if err != nil {
		return "", "", err
	}
	if len(input.Parts) == 0 {
		return "", "", gofakes3.ErrorMessage(gofakes3.ErrMalformedXML, "no parts listed")
	}
	var bodies [][]byte
	crcs := make([]byte, 0, 4*len(input.Parts))
	for i, in := range input.Parts {
		if i > 0 && in.PartNumber <= input.Parts[i-1].PartNumber {
			return "", "", gofakes3.ErrInvalidPartOrder
		}
		p := u.parts[in.PartNumber]
		if p == nil || strings.Trim(in.ETag, `"`) != strings.Trim(p.etag, `"`) {
			return "", "", gofakes3.ErrorMessagef(gofakes3.ErrInvalidPart, "part %d is not the one uploaded", in.PartNumber)
		}
		bodies = append(bodies, p.body)
		crcs = binary.BigEndian.AppendUint32(crcs, p.crc)
	}
	// The object's CRC is over its parts' CRCs: an ETag only has to change
	// when the bytes do.
	o, err := b.storeLocked(bucketName, key, bodies, crc32.Checksum(crcs, castagnoli), u.meta, nil)
	if err != nil {
		return "", "", err
	}
	delete(b.uploads, id)
	return "", gofakes3.FormatETag(o.etag), nil
}

func (b *Backend) AbortMultipartUpload(bucketName, key string, id gofakes3.UploadID) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.uploadOf(bucketName, key, id); err != nil {
		return err
	}
	delete(b.uploads, id)
	return nil
}

// ListMultipartUploads lists the uploads in progress in bucketName whose
// keys match prefix, by key and then by creation, after marker, at most
// limit entries (uploads and common prefixes together). As in
// ListBucket, a key that rolls up into a common prefix at or before the
// key marker was listed by an earlier page.
func (b *Backend) ListMultipartUploads(bucketName string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.buckets[bucketName] == nil {
		return nil, gofakes3.BucketNotFound(bucketName)
	}
	out := &gofakes3.ListMultipartUploadsResult{Bucket: bucketName, Delimiter: prefix.Delimiter,
		Prefix: prefix.Prefix, MaxUploads: limit}
	var keyMarker string
	if marker != nil {
		keyMarker = marker.Object
		out.KeyMarker, out.UploadIDMarker = marker.Object, marker.UploadID
	}
	var match gofakes3.PrefixMatch
	var lastCommon string
	var n int64
	for _, u := range b.sortedUploads(bucketName, marker) {
		if !prefix.Match(u.key, &match) {
			continue
		}
		if match.CommonPrefix && ((keyMarker != "" && match.MatchedPart <= keyMarker) || (n > 0 && match.MatchedPart == lastCommon)) {
			continue
		}
		if n >= limit {
			out.IsTruncated = true
			break
		}
		if match.CommonPrefix {
			out.CommonPrefixes = append(out.CommonPrefixes, match.AsCommonPrefix())
			lastCommon = match.MatchedPart
			out.NextKeyMarker, out.NextUploadIDMarker = match.MatchedPart, ""
		} else {
			out.Uploads = append(out.Uploads, gofakes3.ListMultipartUploadItem{Key: u.key, UploadID: u.id,
				StorageClass: "STANDARD", Initiated: gofakes3.NewContentTime(u.initiated)})
			out.NextKeyMarker, out.NextUploadIDMarker = u.key, u.id
		}
		n++
	}
	if !out.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = "", ""
	}
	return out, nil
}

// sortedUploads returns bucketName's uploads after marker, by key and
// then by creation; b.mu is held. S3's markers: a key alone starts after
// every upload of that key, a key and an upload id after that upload
// (whether or not it is still in progress: ids are creation numbers).
func (b *Backend) sortedUploads(bucketName string, marker *gofakes3.UploadListMarker) []*upload {
	var afterSeq uint64 // uploads of the marker's key up to this one are skipped
	if marker != nil && marker.Object != "" {
		afterSeq = math.MaxUint64
		if marker.UploadID != "" {
			if seq, err := strconv.ParseUint(string(marker.UploadID), 10, 64); err == nil {
				afterSeq = seq
			}
		}
	}
	var out []*upload
	for _, u := range b.uploads {
		if u.bucket != bucketName {
			continue
		}
		if marker != nil && marker.Object != "" && (u.key < marker.Object || (u.key == marker.Object && u.seq <= afterSeq)) {
			continue
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y *upload) int {
		return cmp.Or(strings.Compare(x.key, y.key), cmp.Compare(x.seq, y.seq))
	})
	return out
}

// ListParts lists the parts of an upload numbered above marker, at most
// limit of them.
func (b *Backend) ListParts(bucketName, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	u, err := b.uploadOf(bucketName, key, id)
	if err != nil {
		return nil, err
	}
	out := &gofakes3.ListMultipartUploadPartsResult{Bucket: bucketName, Key: key, UploadID: id,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: limit}
	var numbers []int
	for n := range u.parts {
		if n > marker {
			numbers = append(numbers, n)
		}
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		if int64(len(out.Parts)) >= limit {
			out.IsTruncated = true
			break
		}
		p := u.parts[n]
		out.Parts = append(out.Parts, gofakes3.ListMultipartUploadPartItem{PartNumber: n, ETag: p.etag,
			Size: int64(len(p.body)), LastModified: gofakes3.NewContentTime(p.modified)})
		out.NextPartNumberMarker = n
	}
	return out, nil
}
