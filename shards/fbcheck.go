package shards

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkFooter bounds-checks the flatbuffer footer of an Arrow IPC file
// (Footer → Schema → Field tree, per Arrow's File.fbs/Schema.fbs) before
// arrow-go parses it: arrow-go trusts vector lengths and would allocate
// whatever a corrupt footer claims (e.g. 4 G child fields), an
// out-of-memory crash rather than an error. Record batch blocks are
// range-checked by arrow-go itself.
func checkFooter(data []byte) error {
	const magic = "ARROW1"
	if len(data) < 6+2+4+4+6 || string(data[:6]) != magic || string(data[len(data)-6:]) != magic {
		return errors.New("not an Arrow IPC file (magic)")
	}
	n := int64(int32(binary.LittleEndian.Uint32(data[len(data)-10:])))
	if n <= 0 || n > int64(len(data))-10-8 {
		return fmt.Errorf("footer length %d out of range", n)
	}
	fb := &fbuf{b: data[int64(len(data))-10-n : len(data)-10], budget: 1 << 16}
	root, err := fb.uoffset(0)
	if err != nil {
		return err
	}
	// Footer: 0 version, 1 schema, 2 dictionaries [Block], 3 recordBatches
	// [Block], 4 custom_metadata [KeyValue].
	if err := fb.table(root); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	for _, f := range []int{2, 3} {
		if at, ok, err := fb.field(root, f); err != nil {
			return err
		} else if ok {
			if _, err := fb.vector(at, 24); err != nil {
				return fmt.Errorf("footer blocks: %w", err)
			}
		}
	}
	if err := fb.keyValues(root, 4); err != nil {
		return err
	}
	at, ok, err := fb.field(root, 1)
	if err != nil || !ok {
		return fmt.Errorf("footer has no schema (%v)", err)
	}
	schema, err := fb.uoffset(at)
	if err != nil {
		return err
	}
	// Schema: 0 endianness, 1 fields [Field], 2 custom_metadata, 3 features [long].
	if err := fb.table(schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := fb.keyValues(schema, 2); err != nil {
		return err
	}
	if at, ok, err := fb.field(schema, 3); err != nil {
		return err
	} else if ok {
		if _, err := fb.vector(at, 8); err != nil {
			return err
		}
	}
	return fb.fields(schema, 1, 0)
}

// fbuf is a flatbuffer with bounds-checked accessors. budget caps the
// tables visited: offsets may form a DAG whose unfolding is exponential.
type fbuf struct {
	b      []byte
	budget int
}

var errFB = errors.New("corrupt flatbuffer")

func (fb *fbuf) u32(pos int64) (uint32, error) {
	if pos < 0 || pos+4 > int64(len(fb.b)) {
		return 0, errFB
	}
	return binary.LittleEndian.Uint32(fb.b[pos:]), nil
}

// uoffset follows the unsigned offset stored at pos.
func (fb *fbuf) uoffset(pos int64) (int64, error) {
	v, err := fb.u32(pos)
	if err != nil {
		return 0, err
	}
	t := pos + int64(v)
	if t < 0 || t >= int64(len(fb.b)) {
		return 0, errFB
	}
	return t, nil
}

// table checks the table at pos and its vtable.
func (fb *fbuf) table(pos int64) error {
	if fb.budget--; fb.budget < 0 {
		return fmt.Errorf("%w: too many tables", errFB)
	}
	v, err := fb.u32(pos)
	if err != nil {
		return err
	}
	vt := pos - int64(int32(v))
	if vt < 0 || vt+4 > int64(len(fb.b)) {
		return errFB
	}
	vlen := int64(binary.LittleEndian.Uint16(fb.b[vt:]))
	tlen := int64(binary.LittleEndian.Uint16(fb.b[vt+2:]))
	if vlen < 4 || vlen%2 != 0 || vt+vlen > int64(len(fb.b)) || pos+tlen > int64(len(fb.b)) {
		return errFB
	}
	for i := int64(4); i < vlen; i += 2 {
		if off := int64(binary.LittleEndian.Uint16(fb.b[vt+i:])); off != 0 && (off < 4 || off >= max(tlen, 4)) {
			return errFB
		}
	}
	return nil
}

// field returns the position of field i of the table at pos, if present.
func (fb *fbuf) field(pos int64, i int) (int64, bool, error) {
	v, err := fb.u32(pos)
	if err != nil {
		return 0, false, err
	}
	vt := pos - int64(int32(v))
	vlen := int64(binary.LittleEndian.Uint16(fb.b[vt:]))
	slot := 4 + 2*int64(i)
	if slot+2 > vlen {
		return 0, false, nil
	}
	off := int64(binary.LittleEndian.Uint16(fb.b[vt+slot:]))
	if off == 0 {
		return 0, false, nil
	}
	if pos+off+4 > int64(len(fb.b)) {
		return 0, false, errFB
	}
	return pos + off, true, nil
}

// vector follows the offset at pos to a vector of elem-byte elements and
// returns the position of its first element and its length.
func (fb *fbuf) vector(pos int64, elem int64) (int64, error) {
	at, err := fb.uoffset(pos)
	if err != nil {
		return 0, err
	}
	n, err := fb.u32(at)
	if err != nil {
		return 0, err
	}
	if at+4+int64(n)*elem > int64(len(fb.b)) {
		return 0, fmt.Errorf("%w: vector of %d claims more than the buffer holds", errFB, n)
	}
	return at, nil
}

// tables checks each table of the vector of tables at field i of pos and
// calls each on it.
func (fb *fbuf) tables(pos int64, i int, each func(int64) error) error {
	at, ok, err := fb.field(pos, i)
	if err != nil || !ok {
		return err
	}
	vec, err := fb.vector(at, 4)
	if err != nil {
		return err
	}
	n, _ := fb.u32(vec)
	for k := int64(0); k < int64(n); k++ {
		t, err := fb.uoffset(vec + 4 + 4*k)
		if err != nil {
			return err
		}
		if err := fb.table(t); err != nil {
			return err
		}
		if err := each(t); err != nil {
			return err
		}
	}
	return nil
}

func (fb *fbuf) str(pos int64, i int) error {
	at, ok, err := fb.field(pos, i)
	if err != nil || !ok {
		return err
	}
	_, err = fb.vector(at, 1)
	return err
}

// keyValues checks a custom_metadata vector of KeyValue{key, value}.
func (fb *fbuf) keyValues(pos int64, i int) error {
	return fb.tables(pos, i, func(kv int64) error {
		if err := fb.str(kv, 0); err != nil {
			return err
		}
		return fb.str(kv, 1)
	})
}

// fields checks a vector of Field: 0 name, 1 nullable, 2 type_type,
// 3 type, 4 dictionary, 5 children [Field], 6 custom_metadata.
func (fb *fbuf) fields(pos int64, i, depth int) error {
	if depth > 16 {
		return fmt.Errorf("%w: fields nested deeper than 16", errFB)
	}
	return fb.tables(pos, i, func(f int64) error {
		if err := fb.str(f, 0); err != nil {
			return err
		}
		for _, sub := range []int{3, 4} {
			if at, ok, err := fb.field(f, sub); err != nil {
				return err
			} else if ok {
				t, err := fb.uoffset(at)
				if err != nil {
					return err
				}
				if err := fb.table(t); err != nil {
					return err
				}
			}
		}
		if err := fb.keyValues(f, 6); err != nil {
			return err
		}
		return fb.fields(f, 5, depth+1)
	})
}
