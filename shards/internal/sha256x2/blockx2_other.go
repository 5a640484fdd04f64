//go:build !amd64 || purego

package sha256x2

const available = false

func blockX2(h *[16]uint32, a, b *byte, n int) { panic("unreachable") }
