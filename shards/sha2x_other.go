//go:build !amd64 || purego

package shards

func block2(ha, hb *[8]uint32, pa, pb *byte, n int) { panic("shards: no two-way SHA-256") }

const have2x = false
