package nifti

import (
	"context"
	_ "embed"
	"fmt"
	"path/filepath"

	"github.com/medmd/medmd/internal/perf"
)

// nibabelRef is bench/nibabel_ref.py, embedded so `medmd perf nifti` runs
// from any folder.
//
//go:embed bench/nibabel_ref.py
var nibabelRef []byte

// Perf is the "nifti" perf group: ReadFile (read + canonicalise, first
// volume) of a 181×217×181 uint8 LAS volume against nibabel.load +
// as_closest_canonical + get_fdata on the same file, medians of o.Repeats
// timings each, in the same run. The volume is made by bench/nibabel_ref.py
// from nibabel's real anatomical.nii in o.TempDir.
//
// Two measurements: the uncompressed .nii carries issue 2's goal (≥ 2×).
// The .nii.gz one is reported with a goal of parity (1×): both sides spend
// most of their time inflating the same deflate stream, nibabel in zlib's C
// and we in Go's compress/flate, which is no faster than zlib; what we save
// (no float64 copy, flips in place) is a small part of that time.
func Perf(ctx context.Context, o perf.Options) ([]perf.Result, error) {
	if _, err := perf.LookReference(perf.Python); err != nil {
		return nil, fmt.Errorf("the nibabel baseline needs %s with nibabel and scipy: %w", perf.Python, err)
	}
	dir := filepath.Join(o.TempDir, "nifti")
	script, err := perf.WriteScript(dir, "nibabel_ref.py", nibabelRef)
	if err != nil {
		return nil, err
	}
	if _, err := perf.RunReference(ctx, perf.Python, script, "make", dir); err != nil {
		return nil, fmt.Errorf("making the perf volume: %w", err)
	}
	repeats := o.Repeats
	if repeats < 1 {
		repeats = 5
	}
	if o.Quick {
		repeats = min(repeats, 3)
	}
	var results []perf.Result
	for _, c := range []struct {
		name, file string
		goal       float64
	}{
		{"nifti/read_canonical/uint8_181x217x181.nii", "t1_181x217x181.nii", 2},
		{"nifti/read_canonical/uint8_181x217x181.nii.gz", "t1_181x217x181.nii.gz", 1},
	} {
		name := c.file
		path := filepath.Join(dir, name)
		var ref struct {
			Median float64 `json:"median_s"`
		}
		if err := perf.RunReferenceJSON(ctx, &ref, perf.Python, script, "time", path, fmt.Sprint(repeats)); err != nil {
			return nil, fmt.Errorf("nibabel timing of %s: %w", name, err)
		}
		ours, err := perf.MedianTime(repeats, func() error {
			res, err := ReadFile(ctx, path, Options{})
			if err == nil && len(res.Images[0].Voxels) != 181*217*181 {
				err = fmt.Errorf("read %d bytes", len(res.Images[0].Voxels))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		r := perf.Result{
			Name: c.name, Unit: "s",
			Value: ours, BaselineName: "nibabel load+as_closest_canonical+get_fdata", BaselineValue: ref.Median,
			Goal: c.goal,
		}
		r.Finish(false)
		results = append(results, r)
	}
	return results, nil
}
