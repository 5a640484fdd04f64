//go:build (linux || freebsd || darwin) && (amd64 || arm64)

package nifti

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/ebitengine/purego"
)

// loadLibdeflate opens libdeflate with dlopen through purego (no cgo, so no
// headers or C compiler at build time) and binds the three functions the
// whole-buffer gzip decoder needs. Any failure means "not available".
func loadLibdeflate() (*libdeflateLib, error) {
	var h uintptr
	var errs []error
	for _, n := range libdeflateNames {
		if (runtime.GOOS == "darwin") != strings.HasSuffix(n, ".dylib") {
			continue
		}
		var err error
		if h, err = purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_LOCAL); err == nil {
			break
		}
		errs = append(errs, err)
	}
	if h == 0 {
		return nil, fmt.Errorf("dlopen libdeflate: %v", errs)
	}
	lib := &libdeflateLib{}
	for _, f := range []struct {
		name string
		fptr any
	}{
		{"libdeflate_alloc_decompressor", &lib.alloc},
		{"libdeflate_free_decompressor", &lib.free},
		{"libdeflate_gzip_decompress_ex", &lib.gunzipEx},
	} {
		sym, err := purego.Dlsym(h, f.name)
		if err != nil || sym == 0 {
			purego.Dlclose(h)
			return nil, fmt.Errorf("libdeflate lacks %s: %v", f.name, err)
		}
		purego.RegisterFunc(f.fptr, sym)
	}
	return lib, nil
}
