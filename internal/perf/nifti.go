package perf

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/medmd/medmd/ingest/nifti"
)

// niftiGroup times nifti.ReadFile (read + canonicalise, first volume) of a
// 181×217×181 uint8 LAS volume against two nibabel baselines on the same
// file (scripts/nibabel_ref.py), medians of o.Repeats timings each, in the
// same run:
//
//   - load + as_closest_canonical + get_fdata(): what most scripts call; it
//     also converts to float64, which medmd does not (goal ≥ 2×);
//   - load + as_closest_canonical + np.asanyarray(dataobj) made contiguous:
//     the native uint8 voxels in medmd's layout, the same work as ours
//     (goal ≥ 1×).
//
// The volume is made by the script from nibabel's real anatomical.nii in
// o.TempDir.
//
// For the .nii.gz nearly all the time is inflating the deflate stream:
// nibabel uses zlib; medmd uses libdeflate, loaded at run time, which
// inflates the whole file in one call 2–3× faster than zlib. Where
// libdeflate.so.0 is missing (Debian package libdeflate0) or
// MEDMD_NIFTI_INFLATE=go, reads fall back to compress/gzip and the .nii.gz
// measurements are expected to miss their goals at about 1×; their Extra
// "libdeflate" says which inflater ran (1 or 0).
func niftiGroup(ctx context.Context, o Options) ([]Result, error) {
	if _, err := LookReference(Python); err != nil {
		return nil, fmt.Errorf("the nibabel baseline needs %s with nibabel and scipy: %w", Python, err)
	}
	dir := filepath.Join(o.TempDir, "nifti")
	script, err := writeScript(dir, "nibabel_ref.py")
	if err != nil {
		return nil, err
	}
	if _, err := RunReference(ctx, Python, script, "make", dir); err != nil {
		return nil, fmt.Errorf("making the perf volume: %w", err)
	}
	repeats := o.Repeats
	if repeats < 1 {
		repeats = 5
	}
	if o.Quick {
		repeats = min(repeats, 3)
	}
	var results []Result
	for _, file := range []string{"t1_181x217x181.nii", "t1_181x217x181.nii.gz"} {
		path := filepath.Join(dir, file)
		var ref struct {
			Fdata   float64 `json:"fdata_median_s"`
			Dataobj float64 `json:"dataobj_median_s"`
		}
		if err := RunReferenceJSON(ctx, &ref, Python, script, "time", path, fmt.Sprint(repeats)); err != nil {
			return nil, fmt.Errorf("nibabel timing of %s: %w", file, err)
		}
		ours, err := MedianTime(repeats, func() error {
			res, err := nifti.ReadFile(ctx, path, nifti.Options{})
			if err == nil && len(res.Images[0].Voxels) != 181*217*181 {
				err = fmt.Errorf("read %d bytes", len(res.Images[0].Voxels))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		key := "uint8_181x217x181" + file[len("t1_181x217x181"):]
		for _, b := range []struct {
			measure, name string
			value, goal   float64
		}{
			{"read_canonical_vs_get_fdata", "nibabel load+as_closest_canonical+get_fdata() (float64)", ref.Fdata, 2},
			{"read_canonical_vs_dataobj", "nibabel load+as_closest_canonical+np.asanyarray(dataobj) (uint8, contiguous)", ref.Dataobj, 1},
		} {
			r := Result{Name: "nifti/" + b.measure + "/" + key, Unit: "s", Value: ours,
				BaselineName: b.name, BaselineValue: b.value, Goal: b.goal}
			if filepath.Ext(file) == ".gz" {
				r.Extra = map[string]float64{"libdeflate": 0}
				if nifti.UsesLibdeflate() {
					r.Extra["libdeflate"] = 1
				}
			}
			r.Finish(false)
			results = append(results, r)
		}
	}
	return results, nil
}
