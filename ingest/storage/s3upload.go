package storage

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// s3Target is what FS needs to upload to an s3:// root with the S3 client
// itself (see s3Writer): the client gocloud opened, the bucket, the
// root's key prefix, and whether uploads carry a CRC-32C of their own
// (crc32c; see s3Integrity) or fall back to the SDK's signed payload.
type s3Target struct {
	client *s3.Client
	bucket string
	prefix string
	crc32c bool
}

// s3Integrity is how an upload's bytes are protected on the way to the
// store. There are two ways, and one is enough:
//
//   - crc32c (the default): medmd computes each part's (or small
//     object's) CRC-32C (hash/crc32, Castagnoli, SSE4.2: tens of GB/s) and
//     sends it as the x-amz-checksum-crc32c header, which S3 verifies
//     before it stores the bytes; CreateMultipartUpload declares the
//     algorithm and CompleteMultipartUpload lists each part's checksum,
//     as S3 requires of an upload created with one. The payload is then
//     sent as UNSIGNED-PAYLOAD (SigV4 signs the headers, checksum
//     included, not the body). Without this the SDK, over plain http,
//     hashes every byte with SHA-256 for the signature, on top of its own
//     CRC-32 pass: the costliest thing the client did per byte. Amazon S3
//     accepts UNSIGNED-PAYLOAD (the SigV4 header-based auth page), and so
//     does MinIO, for PutObject and UploadPart (minio/minio#2038, which
//     skips the SHA-256 for it).
//   - signed payload: with request_checksum_calculation=when_required in
//     the root's URL (gocloud's parameter, for S3-compatible stores that
//     reject the newer checksum headers), no checksum is sent and the
//     SDK keeps its default: over http it signs the payload's SHA-256,
//     over https it sends UNSIGNED-PAYLOAD under TLS's integrity. Some
//     S3-compatible servers refuse UNSIGNED-PAYLOAD altogether (gaul/s3proxy#184,
//     greenplum-db/gpdb#1765 "some compatible S3 services don't support
//     unsigned payload option"); they keep working through this setting.
//
// The checksum goes in a header, not a trailer: a part is in memory, so
// its checksum is known before the request starts, and trailers need
// aws-chunked encoding, which S3-compatible stores support unevenly.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cBase64 is the value of an x-amz-checksum-crc32c header for b: the
// big-endian CRC-32C in base64.
func crc32cBase64(b []byte) *string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(b, castagnoli))
	return aws.String(base64.StdEncoding.EncodeToString(sum[:]))
}

// unsignedPayload makes one request send UNSIGNED-PAYLOAD instead of the
// payload's SHA-256; used only on requests that carry our CRC-32C.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// bodyOpts returns the per-request options and the checksum header value
// for an upload request carrying body.
func (t *s3Target) bodyOpts(body []byte) (crc *string, opts []func(*s3.Options)) {
	if !t.crc32c {
		return nil, nil
	}
	return crc32cBase64(body), []func(*s3.Options){unsignedPayload}
}

// algorithm is the checksum algorithm a multipart upload is created with.
func (t *s3Target) algorithm() types.ChecksumAlgorithm {
	if t.crc32c {
		return types.ChecksumAlgorithmCrc32c
	}
	return ""
}

// s3Writer streams one object to S3: bytes fill a part buffer; a file that
// ends within its first part goes up in one PutObject at complete, a
// longer one becomes a multipart upload whose parts are sent as they fill,
// at most UploadConcurrency at once, and which complete finishes with
// CompleteMultipartUpload (atomic: the object appears whole or not at
// all). abort sends AbortMultipartUpload, so a failed or dropped file
// leaves no object and no parts behind.
//
// It does what gocloud's s3blob writer does, without the costs that made
// a bucket several times slower than a local folder: that writer pipes the
// bytes to the SDK's transfer manager, which reads the first 16 MiB with
// io.ReadAll (growing, zeroing and copying them) and allocates a fresh
// set of part buffers for every multipart file. Here part buffers come
// from a pool shared by every upload, and a byte is copied once, into
// its part.
type s3Writer struct {
	ctx  context.Context
	b    *Bucket
	t    *s3Target
	key  string // the full key, prefix included
	size int    // part size

	buf      []byte // the part being filled (from partPool)
	uploadID *string
	next     int32 // number of the next part
	sem      chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	err      error // the first part failure
}

// partPools holds free part buffers by part size, shared by all uploads.
var partPools sync.Map // int → *sync.Pool of *[]byte

func getPart(size int) []byte {
	p, _ := partPools.LoadOrStore(size, &sync.Pool{New: func() any { b := make([]byte, 0, size); return &b }})
	return (*p.(*sync.Pool).Get().(*[]byte))[:0]
}

func putPart(b []byte) {
	if p, ok := partPools.Load(cap(b)); ok {
		b = b[:0]
		p.(*sync.Pool).Put(&b)
	}
}

// s3SafeKey reports whether gocloud's s3blob would send key unchanged (it
// hex-escapes control characters and the slash of "../"), so an object
// written here is read back under the same key through gocloud.
func s3SafeKey(key string) bool {
	if strings.Contains(key, "../") {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 32 {
			return false
		}
	}
	return true
}

func (b *Bucket) newS3Writer(ctx context.Context, key string) *s3Writer {
	return &s3Writer{ctx: ctx, b: b, t: b.s3, key: b.s3.prefix + key, size: b.opt.PartSize,
		next: 1, sem: make(chan struct{}, b.opt.UploadConcurrency)}
}

