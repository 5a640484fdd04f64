//go:build !race

package shards

// raceEnabled: see race_on_test.go.
const raceEnabled = false
