//go:build amd64 && !purego

package shards

//go:generate sh -c "python3 sha2x_gen.py > sha2x_amd64.s"

// block2 runs n 64-byte blocks of pa through the SHA-256 state ha and n
// blocks of pb through hb, the two streams' rounds interleaved: SHA-NI's
// round instruction waits on its previous result, so one stream leaves
// the unit idle half the time and a second one fills it.
//
//go:noescape
func block2(ha, hb *[8]uint32, pa, pb *byte, n int)

func cpuidSHA() bool

var have2x = cpuidSHA()
