// Package bench holds the reference script behind `medmd perf normalize`
// (scipy_ref.py, run with Debian's /usr/bin/python3), embedded so the
// binary runs it from any folder. It contains no Go logic of its own.
package bench

import _ "embed"

// ScipyRef is scipy_ref.py: "make OUT_DIR" writes the 301×370×316 perf
// volume, "time FILE REPEATS" prints the nibabel+scipy+numpy medians.
//
//go:embed scipy_ref.py
var ScipyRef []byte
