//go:build !((linux || freebsd || darwin) && (amd64 || arm64))

package nifti

import "errors"

// loadLibdeflate: purego's dlopen is not used on this platform, so gzip is
// always inflated with compress/gzip.
func loadLibdeflate() (*libdeflateLib, error) {
	return nil, errors.New("libdeflate is not loaded on this platform")
}
