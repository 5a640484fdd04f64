package load

import (
	"context"
	"fmt"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// ExportNIfTI writes image k of sample id of the corpus m to out as NIfTI
// with its affine (`medmd shards export`). NIfTI-1 has no float16, so a
// float16 image is widened (exactly) to float32; note then says so
// (", float16 stored as float32"), else it is empty.
func ExportNIfTI(ctx context.Context, m *shards.Manifest, id string, k int, out string) (note string, err error) {
	s, err := m.FindSample(ctx, id)
	if err != nil {
		return "", err
	}
	if k < 0 || k >= len(s.Images) {
		return "", fmt.Errorf("export: sample %s has %d images, no image %d", id, len(s.Images), k)
	}
	im := &s.Images[k]
	stored := im.DType
	normalize.WidenFloat16(im)
	if err := nifti.WriteFile(out, im); err != nil {
		return "", err
	}
	if im.DType != stored {
		note = fmt.Sprintf(", %s stored as %s", stored, im.DType)
	}
	return note, nil
}
