package shards

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Limits on what PartIDs reads for one record batch, checked before
// anything is allocated: a batch's IPC metadata is a few kilobytes, and
// its ids a few dozen bytes a row.
const (
	maxMessageBytes = 16 << 20
	maxIDBytes      = 256 << 20
	// idPeek is how much of a batch's body is read with its metadata: the
	// id column's buffers come first in the body, so for batches of up to
	// a few hundred rows one read fetches both.
	idPeek = 16 << 10
)

// PartIDs calls each with the id of every row of the Arrow part read
// through ra (size bytes), in row order, until each returns false. It
// reads the file's footer, then of each record batch its IPC metadata
// and the id column's buffers (one read each, usually one for both):
// never the voxels, so it finds a sample in a part in a bucket with a
// few ranged GETs a batch. Every length and offset read is checked
// against size and the limits above before anything is allocated; the
// part is not checked against its checksum.
func PartIDs(ra io.ReaderAt, size int64, each func(id string) bool) error {
	blocks, err := partBlocks(ra, size)
	if err != nil {
		return err
	}
	for i, b := range blocks {
		more, err := batchIDs(ra, b, each)
		if err != nil {
			return fmt.Errorf("record batch %d: %w", i, err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// block is a record batch's place in an Arrow IPC file (File.fbs Block):
// its message (metadata) at offset, and its body after that.
type block struct {
	offset, meta, body int64
}

// partBlocks reads an Arrow IPC file's footer and returns its record
// batch blocks, each checked to lie between the leading magic and the
// footer, after the one before it (as writers lay them out): so reading
// them all reads no more than the file.
func partBlocks(ra io.ReaderAt, size int64) ([]block, error) {
	const magic = "ARROW1"
	if size < 8+10 {
		return nil, errors.New("not an Arrow IPC file: too short")
	}
	tail := make([]byte, 10)
	if _, err := ra.ReadAt(tail, size-10); err != nil {
		return nil, err
	}
	if string(tail[4:]) != magic {
		return nil, errors.New("not an Arrow IPC file (magic)")
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail)))
	end := size - 10 - n // where the footer starts
	if n <= 0 || n > maxMessageBytes || end < 8 {
		return nil, fmt.Errorf("footer length %d out of range", n)
	}
	fb := &fbuf{b: make([]byte, n), budget: 16}
	if _, err := ra.ReadAt(fb.b, end); err != nil {
		return nil, err
	}
	// Footer: 0 version, 1 schema, 2 dictionaries, 3 recordBatches [Block].
	root, err := fb.uoffset(0)
	if err != nil {
		return nil, err
	}
	if err := fb.table(root); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	at, ok, err := fb.field(root, 3)
	if err != nil || !ok {
		return nil, err
	}
	vec, err := fb.vector(at, 24)
	if err != nil {
		return nil, fmt.Errorf("footer blocks: %w", err)
	}
	count, _ := fb.u32(vec)
	out := make([]block, count)
	from := int64(8) // the first byte after the previous block
	for i := range out {
		p := fb.b[vec+4+24*int64(i):]
		b := block{offset: int64(binary.LittleEndian.Uint64(p)), meta: int64(int32(binary.LittleEndian.Uint32(p[8:]))),
			body: int64(binary.LittleEndian.Uint64(p[16:]))}
		if b.offset < from || b.meta < 8 || b.meta > maxMessageBytes || b.body < 0 || b.body > end ||
			b.offset > end-b.meta-b.body {
			return nil, fmt.Errorf("record batch %d: block %+v outside the file or overlapping the one before", i, b)
		}
		out[i], from = b, b.offset+b.meta+b.body
	}
	return out, nil
}

// batchIDs calls each with the ids of the record batch at b, reading its
// metadata and the first idPeek bytes of its body in one read, then, if
// the id column's buffers reach further, those. more is false when each
// returned false.
func batchIDs(ra io.ReaderAt, b block, each func(string) bool) (more bool, err error) {
	buf := make([]byte, b.meta+min(b.body, idPeek))
	if _, err := ra.ReadAt(buf, b.offset); err != nil {
		return false, err
	}
	rows, offs, data, err := idBuffers(buf[:b.meta], b.body)
	if err != nil || rows == 0 {
		return err == nil, err
	}
	first, last := offs[0], max(offs[0]+offs[1], data[0]+data[1]) // offsets, then data
	if last-first > maxIDBytes {
		return false, fmt.Errorf("id buffers %v and %v out of range", offs, data)
	}
	body := buf[b.meta:]
	if last > int64(len(body)) {
		body = make([]byte, last-first)
		if _, err := ra.ReadAt(body, b.offset+b.meta+first); err != nil {
			return false, err
		}
	} else {
		body = body[first:]
	}
	return eachID(rows, body[offs[0]-first:][:offs[1]], body[data[0]-first:][:data[1]], each)
}

// idBuffers parses a record batch's encapsulated IPC message (Message.fbs,
// behind the 0xFFFFFFFF continuation marker and its length, or the older
// bare length) and returns its row count and the id column's (the first
// column, utf8) offsets and data buffers as {offset, length} in the body,
// each checked to lie in a body of bodyLen bytes.
func idBuffers(msg []byte, bodyLen int64) (rows int64, offs, data [2]int64, err error) {
	start := int64(4)
	if binary.LittleEndian.Uint32(msg) == 0xFFFFFFFF {
		start = 8
	}
	n := int64(int32(binary.LittleEndian.Uint32(msg[start-4:])))
	if n <= 0 || start+n > int64(len(msg)) {
		return 0, offs, data, fmt.Errorf("message length %d out of range", n)
	}
	fb := &fbuf{b: msg[start : start+n], budget: 16}
	// Message: 0 version, 1 header_type, 2 header, 3 bodyLength.
	root, err := fb.uoffset(0)
	if err == nil {
		err = fb.table(root)
	}
	if err != nil {
		return 0, offs, data, fmt.Errorf("message: %w", err)
	}
	if at, ok, err := fb.field(root, 1); err != nil || !ok || fb.b[at] != 3 { // MessageHeader.RecordBatch
		return 0, offs, data, errors.New("message is not a record batch")
	}
	at, ok, err := fb.field(root, 2)
	if err != nil || !ok {
		return 0, offs, data, errors.New("record batch message has no header")
	}
	rb, err := fb.uoffset(at)
	if err == nil {
		err = fb.table(rb)
	}
	if err != nil {
		return 0, offs, data, fmt.Errorf("record batch: %w", err)
	}
	// RecordBatch: 0 length, 1 nodes [FieldNode], 2 buffers [Buffer],
	// 3 compression.
	if _, ok, _ := fb.field(rb, 3); ok {
		return 0, offs, data, errors.New("compressed record batch")
	}
	nodes, err := structs(fb, rb, 1, 1)
	if err != nil {
		return 0, offs, data, fmt.Errorf("field nodes: %w", err)
	}
	bufs, err := structs(fb, rb, 2, 3)
	if err != nil {
		return 0, offs, data, fmt.Errorf("buffers: %w", err)
	}
	rows, nulls := nodes[0][0], nodes[0][1]
	if rows < 0 || nulls != 0 || rows > (maxIDBytes/4)-1 {
		return 0, offs, data, fmt.Errorf("id column of %d rows, %d null", rows, nulls)
	}
	offs, data = bufs[1], bufs[2]
	for _, b := range [][2]int64{offs, data} {
		if b[0] < 0 || b[1] < 0 || b[0] > bodyLen || b[1] > bodyLen-b[0] {
			return 0, offs, data, fmt.Errorf("buffer %v outside a body of %d bytes", b, bodyLen)
		}
	}
	if rows == 0 { // its buffers may be empty, even the offsets
		return 0, offs, data, nil
	}
	if offs[1] < 4*(rows+1) || data[0] < offs[0] {
		return 0, offs, data, fmt.Errorf("id offsets buffer %v for %d rows", offs, rows)
	}
	return rows, offs, data, nil
}

// structs returns the first k 16-byte structs (two int64s: FieldNode or
// Buffer) of the vector at field i of the table at pos.
func structs(fb *fbuf, pos int64, i, k int) ([][2]int64, error) {
	at, ok, err := fb.field(pos, i)
	if err != nil || !ok {
		return nil, errFB
	}
	vec, err := fb.vector(at, 16)
	if err != nil {
		return nil, err
	}
	if n, _ := fb.u32(vec); int(n) < k {
		return nil, fmt.Errorf("%d of them, want at least %d", n, k)
	}
	out := make([][2]int64, k)
	for j := range out {
		p := fb.b[vec+4+16*int64(j):]
		out[j] = [2]int64{int64(binary.LittleEndian.Uint64(p)), int64(binary.LittleEndian.Uint64(p[8:]))}
	}
	return out, nil
}

// eachID calls each with the rows strings of a utf8 column, from its
// int32 offsets and data buffers, checking the offsets; more is false
// when each returned false.
func eachID(rows int64, offs, data []byte, each func(string) bool) (more bool, err error) {
	prev := int64(int32(binary.LittleEndian.Uint32(offs)))
	for i := int64(1); i <= rows; i++ {
		next := int64(int32(binary.LittleEndian.Uint32(offs[4*i:])))
		if prev < 0 || next < prev || next > int64(len(data)) {
			return false, fmt.Errorf("id offsets %d..%d outside %d bytes", prev, next, len(data))
		}
		if !each(string(data[prev:next])) {
			return false, nil
		}
		prev = next
	}
	return true, nil
}
