//go:build race

package storage_test

// raceEnabled: the race detector's runtime holds shadow memory for every
// allocation, so memory bounds are meaningless under -race.
const raceEnabled = true
