package montage

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/medmd/medmd/shards"
)

// BenchmarkRender draws 16 tiles of a CT-sized int16 volume: the cost is
// dominated by the percentile histogram over every voxel.
func BenchmarkRender(b *testing.B) {
	for _, size := range []int{128, 512} {
		depth := size / 2
		im := &shards.Image{DType: shards.Int16, Channels: 1, Depth: depth, Height: size, Width: size,
			Voxels: make([]byte, 2*size*size*depth), Spacing: [3]float64{0.7, 0.7, 2.5}}
		for i := 0; i < len(im.Voxels)/2; i++ {
			binary.LittleEndian.PutUint16(im.Voxels[2*i:], uint16(int16(i%2000-1000)))
		}
		for _, plane := range []string{Axial, Sagittal} {
			b.Run(fmt.Sprintf("plane=%s/size=%d", plane, size), func(b *testing.B) {
				b.SetBytes(int64(len(im.Voxels)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Render(im, Options{Plane: plane}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
