package perf

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// normalizeGroup times medmd's normalisation of a 301×370×316 int16 LAS
// volume to 256×256×64 uint8 — NIfTI read with canonical RAS reorientation
// (ingest/nifti), trilinear Resize, Intensity with the 0.5–99.5 percentile
// clip — against nibabel.load + as_closest_canonical + get_fdata(float32) +
// scipy.ndimage.zoom(order=1) + numpy.percentile clip/scale on the same file
// (scripts/scipy_ref.py), medians of o.Repeats runs each, in the
// same run. A second measurement times only the in-memory part (resize +
// percentile + scale) on both sides. The outputs' means must agree within
// 0.5 grey levels, or the run fails.
func normalizeGroup(ctx context.Context, o Options) ([]Result, error) {
	py := Python
	if _, err := LookReference(py); err != nil {
		return nil, fmt.Errorf("the scipy baseline needs %s with nibabel and scipy: %w", py, err)
	}
	dir := filepath.Join(o.TempDir, "normalize")
	script, err := writeScript(dir, "scipy_ref.py")
	if err != nil {
		return nil, err
	}
	shape, target := [3]int{301, 370, 316}, [3]int{256, 256, 64}
	if o.Quick {
		shape, target = [3]int{120, 148, 126}, [3]int{96, 96, 32}
	}
	name := fmt.Sprintf("ct_%dx%dx%d.nii", shape[0], shape[1], shape[2])
	path := filepath.Join(dir, name)
	if _, err := RunReference(ctx, py, script, "make", dir, fmt.Sprint(shape[0]), fmt.Sprint(shape[1]), fmt.Sprint(shape[2])); err != nil {
		return nil, fmt.Errorf("making the perf volume: %w", err)
	}
	repeats := max(o.Repeats, 1)
	if o.Quick {
		repeats = min(repeats, 3)
	}
	var ref struct {
		Median    float64 `json:"median_s"`
		MedianMem float64 `json:"median_mem_s"`
		MeanU8    float64 `json:"mean_u8"`
	}
	if err := RunReferenceJSON(ctx, &ref, py, script, "time", path, fmt.Sprint(repeats),
		fmt.Sprint(target[0]), fmt.Sprint(target[1]), fmt.Sprint(target[2])); err != nil {
		return nil, fmt.Errorf("scipy timing: %w", err)
	}
	norm := func(im *shards.Image) error {
		if err := normalize.Canonical(im); err != nil { // no-op: the reader already made it RAS
			return err
		}
		if err := normalize.Resize(im, normalize.ResizeOptions{Width: target[0], Height: target[1], Depth: target[2], Mode: normalize.Linear}); err != nil {
			return err
		}
		return normalize.Intensity(im, normalize.IntensityOptions{Method: normalize.MethodPercentile, PercentileLo: 0.5, PercentileHi: 99.5})
	}
	var last shards.Image
	fullRun := func() error {
		res, err := nifti.ReadFile(ctx, path, nifti.Options{})
		if err != nil {
			return err
		}
		im := res.Images[0]
		if err := norm(im); err != nil {
			return err
		}
		last = *im
		return nil
	}
	ours, err := MedianTime(repeats, fullRun)
	if err != nil {
		return nil, err
	}
	if last.Width != target[0] || last.Height != target[1] || last.Depth != target[2] || last.DType != shards.Uint8 {
		return nil, fmt.Errorf("normalised to %d×%d×%d %s", last.Width, last.Height, last.Depth, last.DType)
	}
	var sum float64
	for _, v := range last.Voxels {
		sum += float64(v)
	}
	mean := sum / float64(len(last.Voxels))
	if d := mean - ref.MeanU8; d > 0.5 || d < -0.5 {
		return nil, fmt.Errorf("output mean %.3f differs from scipy's %.3f", mean, ref.MeanU8)
	}
	res, err := nifti.ReadFile(ctx, path, nifti.Options{})
	if err != nil {
		return nil, err
	}
	loaded := *res.Images[0]
	oursMem, err := MedianTime(repeats, func() error {
		im := loaded // Resize replaces Voxels; the loaded buffer is reused
		im.Transforms = nil
		return norm(&im)
	})
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("%dx%dx%d_to_%dx%dx%d", shape[0], shape[1], shape[2], target[0], target[1], target[2])
	r1 := Result{Name: "normalize/read_canonical_resize_percentile/" + label, Unit: "s", Value: ours,
		BaselineName: "nibabel load+as_closest_canonical+get_fdata(f32)+scipy.zoom(order=1)+np.percentile (scripts/scipy_ref.py)", BaselineValue: ref.Median, Goal: 4,
		Extra: map[string]float64{"mean_u8": mean, "baseline_mean_u8": ref.MeanU8}}
	r1.Finish(false)
	r2 := Result{Name: "normalize/resize_percentile_in_memory/" + label, Unit: "s", Value: oursMem,
		BaselineName: "scipy.zoom(order=1)+np.percentile+clip/scale", BaselineValue: ref.MedianMem, Goal: 4}
	r2.Finish(false)
	return []Result{r1, r2}, nil
}
