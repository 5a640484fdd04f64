//go:build cgo && linux && amd64 && !noxla

package main

// The XLA backend (PJRT plugins: CUDA on the GPU machine, see train/gpu/)
// for `medmd train` and `medmd generate`; selected by $GOMLX_BACKEND.
// Without cgo the binary has only the pure-Go backend.
import _ "github.com/gomlx/gomlx/backends/xla"
