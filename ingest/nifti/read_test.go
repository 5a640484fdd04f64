package nifti

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

var ctx = context.Background()

func TestReadErrors(t *testing.T) {
	anat, err := os.ReadFile("testdata/anatomical.nii") // big-endian NIfTI-1
	if err != nil {
		t.Fatal(err)
	}
	n2, err := os.ReadFile("testdata/derived/scaled_nifti2.nii")
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	le := binary.LittleEndian
	mod := func(src []byte, f func(b []byte)) []byte {
		b := bytes.Clone(src)
		f(b)
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		opt     Options
		wantErr error  // errors.Is target, or nil to only check the text
		wantMsg string // substring of the error
	}{
		{"not nifti", []byte("hello world, this is not a header"), Options{}, nil, "sizeof_hdr"},
		{"short header", anat[:200], Options{}, io.ErrUnexpectedEOF, "header truncated"},
		{"analyze magic", mod(anat, func(b []byte) { copy(b[344:], "\x00\x00\x00\x00") }), Options{}, ErrUnsupported, "Analyze"},
		{"complex64", mod(anat, func(b []byte) { be.PutUint16(b[70:], 32) }), Options{}, ErrUnsupported, "complex64"},
		{"5D", mod(anat, func(b []byte) { be.PutUint16(b[40:], 5); be.PutUint16(b[48:], 2); be.PutUint16(b[50:], 2) }), Options{}, ErrUnsupported, "5D"},
		{"zero dim", mod(anat, func(b []byte) { be.PutUint16(b[42:], 0) }), Options{}, nil, "dim[1] = 0"},
		{"negative dim", mod(anat, func(b []byte) { be.PutUint16(b[44:], 0xffff) }), Options{}, nil, "dim[2] = -1"},
		{"dim0 8", mod(anat, func(b []byte) { be.PutUint16(b[40:], 8) }), Options{}, nil, "dim[0] = 8"},
		{"claims more than file", mod(anat, func(b []byte) { be.PutUint16(b[42:], 30000) }), Options{}, ErrTooLarge, "file can hold"},
		{"claims 4D more than file", mod(anat, func(b []byte) { be.PutUint16(b[40:], 4); be.PutUint16(b[48:], 1000) }), Options{}, ErrTooLarge, "file can hold"},
		{"over limit", anat, Options{MaxVoxels: 1000}, ErrTooLarge, "limit of 1000"},
		{"huge dims", mod(anat, func(b []byte) {
			for i := 1; i <= 3; i++ {
				be.PutUint16(b[40+2*i:], 32767)
			}
		}), Options{}, ErrTooLarge, "exceeds the limit"},
		{"vox_offset past end", mod(anat, func(b []byte) { be.PutUint32(b[108:], math.Float32bits(1e9)) }), Options{}, ErrTooLarge, "file can hold"},
		{"vox_offset NaN", mod(anat, func(b []byte) { be.PutUint32(b[108:], math.Float32bits(float32(math.NaN()))) }), Options{}, nil, "vox_offset"},
		{"bad quaternion", mod(anat, func(b []byte) {
			be.PutUint16(b[254:], 0)
			be.PutUint16(b[252:], 1)
			be.PutUint32(b[256:], math.Float32bits(0.9))
			be.PutUint32(b[260:], math.Float32bits(0.9))
		}), Options{}, nil, "unit quaternion"},
		{"singular sform", mod(anat, func(b []byte) {
			for i := 280; i < 328; i++ {
				b[i] = 0
			}
		}), Options{}, nil, "singular"},
		{"inf intercept", mod(anat, func(b []byte) {
			be.PutUint32(b[112:], math.Float32bits(2))
			be.PutUint32(b[116:], math.Float32bits(float32(math.Inf(1))))
		}), Options{}, nil, "scl_inter"},
		{"nifti2 huge dim", mod(n2, func(b []byte) { le.PutUint64(b[24:], 1<<40) }), Options{}, nil, "outside 1.."},
		{"nifti2 negative vox_offset", mod(n2, func(b []byte) { le.PutUint64(b[168:], 1<<63) }), Options{}, nil, "negative"},
		{"nifti2 bad magic", mod(n2, func(b []byte) { copy(b[4:], "xyz") }), Options{}, nil, "magic"},
		{"pair header alone", mod(anat, func(b []byte) { copy(b[344:], "ni1\x00") }), Options{}, ErrUnsupported, "pair"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(ctx, "case.nii", tc.data, tc.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), "case.nii") {
				t.Errorf("error %q should name the file and contain %q", err, tc.wantMsg)
			}
		})
	}
}

