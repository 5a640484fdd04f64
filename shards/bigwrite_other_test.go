//go:build !linux

package shards

import "time"

// setSlowChunk does nothing where there are no raw writes.
func setSlowChunk(time.Duration) func() { return func() {} }
