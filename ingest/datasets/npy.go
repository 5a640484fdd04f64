package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/medmd/medmd/shards"
)

// Npy is a parsed NumPy .npy array (format versions 1.0, 2.0 and 3.0, see
// numpy.lib.format): its element type, shape, and the elements in C order,
// little-endian. Data aliases the input when no reordering was needed.
type Npy struct {
	DType shards.DType
	Shape []int
	Data  []byte
}

// npyMaxHeader bounds the header dictionary (numpy writes < 1 KiB).
const npyMaxHeader = 1 << 20

// ParseNpy parses an .npy file. Fortran-ordered arrays are reordered to C
// order and big-endian elements swapped, so the result is always C-order
// little-endian. Object arrays, structured dtypes and complex numbers are
// refused. Every size the header declares is checked against the data
// before anything is allocated.
func ParseNpy(data []byte) (*Npy, error) {
	if len(data) < 10 || string(data[:6]) != "\x93NUMPY" {
		return nil, errors.New("npy: missing \\x93NUMPY magic")
	}
	major := data[6]
	var hlen, off int
	switch major {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(data[8:10])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, errors.New("npy: truncated header length")
		}
		h := binary.LittleEndian.Uint32(data[8:12])
		if h > npyMaxHeader {
			return nil, fmt.Errorf("npy: header of %d bytes exceeds %d", h, npyMaxHeader)
		}
		hlen, off = int(h), 12
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d", major, data[7])
	}
	if off+hlen > len(data) {
		return nil, fmt.Errorf("npy: header of %d bytes runs past the end of a %d-byte file", hlen, len(data))
	}
	descr, fortran, shape, err := parseNpyHeader(string(data[off : off+hlen]))
	if err != nil {
		return nil, err
	}
	dt, swap, err := npyDType(descr)
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > uint64(len(data)) {
			return nil, fmt.Errorf("npy: shape %v larger than the file: %w", shape, errTruncated)
		}
		n = int(lo)
	}
	es := dt.Size()
	body := data[off+hlen:]
	if n*es > len(body) {
		return nil, fmt.Errorf("npy: shape %v of %s needs %d bytes, file has %d: %w", shape, descr, n*es, len(body), errTruncated)
	}
	body = body[:n*es]
	if swap && es > 1 {
		sw := make([]byte, len(body))
		for i := 0; i < len(body); i += es {
			for k := 0; k < es; k++ {
				sw[i+k] = body[i+es-1-k]
			}
		}
		body = sw
	}
	if fortran && len(shape) > 1 {
		body = fortranToC(body, shape, es)
	}
	return &Npy{DType: dt, Shape: shape, Data: body}, nil
}

var errTruncated = errors.New("truncated")

// parseNpyHeader reads the Python dict literal of an npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 64, 64, 4), }.
func parseNpyHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, fmt.Errorf("npy: header %q is not a dict", h)
	}
	get := func(key string) (string, bool) {
		for _, q := range []string{"'", "\""} {
			k := q + key + q
			i := strings.Index(h, k)
			if i < 0 {
				continue
			}
			rest := strings.TrimSpace(h[i+len(k):])
			if !strings.HasPrefix(rest, ":") {
				return "", false
			}
			return strings.TrimSpace(rest[1:]), true
		}
		return "", false
	}
	v, ok := get("descr")
	if !ok || len(v) < 2 || (v[0] != '\'' && v[0] != '"') {
		return "", false, nil, fmt.Errorf("npy: header %q has no string descr", h)
	}
	end := strings.IndexByte(v[1:], v[0])
	if end < 0 {
		return "", false, nil, fmt.Errorf("npy: unterminated descr in %q", h)
	}
	descr = v[1 : 1+end]
	v, ok = get("fortran_order")
	switch {
	case ok && strings.HasPrefix(v, "True"):
		fortran = true
	case ok && strings.HasPrefix(v, "False"):
	default:
		return "", false, nil, fmt.Errorf("npy: header %q has no fortran_order", h)
	}
	v, ok = get("shape")
	if !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, fmt.Errorf("npy: header %q has no shape tuple", h)
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, fmt.Errorf("npy: unterminated shape in %q", h)
	}
	shape = []int{}
	for _, f := range strings.Split(v[1:end], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil {
			return "", false, nil, fmt.Errorf("npy: bad dimension %q in shape", f)
		}
		shape = append(shape, d)
	}
	if len(shape) > 32 {
		return "", false, nil, fmt.Errorf("npy: %d dimensions", len(shape))
	}
	return descr, fortran, shape, nil
}

