package nifti

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// useGoInflate forces (or lifts) the compress/gzip fallback for the rest
// of t.
func useGoInflate(t testing.TB, on bool) {
	old := forceGoInflate.Swap(on)
	t.Cleanup(func() { forceGoInflate.Store(old) })
}

// eachInflater runs fn once with libdeflate (skipped, with a note, where
// the library cannot be loaded) and once with compress/gzip only.
func eachInflater(t *testing.T, fn func(t *testing.T)) {
	for _, mode := range []string{"libdeflate", "compress_gzip"} {
		t.Run(mode, func(t *testing.T) {
			useGoInflate(t, mode != "libdeflate")
			if mode == "libdeflate" && libdeflateLoaded() == nil {
				t.Skipf("libdeflate.so.0 cannot be loaded (Debian package libdeflate0) or %s=go: only compress/gzip is tested", InflateEnv)
			}
			fn(t)
		})
	}
}

// gzFiles lists every gzipped test file.
func gzFiles(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir("testdata", func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".gz") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 10 {
		t.Fatalf("gzipped test files: %v (%d)", err, len(files))
	}
	return files
}

func goGunzip(t testing.TB, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func needLibdeflate(t testing.TB) *libdeflateLib {
	useGoInflate(t, false)
	lib := libdeflateLoaded()
	if lib == nil {
		t.Skipf("libdeflate.so.0 cannot be loaded or %s=go", InflateEnv)
	}
	return lib
}

// TestLibdeflateBytes: libdeflate inflates every gzipped test file, and two
// of them concatenated (a multi-member stream), to exactly compress/gzip's
// bytes, whether the bound is exact or roomy.
func TestLibdeflateBytes(t *testing.T) {
	lib := needLibdeflate(t)
	var cat, catWant []byte
	for _, p := range gzFiles(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want := goGunzip(t, b)
		for _, slack := range []int64{0, 1, 4096} {
			got, err := lib.gunzip(p, b, int64(len(want))+slack)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s slack %d: %d bytes, err %v; want %d bytes", p, slack, len(got), err, len(want))
			}
		}
		if len(cat) < 200<<10 {
			cat, catWant = append(cat, b...), append(catWant, want...)
		}
	}
	got, err := lib.gunzip("cat.gz", cat, int64(len(catWant)))
	if err != nil || !bytes.Equal(got, catWant) {
		t.Fatalf("multi-member: %d bytes, err %v; want %d", len(got), err, len(catWant))
	}
}

// TestLibdeflateErrors: every way a stream can fail is an *Error naming the
// file, never a crash, and one that does not fit the bound is
// errInflateSpace.
func TestLibdeflateErrors(t *testing.T) {
	lib := needLibdeflate(t)
	b, _ := os.ReadFile("testdata/small_25.nii.gz")
	n := int64(len(goGunzip(t, b)))
	flip := func(i int) []byte { c := bytes.Clone(b); c[i] ^= 0x40; return c }
	fhcrc := bytes.Clone(b)
	fhcrc[3] |= 0x02
	for _, tc := range []struct {
		name  string
		data  []byte
		bound int64
		space bool
	}{
		{"truncated", b[:len(b)/2], n, false},
		{"trailer_cut", b[:len(b)-3], n, true}, // libdeflate: INSUFFICIENT_SPACE
		{"bad_crc", flip(len(b) - 6), n, false},
		{"bad_isize", flip(len(b) - 2), n, false},
		{"bad_deflate", flip(len(b) / 3), n, false},
		{"bad_magic", flip(0), n, false},
		{"trailing_garbage", append(bytes.Clone(b), "junk"...), n, false},
		{"trailing_zeros", append(bytes.Clone(b), make([]byte, 8)...), n, false},
		{"header_crc", fhcrc, n, false},
		{"one_byte_short", b, n - 1, true},
		{"zero_bound", b, 0, true},
		{"second_member_no_room", append(bytes.Clone(b), b...), n, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := lib.gunzip("case.nii.gz", tc.data, tc.bound)
			var e *Error
			if err == nil || !errors.As(err, &e) || e.File != "case.nii.gz" {
				t.Fatalf("got %d bytes, error %v; want an *Error naming case.nii.gz", len(out), err)
			}
			if errors.Is(err, errInflateSpace) != tc.space {
				t.Errorf("error %v: errInflateSpace %v, want %v", err, !tc.space, tc.space)
			}
		})
	}
}

