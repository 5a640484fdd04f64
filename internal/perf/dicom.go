package perf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/medmd/medmd/ingest/dicom"
)

// ctTemplate is the real 512×512 signed 16-bit CT slice the perf series
// replicates with new positions (GDCM's CT-MONO2-16-ankle via
// octave-dicom; origin and licence in ingest/dicom/testdata/README.md).
const ctTemplate = "ingest/dicom/testdata/octave_CT-MONO2-16-ankle.dcm"

// dicomGroup writes a 512×512×N CT series (N = 200, 40 in quick mode) by
// replicating a real slice, plus distractors (a 3-slice localizer series
// and a non-DICOM file), then times, medians of o.Repeats runs each:
//
//   - medmd dicom2nii (uncompressed, native order) against dcm2niix
//     converting the same folder to an uncompressed .nii: conversion
//     against conversion (goal ≥ 1/1.5);
//   - assembling the HU volume in memory (dicom.ReadImages) against pydicom
//     reading, sorting, stacking and rescaling the same files in memory
//     (scripts/pydicom_ref.py; goal ≥ 4);
//
// and reports the process' peak RSS during the first assembly over the
// volume's bytes (goal ≤ 2.5×, as ratio 2.5/measured ≥ 1).
// writeCTFolder fills dir with the perf input: a 512×512×n CT series
// replicated from ctTemplate, a 3-slice localizer series and a non-DICOM
// file (the dicom and shards groups read the same folder).
func writeCTFolder(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmpl, err := repoFiles(ctTemplate)
	if err != nil {
		return err
	}
	slice, err := os.ReadFile(tmpl[0])
	if err != nil {
		return err
	}
	if err := dicom.WriteSynthSeries(dir, slice, dicom.SynthOptions{Slices: n, SeriesUID: "1.2.826.0.1.3680043.10.1234.7", PixelSpacing: 0.68, SliceStep: 1.25, NamePrefix: "ct"}); err != nil {
		return err
	}
	if err := dicom.WriteSynthSeries(dir, slice, dicom.SynthOptions{Slices: 3, SeriesUID: "1.2.826.0.1.3680043.10.1234.8", ImageType: `ORIGINAL\PRIMARY\LOCALIZER`, Orientation: [6]float64{1, 0, 0, 0, 0, -1}, NamePrefix: "loc"}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "DICOMDIR.bak"), []byte("not a DICOM file\n"), 0o644)
}

func dicomGroup(ctx context.Context, o Options) ([]Result, error) {
	n := 200
	repeats := max(o.Repeats, 1)
	if o.Quick {
		n, repeats = 40, min(repeats, 2)
	}
	dir := filepath.Join(o.TempDir, "dicom", "in")
	if err := writeCTFolder(dir, n); err != nil {
		return nil, err
	}
	volBytes := float64(512 * 512 * n * 2)

	assemble := func() error {
		res, err := dicom.ReadImages(ctx, dir, dicom.ImagesOptions{Only: func(_ int, s *dicom.Series) bool { return s.Depth == n }})
		if err != nil {
			return err
		}
		for _, v := range res.Volumes {
			if v == nil {
				continue
			}
			if len(v[0].Voxels) != int(volBytes) {
				return fmt.Errorf("assembled %d bytes, want %v", len(v[0].Voxels), volBytes)
			}
			return nil
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

	ours, err := MedianTime(repeats, assemble)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(o.TempDir, "dicom", "out")
	conv := func() error {
		os.RemoveAll(out)
		_, err := dicom.Convert(ctx, dir, out, dicom.ConvertOptions{NoGzip: true})
		return err
	}
	oursConv, err := MedianTime(repeats, conv)
	if err != nil {
		return nil, err
	}
	var results []Result
	// Each baseline is optional: a missing tool skips its results.
	if _, err := LookReference("dcm2niix"); err == nil {
		ref := filepath.Join(o.TempDir, "dicom", "dcm2niix")
		d2n, err := MedianTime(repeats, func() error {
			os.RemoveAll(ref)
			if err := os.MkdirAll(ref, 0o755); err != nil {
				return err
			}
			_, err := RunReference(ctx, "dcm2niix", "-z", "n", "-f", "%s", "-o", ref, dir)
			return err
		})
		if err != nil {
			return nil, err
		}
		r := Result{Name: fmt.Sprintf("dicom/dicom2nii/ct_512x512x%d", n), Unit: "s", Value: oursConv,
			BaselineName: "dcm2niix -z n (conversion to .nii)", BaselineValue: d2n, Goal: 1 / 1.5}
		r.Finish(false)
		results = append(results, r)
	}
	if _, err := LookReference(Python); err == nil {
		script, err := writeScript(filepath.Join(o.TempDir, "dicom"), "pydicom_ref.py")
		if err != nil {
			return nil, err
		}
		var ref struct {
			Median float64 `json:"median_s"`
			Shape  []int   `json:"shape"`
		}
		if err := RunReferenceJSON(ctx, &ref, Python, script, dir, fmt.Sprint(repeats)); err != nil {
			return nil, fmt.Errorf("pydicom baseline: %w", err)
		}
		r := Result{Name: fmt.Sprintf("dicom/assemble_in_memory/ct_512x512x%d", n), Unit: "s", Value: ours,
			BaselineName: "pydicom dcmread+sort+stack+rescale in memory (scripts/pydicom_ref.py)", BaselineValue: ref.Median, Goal: 4}
		r.Finish(false)
		results = append(results, r)
	}
	codecs, err := codecRows(ctx, o, repeats)
	if err != nil {
		return nil, err
	}
	results = append(results, codecs...)
	r := Result{Name: fmt.Sprintf("dicom/peak_rss/ct_512x512x%d", n), Unit: "x volume bytes", Value: peak / volBytes,
		BaselineName: "goal: 2.5x volume bytes", BaselineValue: 2.5, Goal: 1,
		Extra: map[string]float64{"peak_rss_mb": peak / (1 << 20), "volume_mb": volBytes / (1 << 20), "rss_before_mb": float64(ru0.Maxrss) / 1024}}
	r.Finish(false)
	results = append(results, r)
	return results, nil
}
