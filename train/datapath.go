package train

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/medmd/medmd/shards"
)

// HostBatch is the host side of the training data path for one loader
// batch: its voxel bytes viewed as the element type the trainer uploads
// (the GoMLX dtype and a slice of it sharing b.Voxels' memory, no copy).
// The slice is valid until b.Release. The trainer's upload and the
// `medmd perf train` measurement of the data path both go through it.
func HostBatch(b *shards.Batch) (dtypes.DType, any, error) {
	return viewVoxels(b.Voxels, b.DType)
}
