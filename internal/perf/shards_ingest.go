package perf

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/medmd/medmd/ingest"
)

// nativeIngest times the archive pipeline — a dicom source and no stages,
// so the CT series is stored at native resolution as int16 — over the
// same folder the dicom group converts (a 512×512×N CT series, a
// localizer series and a non-DICOM file), doing what `medmd run` does:
// lint the config, plan, read, write shards (default Parquet layout,
// "metadata") and the manifest. Baseline: dcm2niix -z n converting the
// same folder (goal ≤ 1.5× its time, as ratio ≥ 1/1.5). It also reports
// the corpus folder's bytes on disk against its Arrow parts (goal ≤
// 1.05×, as ratio ≥ 1/1.05): voxels stored once.
func nativeIngest(ctx context.Context, o Options) ([]Result, error) {
	n, repeats := 200, max(o.Repeats, 1)
	if o.Quick {
		n, repeats = 40, min(repeats, 2)
	}
	base := filepath.Join(o.TempDir, "shards-ingest")
	in := filepath.Join(base, "in")
	if err := writeCTFolder(in, n); err != nil {
		return nil, err
	}
	out := filepath.Join(base, "out")
	// %q quotes like a YAML double-quoted scalar for any ordinary path.
	yaml := fmt.Sprintf("version: 1\npipelines:\n  - name: ct-archive\n    source: {type: dicom, paths: [%q]}\n    output: {dir: %q}\n", in, out)
	cfg, err := ingest.ParseConfig(filepath.Join(base, "pipelines.yaml"), []byte(yaml))
	if err != nil {
		return nil, err
	}
	p := cfg.Pipelines[0]
	run := func() error {
		if err := os.RemoveAll(out); err != nil {
			return err
		}
		src, stages, err := p.Build(cfg.BaseDir)
		if err != nil {
			return err
		}
		plan, err := ingest.MakePlan(ctx, p, src)
		if err != nil {
			return err
		}
		sum, err := ingest.Run(ctx, plan, src, stages, ingest.RunOptions{})
		if err != nil {
			return err
		}
		if sum.FailedUnits > 0 || sum.Samples < 1 {
			return fmt.Errorf("native ingest: %d samples, %d failed units", sum.Samples, sum.FailedUnits)
		}
		return nil
	}
	ours, err := MedianTime(repeats, run)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("ct_512x512x%d", n)
	var results []Result
	if _, err := LookReference("dcm2niix"); err == nil {
		ref := filepath.Join(base, "dcm2niix")
		d2n, err := MedianTime(repeats, func() error {
			os.RemoveAll(ref)
			if err := os.MkdirAll(ref, 0o755); err != nil {
				return err
			}
			_, err := RunReference(ctx, "dcm2niix", "-z", "n", "-f", "%s", "-o", ref, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		r := Result{Name: "shards/native_ingest/" + key, Unit: "s", Value: ours,
			BaselineName: "dcm2niix -z n converting the same folder", BaselineValue: d2n, Goal: 1 / 1.5}
		r.Finish(false)
		results = append(results, r)
	}
	// The last run's output folder: every file counts (shards, stats,
	// manifest, plan, quarantine).
	var disk, arrow, parquet int64
	err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		disk += fi.Size()
		switch {
		case strings.HasSuffix(path, ".arrow"):
			arrow += fi.Size()
		case strings.HasSuffix(path, ".parquet"):
			parquet += fi.Size()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := Result{Name: "shards/disk_bytes_native/" + key, Unit: "bytes", Value: float64(disk),
		BaselineName: "Arrow IPC part bytes", BaselineValue: float64(arrow), Goal: 1 / 1.05,
		Extra: map[string]float64{"parquet_bytes": float64(parquet), "ingest_s": ours}}
	r.Finish(false)
	return append(results, r), nil
}
