// Package stats holds the one median every part of medmd reports (the
// trainer's step time, the perf harness's timings). It lives in internal/
// and imports nothing of the project so that a library (train) and the
// perf harness (internal/perf, which no library may import) can share it
// without either importing the other.
package stats

import "slices"

// Median returns the median of xs: the middle value, or the mean of the two
// middle values for an even count; 0 for none. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
