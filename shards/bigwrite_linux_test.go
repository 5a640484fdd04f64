package shards

import "time"

// setSlowChunk sets slowChunk until the returned func restores it.
func setSlowChunk(d time.Duration) func() {
	old := slowChunk
	slowChunk = d
	return func() { slowChunk = old }
}