// npyDType maps a numpy type string to a DType and whether its bytes need
// swapping to little-endian.
func npyDType(descr string) (shards.DType, bool, error) {
	if len(descr) < 3 {
		return "", false, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	order, kind := descr[0], descr[1:]
	var swap bool
	switch order {
	case '<', '|', '=':
	case '>':
		swap = true
	default:
		return "", false, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	m := map[string]shards.DType{
		"u1": shards.Uint8, "i1": shards.Int8, "b1": shards.Uint8,
		"u2": shards.Uint16, "i2": shards.Int16, "f2": shards.Float16,
		"u4": shards.Uint32, "i4": shards.Int32, "f4": shards.Float32,
		"u8": shards.Uint64, "i8": shards.Int64, "f8": shards.Float64,
	}
	dt, ok := m[kind]
	if !ok {
		return "", false, fmt.Errorf("npy: unsupported dtype %q", descr)
	}
	return dt, swap, nil
}

// fortranToC reorders a column-major array to row-major.
func fortranToC(src []byte, shape []int, es int) []byte {
	dst := make([]byte, len(src))
	nd := len(shape)
	idx := make([]int, nd)
	// Strides of the Fortran layout, in elements.
	fs := make([]int, nd)
	s := 1
	for k := 0; k < nd; k++ {
		fs[k] = s
		s *= shape[k]
	}
	n := len(src) / es
	for c := 0; c < n; c++ {
		f := 0
		for k := 0; k < nd; k++ {
			f += idx[k] * fs[k]
		}
		copy(dst[c*es:(c+1)*es], src[f*es:(f+1)*es])
		for k := nd - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
	return dst
}

// decodeNpyImages turns an .npy array in RadFM's Radiopaedia layout into
// images. RadFM stores a case's images as (S, C, H, W, D): S images of C
// channels, H×W in-plane, depth last (nii2npy_for_radiopaedio.py); a single
// image may be stored as (C, H, W, D), (H, W, D) or (H, W). The project
// layout puts depth before rows, so each image is transposed to
// (C, D, H, W).
func decodeNpyImages(data []byte) ([]shards.Image, error) {
	a, err := ParseNpy(data)
	if err != nil {
		return nil, err
	}
	sh := a.Shape
	var s, c, h, w, d int
	switch len(sh) {
	case 5:
		s, c, h, w, d = sh[0], sh[1], sh[2], sh[3], sh[4]
	case 4:
		s, c, h, w, d = 1, sh[0], sh[1], sh[2], sh[3]
	case 3:
		s, c, h, w, d = 1, 1, sh[0], sh[1], sh[2]
	case 2:
		s, c, h, w, d = 1, 1, sh[0], sh[1], 1
	default:
		return nil, fmt.Errorf("npy: shape %v is not (S,C,H,W,D), (C,H,W,D), (H,W,D) or (H,W)", sh)
	}
	if s == 0 || c == 0 || h == 0 || w == 0 || d == 0 {
		return nil, fmt.Errorf("npy: empty array of shape %v", sh)
	}
	if c > 4 {
		return nil, fmt.Errorf("npy: %d channels in shape %v (want at most 4; is the layout (S,C,H,W,D)?)", c, sh)
	}
	es := a.DType.Size()
	per := c * h * w * d * es
	out := make([]shards.Image, 0, s)
	for k := 0; k < s; k++ {
		src := a.Data[k*per : (k+1)*per]
		vox := make([]byte, per)
		if d == 1 {
			copy(vox, src)
		} else {
			// src index ((ci*h+y)*w+x)*d+z → dst ((ci*d+z)*h+y)*w+x
			for ci := 0; ci < c; ci++ {
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						sb := (((ci*h+y)*w + x) * d) * es
						for z := 0; z < d; z++ {
							db := (((ci*d+z)*h+y)*w + x) * es
							copy(vox[db:db+es], src[sb+z*es:sb+(z+1)*es])
						}
					}
				}
			}
		}
		out = append(out, shards.Image{
			DType: a.DType, Channels: c, Depth: d, Height: h, Width: w,
			Voxels: vox, Affine: shards.IdentityAffine(),
			Meta: map[string]string{"npy_index": strconv.Itoa(k), "npy_shape": fmt.Sprint(sh)},
		})
	}
	return out, nil
}
