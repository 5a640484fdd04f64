package nifti

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// WriteFile writes im as a single-file NIfTI-1 image, gzipped when path ends
// in ".gz". The voxel order is medmd's (i fastest), which is NIfTI's, so the
// bytes go out unchanged (RGB planes are interleaved back into RGB24 /
// RGBA32). The affine becomes the sform (code 1, scanner) and, as its
// closest rotation plus qfac, the qform (code 1); pixdim is im.Spacing, or
// the affine's column lengths where Spacing is zero. The file is streamed
// to a temporary name beside path and published atomically
// (shards.Publish).
func WriteFile(path string, im *shards.Image) error {
	hdr, err := encodeHeader(im)
	if err != nil {
		return fmt.Errorf("nifti: %s: %w", path, err)
	}
	gz := strings.HasSuffix(strings.ToLower(path), ".gz")
	if err := shards.Publish(nil, path, func(w io.Writer) error { return writeTo(w, hdr, im, gz) }); err != nil {
		return fmt.Errorf("nifti: writing %s: %w", path, err)
	}
	return nil
}

func writeTo(f io.Writer, hdr []byte, im *shards.Image, gz bool) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw) // no name or mtime: same image ⇒ same bytes
		w = zw
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if im.Channels > 1 {
		n := im.Depth * im.Height * im.Width
		buf := make([]byte, 0, 1<<16)
		for i := 0; i < n; i++ {
			for c := 0; c < im.Channels; c++ {
				buf = append(buf, im.Voxels[c*n+i])
			}
			if len(buf) >= 1<<16-8 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	} else if _, err := w.Write(im.Voxels); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

var writeDtypes = map[shards.DType]int{
	shards.Uint8: dtUint8, shards.Int8: dtInt8, shards.Int16: dtInt16, shards.Uint16: dtUint16,
	shards.Int32: dtInt32, shards.Uint32: dtUint32, shards.Int64: dtInt64, shards.Uint64: dtUint64,
	shards.Float32: dtFloat32, shards.Float64: dtFloat64,
}

// encodeHeader builds the 348-byte header plus the 4 empty extension bytes.
func encodeHeader(im *shards.Image) ([]byte, error) {
	var code int
	switch {
	case im.Channels == 3 && im.DType == shards.Uint8:
		code = dtRGB24
	case im.Channels == 4 && im.DType == shards.Uint8:
		code = dtRGBA32
	case im.Channels == 1:
		var ok bool
		if code, ok = writeDtypes[im.DType]; !ok {
			return nil, fmt.Errorf("dtype %q has no NIfTI-1 datatype", im.DType)
		}
	default:
		return nil, fmt.Errorf("%d channels of %s cannot be written as NIfTI", im.Channels, im.DType)
	}
	if im.Width < 1 || im.Height < 1 || im.Depth < 1 || im.Width > math.MaxInt16 || im.Height > math.MaxInt16 || im.Depth > math.MaxInt16 {
		return nil, fmt.Errorf("dims %d×%d×%d do not fit NIfTI-1 (1..32767)", im.Width, im.Height, im.Depth)
	}
	if want := im.NumVoxels() * im.DType.Size(); len(im.Voxels) != want {
		return nil, fmt.Errorf("image has %d voxel bytes, want %d", len(im.Voxels), want)
	}
	info := dtypes[code]
	b := make([]byte, hdrSize1+4)
	o := binary.LittleEndian
	put16 := func(off int, v int) { o.PutUint16(b[off:], uint16(int16(v))) }
	putf := func(off int, v float64) { o.PutUint32(b[off:], math.Float32bits(float32(v))) }
	o.PutUint32(b[0:], hdrSize1)
	b[38] = 'r' // "regular", as nibabel writes
	dims := []int{3, im.Width, im.Height, im.Depth, 1, 1, 1, 1}
	for i, d := range dims {
		put16(40+2*i, d)
	}
	put16(70, code)
	put16(72, info.size*8)
	aff := im.Affine
	if aff == ([16]float64{}) {
		aff = shards.IdentityAffine()
	}
	qa, qfac, zooms := affineToQuatern(aff)
	pix := im.Spacing
	for i := range 3 {
		if pix[i] == 0 {
			pix[i] = zooms[i]
		}
	}
	putf(76, qfac)
	for i := range 3 {
		putf(80+4*i, pix[i])
	}
	putf(108, hdrSize1+4) // vox_offset
	putf(112, 1)          // scl_slope: values are stored as they are
	b[123] = 2            // xyzt_units: mm
	copy(b[148:228], "medmd export")
	put16(252, 1) // qform_code: scanner
	put16(254, 1) // sform_code: scanner
	for i := range 3 {
		putf(256+4*i, qa[i+1])
		putf(268+4*i, aff[4*i+3])
		for j := range 4 {
			putf(280+16*i+4*j, aff[4*i+j])
		}
	}
	copy(b[344:], "n+1\x00")
	return b, nil
}

// affineToQuatern returns the quaternion (a, b, c, d) with a ≥ 0, qfac and
// the column lengths of the 3×3 part of aff, following the NIfTI reference
// nifti_mat44_to_quatern: normalise columns, orthogonalise (polar factor),
// flip the third column when the determinant is negative (qfac = -1).
func affineToQuatern(aff [16]float64) (q [4]float64, qfac float64, zooms [3]float64) {
	var m [3][3]float64
	for j := range 3 {
		zooms[j] = math.Sqrt(aff[j]*aff[j] + aff[4+j]*aff[4+j] + aff[8+j]*aff[8+j])
		n := zooms[j]
		if n == 0 {
			n = 1
		}
		for i := range 3 {
			m[i][j] = aff[4*i+j] / n
		}
	}
	r := normalize.Polar(m)
	det := r[0][0]*(r[1][1]*r[2][2]-r[1][2]*r[2][1]) - r[0][1]*(r[1][0]*r[2][2]-r[1][2]*r[2][0]) + r[0][2]*(r[1][0]*r[2][1]-r[1][1]*r[2][0])
	qfac = 1
	if det < 0 {
		qfac = -1
		for i := range 3 {
			r[i][2] = -r[i][2]
		}
	}
	if det == 0 { // degenerate: identity rotation
		r = [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	}
	a := r[0][0] + r[1][1] + r[2][2] + 1
	var b, c, d float64
	if a > 0.5 {
		a = 0.5 * math.Sqrt(a)
		b = 0.25 * (r[2][1] - r[1][2]) / a
		c = 0.25 * (r[0][2] - r[2][0]) / a
		d = 0.25 * (r[1][0] - r[0][1]) / a
	} else {
		xd := 1 + r[0][0] - (r[1][1] + r[2][2])
		yd := 1 + r[1][1] - (r[0][0] + r[2][2])
		zd := 1 + r[2][2] - (r[0][0] + r[1][1])
		switch {
		case xd > 1:
			b = 0.5 * math.Sqrt(xd)
			c = 0.25 * (r[0][1] + r[1][0]) / b
			d = 0.25 * (r[0][2] + r[2][0]) / b
			a = 0.25 * (r[2][1] - r[1][2]) / b
		case yd > 1:
			c = 0.5 * math.Sqrt(yd)
			b = 0.25 * (r[0][1] + r[1][0]) / c
			d = 0.25 * (r[1][2] + r[2][1]) / c
			a = 0.25 * (r[0][2] - r[2][0]) / c
		default:
			d = 0.5 * math.Sqrt(zd)
			b = 0.25 * (r[0][2] + r[2][0]) / d
			c = 0.25 * (r[1][2] + r[2][1]) / d
			a = 0.25 * (r[1][0] - r[0][1]) / d
		}
		if a < 0 {
			a, b, c, d = -a, -b, -c, -d
		}
	}
	return [4]float64{a, b, c, d}, qfac, zooms
}
