package dicom

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/medmd/medmd/internal/perf"
)

// ctTemplate is a real 512×512 signed 16-bit CT slice (GDCM's
// CT-MONO2-16-ankle via octave-dicom, see testdata/README.md); the perf
// series replicates it with new positions.
//
//go:embed testdata/octave_CT-MONO2-16-ankle.dcm
var ctTemplate []byte

//go:embed bench/pydicom_ref.py
var pydicomRef []byte

// Perf is the "dicom" perf group. It writes a 512×512×N CT series (N = 200,
// 40 in quick mode) by replicating a real slice, plus distractors (a
// 3-slice localizer series and a non-DICOM file), then times, medians of
// o.Repeats runs each:
//
//   - assembling the HU volume (Scan + ReadSeries) against dcm2niix
//     converting the same folder to an uncompressed .nii (goal ≥ 1/1.5);
//   - medmd dicom2nii (uncompressed, native order) against the same
//     dcm2niix run (goal ≥ 1/1.5);
//   - assembling against pydicom reading, sorting, stacking and rescaling
//     the same files (goal ≥ 4);
//
// and reports the process' peak RSS during the first assembly over the
// volume's bytes (goal ≤ 2.5×, as ratio 2.5/measured ≥ 1).
func Perf(ctx context.Context, o perf.Options) ([]perf.Result, error) {
	n := 200
	repeats := max(o.Repeats, 1)
	if o.Quick {
		n, repeats = 40, min(repeats, 2)
	}
	dir := filepath.Join(o.TempDir, "dicom", "in")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := WriteSynthSeries(dir, ctTemplate, SynthOptions{Slices: n, SeriesUID: "1.2.826.0.1.3680043.10.1234.7", PixelSpacing: 0.68, SliceStep: 1.25, NamePrefix: "ct"}); err != nil {
		return nil, err
	}
	if err := WriteSynthSeries(dir, ctTemplate, SynthOptions{Slices: 3, SeriesUID: "1.2.826.0.1.3680043.10.1234.8", ImageType: `ORIGINAL\PRIMARY\LOCALIZER`, Orientation: [6]float64{1, 0, 0, 0, 0, -1}, NamePrefix: "loc"}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "DICOMDIR.bak"), []byte("not a DICOM file\n"), 0o644); err != nil {
		return nil, err
	}
	volBytes := float64(512 * 512 * n * 2)

	assemble := func() error {
		res, err := Scan(ctx, []string{dir}, ScanOptions{})
		if err != nil {
			return err
		}
		for _, s := range res.Series {
			if s.Depth == n {
				imgs, err := ReadSeries(ctx, s, ReadOptions{})
				if err != nil {
					return err
				}
				if len(imgs[0].Voxels) != int(volBytes) {
					return fmt.Errorf("assembled %d bytes, want %v", len(imgs[0].Voxels), volBytes)
				}
				return nil
			}
		}
		return fmt.Errorf("no %d-slice series found", n)
	}
	// Peak RSS: measured on the first assembly, before anything else big.
	// The process' own footprint before it is reported beside (it
	// dominates in quick mode's small volume).
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	if err := assemble(); err != nil {
		return nil, err
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	peak := float64(ru.Maxrss) * 1024

	ours, err := perf.MedianTime(repeats, assemble)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(o.TempDir, "dicom", "out")
	conv := func() error {
		os.RemoveAll(out)
		_, err := Convert(ctx, dir, out, ConvertOptions{NoGzip: true})
		return err
	}
	oursConv, err := perf.MedianTime(repeats, conv)
	if err != nil {
		return nil, err
	}
	var results []perf.Result
	// Each baseline is optional: a missing tool skips its results.
	if _, err := perf.LookReference("dcm2niix"); err == nil {
		ref := filepath.Join(o.TempDir, "dicom", "dcm2niix")
		d2n, err := perf.MedianTime(repeats, func() error {
			os.RemoveAll(ref)
			if err := os.MkdirAll(ref, 0o755); err != nil {
				return err
			}
			_, err := perf.RunReference(ctx, "dcm2niix", "-z", "n", "-f", "%s", "-o", ref, dir)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range []struct {
			name string
			v    float64
		}{
			{fmt.Sprintf("dicom/assemble_hu/ct_512x512x%d", n), ours},
			{fmt.Sprintf("dicom/dicom2nii/ct_512x512x%d", n), oursConv},
		} {
			r := perf.Result{Name: c.name, Unit: "s", Value: c.v, BaselineName: "dcm2niix -z n", BaselineValue: d2n, Goal: 1 / 1.5}
			r.Finish(false)
			results = append(results, r)
		}
	}
	if _, err := perf.LookReference(perf.Python); err == nil {
		script, err := perf.WriteScript(filepath.Join(o.TempDir, "dicom"), "pydicom_ref.py", pydicomRef)
		if err != nil {
			return nil, err
		}
		var ref struct {
			Median float64 `json:"median_s"`
			Shape  []int   `json:"shape"`
		}
		if err := perf.RunReferenceJSON(ctx, &ref, perf.Python, script, dir, fmt.Sprint(repeats)); err != nil {
			return nil, fmt.Errorf("pydicom baseline: %w", err)
		}
		r := perf.Result{Name: fmt.Sprintf("dicom/assemble_hu_vs_pydicom/ct_512x512x%d", n), Unit: "s", Value: ours,
			BaselineName: "pydicom dcmread+sort+stack+rescale", BaselineValue: ref.Median, Goal: 4}
		r.Finish(false)
		results = append(results, r)
	}
	r := perf.Result{Name: fmt.Sprintf("dicom/peak_rss/ct_512x512x%d", n), Unit: "x volume bytes", Value: peak / volBytes,
		BaselineName: "goal: 2.5x volume bytes", BaselineValue: 2.5, Goal: 1,
		Extra: map[string]float64{"peak_rss_mb": peak / (1 << 20), "volume_mb": volBytes / (1 << 20), "rss_before_mb": float64(ru0.Maxrss) / 1024}}
	r.Finish(false)
	results = append(results, r)
	return results, nil
}
