package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// synthSource makes deterministic samples from unit numbers. Unit "u007"
// fails to read, unit "u013" panics, and every sample of unit "u011" is
// dropped by dropStage. cancelAt, when set, cancels the run while reading
// that unit, as Ctrl-C would.
type synthSource struct {
	units    int
	cancelAt string
	cancel   context.CancelFunc
	reads    atomic.Int64
}

func (s *synthSource) Plan(context.Context) ([]Unit, error) {
	var us []Unit
	for i := range s.units {
		us = append(us, Unit{ID: fmt.Sprintf("u%03d", i), Paths: []string{fmt.Sprintf("/in/%03d.nii", i)}, Bytes: int64(1000 + i)})
	}
	return us, nil
}

func (s *synthSource) Read(ctx context.Context, u Unit) ([]shards.Sample, error) {
	s.reads.Add(1)
	if u.ID == s.cancelAt && s.cancel != nil {
		s.cancel()
	}
	switch u.ID {
	case "u007":
		return nil, fmt.Errorf("%s: truncated header", u.Paths[0])
	case "u013":
		panic("parser bug")
	}
	var out []shards.Sample
	for k := range 2 {
		vox := bytes.Repeat([]byte{byte(len(u.ID) + k)}, 4*8*8)
		out = append(out, shards.Sample{
			ID: shards.MakeID("synth", u.ID, fmt.Sprint(k)), Source: "synth", Task: shards.TaskCaption, Group: u.ID,
			Response: "caption of " + u.ID, Placements: []shards.Placement{{Image: 0, Field: shards.FieldResponse, Offset: 0}},
			Images: []shards.Image{{Modality: "CT", DType: shards.Uint8, Channels: 1, Depth: 4, Height: 8, Width: 8,
				Voxels: vox, Affine: shards.IdentityAffine(), SourcePath: u.Paths[0]}},
		})
	}
	return out, nil
}

type dropStage struct{}

func (dropStage) Apply(_ context.Context, s *shards.Sample) error {
	if s.Group == "u011" {
		return &normalize.DropError{Reason: "test-drop", Detail: "unit 11"}
	}
	return nil
}

