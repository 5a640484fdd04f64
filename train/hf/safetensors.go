// Package hf reads and writes Hugging Face model folders: safetensors
// checkpoints (single file or sharded with model.safetensors.index.json),
// config.json of LLaMA-family decoders, and runs such a decoder with GoMLX,
// with a KV cache for generation.
//
// The safetensors format (github.com/huggingface/safetensors, "Format"):
// an 8-byte little-endian unsigned header length N, N bytes of JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {string: string}}, then the tensors' raw little-endian bytes, offsets
// relative to the end of the header.
package hf

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unsafe"

	"github.com/medmd/medmd/shards"
	"golang.org/x/sys/unix"
)

// MaxHeader bounds a safetensors JSON header, as the reference
// implementation does (100 MB), so a corrupt length cannot make us allocate.
const MaxHeader = 100 << 20

// ErrFormat is wrapped by every error about a malformed safetensors file.
var ErrFormat = errors.New("hf: malformed safetensors")

// DType names of safetensors this package converts to float32.
const (
	F32  = "F32"
	F16  = "F16"
	BF16 = "BF16"
)

// dtypeSize is the byte size of each element type the format defines.
var dtypeSize = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, F16: 2, BF16: 2,
	"I32": 4, "U32": 4, F32: 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// TensorInfo is one header entry.
type TensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// File is a memory-mapped safetensors file. Bytes returns views into the
// mapping: they stay valid until Close, which the caller must call once.
type File struct {
	Path     string
	Tensors  map[string]TensorInfo
	Metadata map[string]string
	data     []byte   // the whole mapping
	body     int64    // offset of the first tensor byte
	file     *os.File // open for Float32's reads of F32 tensors
}

// Open maps path and checks its header: the header length against
// MaxHeader and the file size, and every tensor's dtype, shape and offsets
// (inside the file, matching shape × dtype size) before anything is read.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: %w: %d bytes, shorter than the 8-byte header length", path, ErrFormat, size)
	}
	var lenb [8]byte
	if _, err := f.ReadAt(lenb[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenb[:])
	if n > MaxHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("%s: %w: header claims %d bytes, the file holds %d after the length (limit %d)", path, ErrFormat, n, size-8, MaxHeader)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	sf := &File{Path: path, data: data, body: 8 + int64(n), Tensors: map[string]TensorInfo{}}
	if err := sf.parseHeader(data[8 : 8+n]); err != nil {
		sf.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sf.file, keep = f, true
	return sf, nil
}

func (f *File) parseHeader(h []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(h, &raw); err != nil {
		return fmt.Errorf("%w: header JSON: %v", ErrFormat, err)
	}
	avail := int64(len(f.data)) - f.body
	for name, r := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(r, &f.Metadata); err != nil {
				return fmt.Errorf("%w: __metadata__: %v", ErrFormat, err)
			}
			continue
		}
		var ti TensorInfo
		if err := json.Unmarshal(r, &ti); err != nil {
			return fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		es, ok := dtypeSize[ti.DType]
		if !ok {
			return fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrFormat, name, ti.DType)
		}
		count := int64(1)
		for _, d := range ti.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt64/int64(d)/int64(es)) {
				return fmt.Errorf("%w: tensor %q: shape %v", ErrFormat, name, ti.Shape)
			}
			count *= int64(d)
		}
		b, e := ti.DataOffsets[0], ti.DataOffsets[1]
		if b < 0 || e < b || e > avail {
			return fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] outside the %d data bytes", ErrFormat, name, b, e, avail)
		}
		if e-b != count*int64(es) {
			return fmt.Errorf("%w: tensor %q: %d bytes for %s %v (want %d)", ErrFormat, name, e-b, ti.DType, ti.Shape, count*int64(es))
		}
		f.Tensors[name] = ti
	}
	return nil
}

// Bytes returns tensor name's raw little-endian bytes, a view into the
// mapping valid until Close.
func (f *File) Bytes(name string) ([]byte, error) {
	ti, ok := f.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q: missing", f.Path, name)
	}
	return f.data[f.body+ti.DataOffsets[0] : f.body+ti.DataOffsets[1]], nil
}

// Float32 converts tensor name (F32, F16 or BF16) into dst, which must hold
// exactly its element count. F32 is copied straight from the mapping.
func (f *File) Float32(name string, dst []float32) error {
	ti := f.Tensors[name]
	b, err := f.Bytes(name)
	if err != nil {
		return err
	}
	switch ti.DType {
	case F32:
		if len(b) != 4*len(dst) {
			return fmt.Errorf("%s: tensor %q: %d elements, want %d", f.Path, name, len(b)/4, len(dst))
		}
		if f.file != nil {
			// One read(2) from the page cache straight into dst: copying
			// from the mapping instead pays a page fault per 64 KiB of
			// source (measured 0.3–0.5× os.ReadFile's speed; this is the
			// same kernel copy os.ReadFile does).
			ti := f.Tensors[name]
			if _, err := f.file.ReadAt(shards.Bytes(dst), f.body+ti.DataOffsets[0]); err != nil {
				return fmt.Errorf("%s: tensor %q: %w", f.Path, name, err)
			}
			break
		}
		if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 == 0 {
			copy(dst, shards.View[float32](b))
			break
		}
		for i := range dst { // an F32 tensor after an odd-length F16 one
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case BF16, F16:
		if len(b) != 2*len(dst) {
			return fmt.Errorf("%s: tensor %q: %d elements, want %d", f.Path, name, len(b)/2, len(dst))
		}
		for i := range dst {
			u := binary.LittleEndian.Uint16(b[2*i:])
			if ti.DType == BF16 {
				dst[i] = math.Float32frombits(uint32(u) << 16)
			} else {
				dst[i] = shards.HalfToFloat32(u)
			}
		}
	default:
		return fmt.Errorf("%s: tensor %q: dtype %s is not a float type this decoder reads (F32, F16, BF16)", f.Path, name, ti.DType)
	}
	return nil
}

// Close unmaps the file; views from Bytes are invalid afterwards.
func (f *File) Close() error {
	if f.file != nil {
		f.file.Close()
		f.file = nil
	}
	if f.data == nil {
		return nil
	}
	err := unix.Munmap(f.data)
	f.data = nil
	return err
}

// Tensor is one float32 tensor to write.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteFile writes tensors as one F32 safetensors file, atomically through
// shards.Publish; the header is padded with spaces to 8 bytes, as the
// reference writer does, so the data is aligned when mapped.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	ts := append([]Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range ts {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("%s: tensor %q: shape %v holds %d values, have %d", path, t.Name, t.Shape, n, len(t.Data))
		}
		header[t.Name] = TensorInfo{DType: F32, Shape: append([]int{}, t.Shape...), DataOffsets: [2]int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	return shards.Publish(nil, path, func(w io.Writer) error {
		var lenb [8]byte
		binary.LittleEndian.PutUint64(lenb[:], uint64(len(h)))
		if _, err := w.Write(lenb[:]); err != nil {
			return err
		}
		if _, err := w.Write(h); err != nil {
			return err
		}
		for _, t := range ts {
			if _, err := w.Write(shards.Bytes(t.Data)); err != nil {
				return err
			}
		}
		return nil
	})
}