func (w *s3Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write copies p into part buffers, sending each full one.
func (w *s3Writer) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := w.failed(); err != nil {
			return n, err
		}
		if w.buf == nil {
			w.buf = getPart(w.size)
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p, n = p[c:], n+c
		if len(w.buf) == cap(w.buf) {
			if err := w.sendPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// sendPart starts the multipart upload if needed and sends w.buf as the
// next part in the background.
func (w *s3Writer) sendPart() error {
	if w.uploadID == nil {
		var out *s3.CreateMultipartUploadOutput
		err := w.b.retry(w.ctx, func() error {
			var err error
			out, err = w.t.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{
				Bucket: &w.t.bucket, Key: &w.key, ContentType: aws.String("application/octet-stream"),
				ChecksumAlgorithm: w.t.algorithm()})
			return err
		})
		if err != nil {
			return err
		}
		w.uploadID = out.UploadId
	}
	buf, num := w.buf, w.next
	w.buf, w.next = nil, w.next+1
	select {
	case w.sem <- struct{}{}:
	case <-w.ctx.Done():
		putPart(buf)
		return w.ctx.Err()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.sem }()
		defer putPart(buf)
		var out *s3.UploadPartOutput
		crc, opts := w.t.bodyOpts(buf)
		err := w.b.retry(w.ctx, func() error {
			var err error
			out, err = w.t.client.UploadPart(w.ctx, &s3.UploadPartInput{
				Bucket: &w.t.bucket, Key: &w.key, UploadId: w.uploadID, PartNumber: aws.Int32(num),
				Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))), ChecksumCRC32C: crc}, opts...)
			return err
		})
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("part %d: %w", num, err)
			}
			return
		}
		// The part's checksum as we computed and S3 verified it: S3
		// requires it in CompleteMultipartUpload of an upload created
		// with a checksum algorithm (a store that does not echo it in
		// the part's response still gets it).
		w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumCRC32C: crc})
	}()
	return nil
}

// complete makes the object visible: one PUT for a file that fit its
// first part, otherwise the last part and CompleteMultipartUpload.
func (w *s3Writer) complete() error {
	if w.uploadID == nil {
		body := w.buf
		defer func() {
			if body != nil {
				putPart(body)
			}
			w.buf = nil
		}()
		crc, opts := w.t.bodyOpts(body)
		return w.b.retry(w.ctx, func() error {
			_, err := w.t.client.PutObject(w.ctx, &s3.PutObjectInput{
				Bucket: &w.t.bucket, Key: &w.key, ContentType: aws.String("application/octet-stream"),
				Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))), ChecksumCRC32C: crc}, opts...)
			return err
		})
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			w.abort()
			return err
		}
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abort()
		return err
	}
	slices.SortFunc(w.parts, func(a, b types.CompletedPart) int { return int(*a.PartNumber - *b.PartNumber) })
	err := w.b.retry(w.ctx, func() error {
		_, err := w.t.client.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{
			Bucket: &w.t.bucket, Key: &w.key, UploadId: w.uploadID,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
		return err
	})
	if err != nil {
		w.abort()
	}
	return err
}

// abort drops the upload: parts in flight are waited for, then the
// multipart upload is aborted, also when w.ctx is cancelled (the abort
// runs under a context of its own that keeps w.ctx's values, for at most
// a minute), so no parts are left billed behind an invisible upload.
func (w *s3Writer) abort() {
	w.wg.Wait()
	if w.buf != nil {
		putPart(w.buf)
		w.buf = nil
	}
	if w.uploadID == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), time.Minute)
	defer cancel()
	// A failed abort is not reported: the file is already lost to the
	// caller's error, and the bucket's AbortIncompleteMultipartUpload
	// lifecycle rule removes parts left behind.
	w.t.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.t.bucket, Key: &w.key, UploadId: w.uploadID})
	w.uploadID = nil
}

// AbortUploads aborts the multipart uploads left under the root by a
// process that died mid-upload (kill -9, a node lost): those whose file
// name (the key under the root) mine accepts and that were started before
// this FS was made. Their parts are invisible to readers but billed until
// aborted. A runner passes the names only its own task writes, so another
// task's upload in flight is never cut off. It returns how many it
// aborted; roots other than s3:// have none to abort (gs:// and azblob://
// uploads are not left behind as parts).
func (f *FS) AbortUploads(mine func(name string) bool) (int, error) {
	t := f.b.s3
	if t == nil {
		return 0, nil
	}
	n := 0
	in := &s3.ListMultipartUploadsInput{Bucket: &t.bucket, Prefix: aws.String(t.prefix)}
	for {
		var out *s3.ListMultipartUploadsOutput
		err := f.b.retry(f.ctx, func() error {
			var err error
			out, err = t.client.ListMultipartUploads(f.ctx, in)
			return err
		})
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchUpload" || ae.ErrorCode() == "NotImplemented") {
			// Some S3-compatible servers answer so for a bucket without
			// uploads, or cannot list them: nothing to abort.
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list uploads %s: %w", f.b.root, err)
		}
		for _, u := range out.Uploads {
			name := strings.TrimPrefix(aws.ToString(u.Key), t.prefix)
			if u.Initiated == nil || !u.Initiated.Before(f.made) || !mine(name) {
				continue
			}
			err := f.b.retry(f.ctx, func() error {
				_, err := t.client.AbortMultipartUpload(f.ctx, &s3.AbortMultipartUploadInput{Bucket: &t.bucket, Key: u.Key, UploadId: u.UploadId})
				return err
			})
			if err != nil {
				return n, fmt.Errorf("abort upload of %s: %w", f.url(name), err)
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