func testPlan(t *testing.T, dir string, src *synthSource) *Plan {
	t.Helper()
	p := &Pipeline{Name: "synth", Source: ComponentConfig{Type: "synth"}, MaxFailureFraction: 0.5,
		Output: OutputConfig{Dir: dir, ShardUnits: 4, ShardInputBytes: 1 << 30, MaxShardBytes: 1 << 30, MaxShardSamples: 1000}}
	plan, err := MakePlan(context.Background(), p, src)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

var synthStages = []NamedStage{{Name: "drop", Stage: dropStage{}}}

// shardFiles returns name → bytes of every published file in dir.
func shardFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "plan.json" {
			return nil
		}
		b, err := os.ReadFile(path)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunQuarantinesAndSummarises(t *testing.T) {
	dir := t.TempDir()
	src := &synthSource{units: 18}
	sum, err := Run(context.Background(), testPlan(t, dir, src), src, synthStages, RunOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Units != 18 || sum.FailedUnits != 2 || sum.Samples != 2*(18-3) || sum.Dropped["test-drop"] != 2 || sum.ShardsBuilt != 5 {
		t.Errorf("summary = %+v", sum)
	}
	q, err := os.ReadFile(filepath.Join(dir, "quarantine.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(q)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"unit":"u007"`) || !strings.Contains(lines[0], "truncated header") ||
		!strings.Contains(lines[1], `"u013"`) || !strings.Contains(lines[1], "panic: parser bug") {
		t.Errorf("quarantine.jsonl:\n%s", q)
	}
	m, err := shards.ReadManifest(sum.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shards) != 5 || m.ConfigHash == "" {
		t.Errorf("manifest has %d shards, hash %q", len(m.Shards), m.ConfigHash)
	}
	if err := shards.Verify(sum.Manifest); err != nil {
		t.Fatal(err)
	}

	// A rerun skips every shard and reads nothing.
	src2 := &synthSource{units: 18}
	sum2, err := Run(context.Background(), testPlan(t, dir, src2), src2, synthStages, RunOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.ShardsSkipped != 5 || sum2.ShardsBuilt != 0 || src2.reads.Load() != 0 {
		t.Errorf("rerun: %+v, %d reads", sum2, src2.reads.Load())
	}
	// The synthetic source sets no licence: the rerun's summary says so
	// from the corpus counts.
	if want := "no licence on 30 samples (synth=30)"; !strings.Contains(sum2.String(), want) {
		t.Errorf("rerun summary lacks %q:\n%s", want, sum2)
	}
}

func TestRunFailureFraction(t *testing.T) {
	src := &synthSource{units: 3} // u000..u002 all fine
	plan := testPlan(t, t.TempDir(), src)
	plan.Units = append(plan.Units, Unit{ID: "u007", Paths: []string{"/in/007.nii"}}, Unit{ID: "u013"})
	plan.Shards = packShards(plan.Units, 4, 1<<30)
	plan.Pipeline.MaxFailureFraction = 0.25
	_, err := Run(context.Background(), plan, src, nil, RunOptions{Workers: 2})
	if !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("err = %v, want ErrTooManyFailures", err)
	}
}

// TestRunInterruptedResumesIdentically cancels a run while it reads unit k,
// for several k, then reruns: the published files must equal those of an
// uninterrupted run byte for byte, and nothing partial may be visible
// in between.
func TestRunInterruptedResumesIdentically(t *testing.T) {
	ref := t.TempDir()
	src := &synthSource{units: 18}
	if _, err := Run(context.Background(), testPlan(t, ref, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	want := shardFiles(t, ref)
	for _, k := range []string{"u000", "u005", "u009", "u017"} {
		t.Run(k, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			src := &synthSource{units: 18, cancelAt: k, cancel: cancel}
			_, err := Run(ctx, testPlan(t, dir, src), src, synthStages, RunOptions{Workers: 2})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: err = %v", err)
			}
			for name := range shardFiles(t, dir) {
				base := filepath.Base(name)
				if strings.HasPrefix(base, ".") || strings.Contains(base, "tmp") {
					t.Errorf("temporary file left visible: %s", name)
				}
				if strings.HasSuffix(name, ".arrow") {
					stats := strings.TrimSuffix(strings.SplitN(base, ".", 2)[0], ".arrow") + ".stats.json"
					if _, err := os.Stat(filepath.Join(dir, stats)); err != nil {
						t.Errorf("%s published without its stats file", name)
					}
				}
			}
			src2 := &synthSource{units: 18}
			if _, err := Run(context.Background(), testPlan(t, dir, src2), src2, synthStages, RunOptions{Workers: 2}); err != nil {
				t.Fatal(err)
			}
			compareFiles(t, shardFiles(t, dir), want)
		})
	}
}

// TestRunTasksMergeEqualsSingleTask builds the shards with three separate
// tasks, then merges: the result must equal a one-task run.
func TestRunTasksMergeEqualsSingleTask(t *testing.T) {
	ref := t.TempDir()
	src := &synthSource{units: 18}
	if _, err := Run(context.Background(), testPlan(t, ref, src), src, synthStages, RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var manifest string
	for task := range 3 {
		src := &synthSource{units: 18}
		sum, err := Run(context.Background(), testPlan(t, dir, src), src, synthStages, RunOptions{Task: task, Tasks: 3, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if task < 2 && sum.Manifest != "" {
			t.Errorf("task %d wrote the manifest before all shards were done", task)
		}
		manifest = sum.Manifest
	}
	if manifest == "" {
		t.Fatal("last task did not write the manifest")
	}
	compareFiles(t, shardFiles(t, dir), shardFiles(t, ref))
}

func compareFiles(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !bytes.Equal(got[n], want[n]) {
			t.Errorf("%s differs from the reference run (%d vs %d bytes)", n, len(got[n]), len(want[n]))
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("unexpected file %s", n)
		}
	}
}
