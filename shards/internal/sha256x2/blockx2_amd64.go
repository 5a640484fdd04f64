//go:build amd64 && !purego

package sha256x2

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run gen.go > blockx2_amd64.s"

// available: the kernel uses SHA-NI, SSSE3/SSE4.1 shuffles and blends,
// and AVX's three-operand forms.
var available = cpu.X86.HasAVX && hasSHA() && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3

// blockX2 runs n 64-byte blocks of a and of b through the states h[0:8]
// and h[8:16].
//
//go:noescape
func blockX2(h *[16]uint32, a, b *byte, n int)

func hasSHA() bool