// TestGzipBomb: a small gzip whose header claims a volume larger than any
// deflate stream of that size can hold is rejected before allocating, and
// one that claims a plausible size but lies fails with ErrUnexpectedEOF.
func TestGzipBomb(t *testing.T) {
	anat, _ := os.ReadFile("testdata/anatomical.nii")
	b := bytes.Clone(anat[:352])
	be := binary.BigEndian
	for i := 1; i <= 3; i++ {
		be.PutUint16(b[40+2*i:], 2000)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	_, err := Decode(ctx, "bomb.nii.gz", buf.Bytes(), Options{MaxVoxels: 1 << 40})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	// A claim within the deflate bound but beyond the stream: truncated.
	for i := 1; i <= 3; i++ {
		be.PutUint16(b[40+2*i:], 20)
	}
	buf.Reset()
	zw = gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Write(make([]byte, 100))
	zw.Close()
	_, err = Decode(ctx, "short.nii.gz", buf.Bytes(), Options{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want ErrUnexpectedEOF", err)
	}
}

// TestTruncationSweep cuts real files at every header field boundary, at
// vox_offset, at each volume boundary and at a spread of points inside the
// data: every cut must fail with an error naming the file, never panic or
// succeed.
func TestTruncationSweep(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"anatomical.nii", "functional.nii", "small_25.nii.gz", "derived/nifti2_be_4d.nii", "derived/rgb24.nii.gz"} {
		full, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		cuts := []int{0, 1, 3, 4, 40, 56, 70, 76, 108, 112, 148, 252, 280, 344, 347, 348, 351, 352, 540, 543, 544}
		for i := 1; i < 64; i++ {
			cuts = append(cuts, len(full)*i/64)
		}
		cuts = append(cuts, len(full)-1)
		base := filepath.Base(name)
		for _, c := range cuts {
			if c >= len(full) {
				continue
			}
			p := filepath.Join(dir, base)
			if err := os.WriteFile(p, full[:c], 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadFile(ctx, p, Options{AllVolumes: true})
			if err == nil {
				t.Errorf("%s cut at %d of %d: no error", name, c, len(full))
				continue
			}
			if !strings.Contains(err.Error(), base) {
				t.Errorf("%s cut at %d: error %q does not name the file", name, c, err)
			}
		}
	}
}

// TestPairMissingImage: a .hdr whose .img is absent is an error naming it.
func TestPairMissingImage(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile("testdata/derived/anat_pair.hdr")
	p := filepath.Join(dir, "x.hdr")
	os.WriteFile(p, b, 0o644)
	if _, err := ReadFile(ctx, p, Options{}); err == nil || !strings.Contains(err.Error(), "x.hdr") {
		t.Fatalf("got %v", err)
	}
}

// TestFirstVolumeOnly: without AllVolumes a 4D file yields its first volume.
func TestFirstVolumeOnly(t *testing.T) {
	res, err := ReadFile(ctx, "testdata/functional.nii", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.NumVolumes != 20 || len(res.Images) != 1 {
		t.Fatalf("got %d volumes, %d images", res.NumVolumes, len(res.Images))
	}
	all, _ := ReadFile(ctx, "testdata/functional.nii", Options{AllVolumes: true})
	if !bytes.Equal(all.Images[0].Voxels, res.Images[0].Voxels) {
		t.Fatal("first volume differs between first and all")
	}
	if !strings.Contains(res.Images[0].Transforms[0].Params, `"from":"LAS"`) {
		t.Errorf("transform %+v", res.Images[0].Transforms)
	}
}

// FuzzDecode feeds mutated real files (plain and gzipped) to the decoder:
// it must return an error or a well-formed image, never panic or allocate
// beyond the limit.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"standard.nii.gz", "small_25.nii.gz", "resampled_anat_moved.nii", "derived/dtype_int8.nii", "derived/scaled_nifti2.nii", "derived/rgba32.nii", "derived/qform_only_oblique.nii", "derived/sform_pir_sheared.nii.gz"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(ctx, "fuzz.nii", data, Options{MaxVoxels: 1 << 20, AllVolumes: true})
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b && libdeflateLoaded() != nil {
			// Gzip: compress/gzip alone must give the same result as the
			// default (libdeflate when it loads).
			forceGoInflate.Store(true)
			res2, err2 := Decode(ctx, "fuzz.nii", data, Options{MaxVoxels: 1 << 20, AllVolumes: true})
			forceGoInflate.Store(false)
			if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) ||
				(err == nil && !reflect.DeepEqual(res.Images, res2.Images)) {
				t.Fatalf("libdeflate and compress/gzip disagree: %v / %v", err, err2)
			}
		}
		if err != nil {
			return
		}
		for _, im := range res.Images {
			if len(im.Voxels) != im.NumVoxels()*im.DType.Size() {
				t.Fatalf("voxel bytes %d for %d×%d×%d×%d %s", len(im.Voxels), im.Channels, im.Depth, im.Height, im.Width, im.DType)
			}
		}
	})
}

// TestReadAllocations: a flip-only volume is reoriented in place, so a read
// allocates little more than the voxels themselves.
func TestReadAllocations(t *testing.T) {
	const path = "testdata/anatomical.nii" // LAS: flips i only
	res, err := ReadFile(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	vox := uint64(len(res.Images[0].Voxels))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 5
	for range n {
		if _, err := ReadFile(ctx, path, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / n
	if per > vox+128<<10 {
		t.Errorf("read allocates %d bytes for %d voxel bytes", per, vox)
	}
}
