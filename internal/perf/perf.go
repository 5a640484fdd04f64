// Package perf is the performance harness behind `medmd perf`: every
// measurement group, the Python baselines it runs (scripts/) and the
// helpers they share. Each group times medmd against a baseline doing the
// same work in the same run and reports the ratio, never a bare time.
//
// Result names follow one scheme, group/measure/key: the group (the
// table's name), what is measured, and the input it was measured on
// (e.g. dicom/dicom2nii/ct_512x512x200).
//
// Only cmd/ imports this package (a test enforces it): the harness may
// import every stage, but no library carries measurement code, baseline
// scripts or fixtures into the binaries that use it.
package perf

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Result is one measurement, printed by `medmd perf --json` as one object
// per line. Ratio is ours/baseline oriented so that larger is better (for
// times: baseline/ours).
type Result struct {
	Name          string  `json:"name"`
	Unit          string  `json:"unit"`
	Value         float64 `json:"value"`
	BaselineName  string  `json:"baseline_name"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	Goal          float64 `json:"goal"`
	MeetsGoal     bool    `json:"meets_goal"`
	// Extra carries secondary numbers (p50/p99, samples/s…).
	Extra map[string]float64 `json:"extra,omitempty"`
}

// Finish fills Ratio and MeetsGoal from Value and BaselineValue.
// higherIsBetter says whether Value is a rate (true) or a time (false).
func (r *Result) Finish(higherIsBetter bool) {
	switch {
	case r.Value == 0 || r.BaselineValue == 0:
		r.Ratio = 0
	case higherIsBetter:
		r.Ratio = r.Value / r.BaselineValue
	default:
		r.Ratio = r.BaselineValue / r.Value
	}
	r.MeetsGoal = r.Ratio >= r.Goal
}

// Options are the knobs every measurement receives.
type Options struct {
	// Quick asks for a small, fast run (tests, CI smoke).
	Quick bool
	// TempDir is a scratch folder the measurement may fill.
	TempDir string
	// Repeats is how many times to repeat each timing; report the median.
	Repeats int
}

// Func runs one group of measurements.
type Func func(ctx context.Context, o Options) ([]Result, error)

// Group is one named group of measurements.
type Group struct {
	Name string // first part of every result name; `medmd perf NAME` runs it
	Doc  string // one line for `medmd perf --help`
	Run  Func
}

// groups is the one table of every group, sorted by name (the order
// `medmd perf` runs them in).
var groups = []Group{
	{"dicom", "DICOM CT series (512×512×200): dicom2nii vs dcm2niix converting the same series; in-memory assembly vs pydicom; peak RSS", dicomGroup},
	{"loader", "training loader: 3D/2D bytes/s vs memcpy, time to first batch on 10 shards, batch latency shuffled vs sequential", loaderGroup},
	{"lm", "pretrained LM: safetensors checkpoint load (F32, 252 MB) into float32 tensors vs os.ReadFile of the same file; KV-cache greedy generation, time per token at 256 new tokens vs re-running the whole sequence, tiny and mid-size decoders and the multimodal tiny model (goals 0.8×, 10×)", lmGroup},
	{"nifti", "NIfTI read + canonical RAS of a 181×217×181 uint8 volume vs nibabel get_fdata() (float64) and np.asanyarray(dataobj) (uint8)", niftiGroup},
	{"normalize", "canonical RAS + trilinear resize + percentile → uint8 of a 301×370×316 volume to 256×256×64 vs nibabel+scipy+numpy", normalizeGroup},
	{"pmc", "JATS parsing, articles per CPU second on one core, vs scripts/lxml_ref.py extracting the same fields with lxml (goal ≥5×); the same articles read into samples from a local PMC Cloud mirror vs the legacy package path (goal ≥0.8×)", pmcGroup},
	{"radmd", "RadMD fingerprint (SHA-256 + dHash) vs SHA-256 alone; near-duplicate index vs linear scan", radmdGroup},
	{"radmd-run", "medmd radmd end to end vs an unfiltered copy of the same corpus", radmdRunGroup},
	{"serve", "medmd serve on a synthetic 1,000,000-sample corpus: index build rate, filtered list page, sample page, 256×256×64 slice PNG, against their budgets (≥50,000 samples/s, <300 ms, <50 ms); index memory", serveGroup},
	{"shards", "Arrow IPC write and shard creation per Parquet layout vs plain os.File.Write of the same bytes (on tmpfs when present); zero-copy read heap; native-resolution CT ingest (medmd run, no stages) vs dcm2niix -z n, and its bytes on disk vs its Arrow parts", shardsGroup},
	{"storage", "writing a corpus of CT volumes to a loopback S3 server (gofakes3 over internal/s3store, in a child process on the same cores; its CPU reported apart) vs to a local folder; the same over gofakes3's own stores, informational", storageGroup},
	{"train", "training data path (loader batch → host tensor) of the small preset's 2D 1×1×512² and 3D 1×64×256² uint8 geometry, samples/s vs memcpy of the same bytes; time to first step on a 100,000-sample manifest vs a 2 s budget; tiny preset's median data_wait_s vs 5% of its step_s", trainGroup},
}

// Groups returns every group, sorted by name.
func Groups() []Group { return slices.Clone(groups) }

// Select returns the named groups in the order given, or every group when
// names is empty; an unknown name is an error listing the known ones.
func Select(names []string) ([]Group, error) {
	if len(names) == 0 {
		return Groups(), nil
	}
	out := make([]Group, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(groups, func(g Group) bool { return g.Name == n })
		if i < 0 {
			known := make([]string, len(groups))
			for j, g := range groups {
				known[j] = g.Name
			}
			return nil, fmt.Errorf("perf: unknown group %q (have %s)", n, strings.Join(known, ", "))
		}
		out = append(out, groups[i])
	}
	return out, nil
}