// TestReadInflatersAgree: ReadFile and Decode give the same images with
// libdeflate as with compress/gzip on every gzipped test file, and
// libdeflate really did the inflating.
func TestReadInflatersAgree(t *testing.T) {
	needLibdeflate(t)
	for _, p := range gzFiles(t) {
		if strings.HasSuffix(p, ".img.gz") {
			continue // read through its .hdr.gz
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		read := func(goOnly bool) []*Result {
			useGoInflate(t, goOnly)
			before := libdeflateReads.Load()
			var out []*Result
			for _, opt := range []Options{{AllVolumes: true}, {}} {
				r, err := ReadFile(ctx, p, opt)
				if err != nil {
					t.Fatalf("%s (go only %v): %v", p, goOnly, err)
				}
				out = append(out, r)
				if strings.HasSuffix(p, ".nii.gz") {
					if r, err = Decode(ctx, p, data, opt); err != nil {
						t.Fatalf("Decode %s (go only %v): %v", p, goOnly, err)
					}
					out = append(out, r)
				}
			}
			if used := libdeflateReads.Load() > before; used == goOnly {
				t.Errorf("%s: libdeflate used %v with go only %v", p, used, goOnly)
			}
			return out
		}
		lib, gz := read(false), read(true)
		for i := range lib {
			if !reflect.DeepEqual(lib[i].Images, gz[i].Images) || !reflect.DeepEqual(lib[i].Header, gz[i].Header) {
				t.Errorf("%s read %d: libdeflate and compress/gzip differ", p, i)
			}
		}
	}
}

// TestInflaterErrorsAgree: damaged gzipped files fail the same way with
// either inflater (libdeflate's failures fall back to the stream, whose
// errors say where and wrap io.ErrUnexpectedEOF for truncation).
func TestInflaterErrorsAgree(t *testing.T) {
	needLibdeflate(t)
	b, _ := os.ReadFile("testdata/standard.nii.gz")
	for i, data := range [][]byte{
		b[:len(b)-1], b[:len(b)-8], b[:len(b)*3/4],
		append(bytes.Clone(b), "junk"...),
		append(bytes.Clone(b), b[:20]...),
		func() []byte { c := bytes.Clone(b); c[len(c)-7] ^= 1; return c }(),
		func() []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0x10; return c }(),
	} {
		errs := make([]string, 2)
		for j, goOnly := range []bool{false, true} {
			useGoInflate(t, goOnly)
			_, err := Decode(ctx, "bad.nii.gz", data, Options{AllVolumes: true})
			if err == nil || !strings.Contains(err.Error(), "bad.nii.gz") {
				t.Fatalf("case %d (go only %v): error %v should name the file", i, goOnly, err)
			}
			errs[j] = err.Error()
		}
		if errs[0] != errs[1] {
			t.Errorf("case %d: libdeflate path %q, compress/gzip %q", i, errs[0], errs[1])
		}
	}
}

// TestLibdeflateMissing: a library that cannot be found is an error from
// the loader, not a panic (reads then use compress/gzip, as every
// compress_gzip subtest shows).
func TestLibdeflateMissing(t *testing.T) {
	old := libdeflateNames
	defer func() { libdeflateNames = old }()
	libdeflateNames = []string{"libdeflate-does-not-exist.so.0", "libdeflate-does-not-exist.dylib"}
	if lib, err := loadLibdeflate(); lib != nil || err == nil {
		t.Fatalf("got %v, %v", lib, err)
	}
}

// TestInflateEnv: MEDMD_NIFTI_INFLATE=go turns libdeflate off (checked in
// a child process, since the setting is read once).
func TestInflateEnv(t *testing.T) {
	if os.Getenv("NIFTI_INFLATE_CHILD") == "1" {
		if libdeflateLoaded() != nil {
			t.Fatal("libdeflate loaded despite " + InflateEnv + "=go")
		}
		if _, err := ReadFile(ctx, "testdata/small_25.nii.gz", Options{AllVolumes: true}); err != nil || libdeflateReads.Load() != 0 {
			t.Fatalf("err %v, libdeflate reads %d", err, libdeflateReads.Load())
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestInflateEnv$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NIFTI_INFLATE_CHILD=1", InflateEnv+"=go")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
