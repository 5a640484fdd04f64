package train

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/medmd/medmd/shards"
)

// A shard whose bytes no longer match the manifest stops the run with one
// line naming the file and what to do; the last checkpoint stays whole.
func TestDamagedShard(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 6)
	cfg.CkptEvery, cfg.EvalEvery = 0, 0
	smps := modelReady(t, 12, cfg)
	// Sample 0 is 2D: give it voxels found nowhere else, to flip one.
	mark := smps[0].Images[0].Voxels
	for i := range mark {
		mark[i] = byte(i*37 + 11)
	}
	manifest := writeCorpus(t, smps, 12)
	m, err := shards.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	part := m.ArrowPaths()[0]
	data, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, mark)
	if at < 0 {
		t.Fatal("the marked voxels are not in the part")
	}
	data[at+len(mark)/2] ^= 0x40
	if err := os.WriteFile(part, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err = Run(context.Background(), Options{Config: cfg, TrainManifest: manifest, Out: out, Backend: backend})
	if err == nil {
		t.Fatal("trained on a damaged shard")
	}
	msg := err.Error()
	for _, w := range []string{filepath.Base(part), "checksum mismatch", "rerunning the pipeline", "medmd shards verify"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if ck, _ := LatestCheckpoint(out); ck != "" {
		t.Errorf("a failed run left checkpoint %s", ck)
	}
}

// A batch that does not fit the device stops the run before compiling:
// the first line names the setting and the fix, the memory plan follows;
// no checkpoint is written.
func TestBatchThatDoesNotFit(t *testing.T) {
	cfg := tinyConfig(t, 1)
	manifest := writeCorpus(t, modelReady(t, 8, cfg), 8)
	out := t.TempDir()
	_, err := Run(context.Background(), Options{Config: cfg, TrainManifest: manifest, Out: out, Backend: testBackend(t), DeviceMemory: 1 << 20})
	if err == nil {
		t.Fatal("a run 1 MiB cannot hold started")
	}
	first, plan, _ := strings.Cut(err.Error(), "\n")
	for _, w := range []string{"batch 4 does not fit", "--batch"} {
		if !strings.Contains(first, w) {
			t.Errorf("first line %q lacks %q", first, w)
		}
	}
	if !strings.Contains(plan, "activations") || !strings.Contains(plan, "does not fit: ") {
		t.Errorf("no memory plan after the first line:\n%s", plan)
	}
	if ck, _ := LatestCheckpoint(out); ck != "" {
		t.Errorf("a refused run left checkpoint %s", ck)
	}
}

// `medmd train --plan`: per-device parts, the verdict against the device
// memory given, and radfm's line saying what hardware it needs.
func TestMemoryPlan(t *testing.T) {
	for _, c := range []struct {
		preset string
		batch  int
		gib    float64
		fits   bool
		want   []string
	}{
		{"tiny", 0, 0, true, []string{"preset tiny, batch 4", "device memory not reported"}},
		{"tiny", 0, 0.001, false, []string{"does not fit: ", "lower batch"}},
		{"small", 8, 141, true, []string{"preset small, batch 8", "fits: "}},
		{"radfm", 0, 80, false, []string{"does not fit: ", "radfm needs about", "sharded over several GPUs"}},
	} {
		t.Run(c.preset, func(t *testing.T) {
			rep, fits, err := PlanReport(TrainArgs{Preset: c.preset, Batch: c.batch, DeviceMemoryGiB: c.gib})
			if err != nil {
				t.Fatal(err)
			}
			if fits != c.fits {
				t.Errorf("fits = %v, want %v:\n%s", fits, c.fits, rep)
			}
			for _, w := range append(c.want, "weights", "gradients", "optimizer", "activations", "total") {
				if !strings.Contains(rep, w) {
					t.Errorf("plan lacks %q:\n%s", w, rep)
				}
			}
		})
	}
	// The parts add up, and the optimizer holds two float32 moments.
	cfg := tinyConfig(t, 1)
	p := PlanMemory(cfg, 300, 0)
	if p.Total() != p.Weights+p.Grads+p.Optimizer+p.Casts+p.Activations || p.Optimizer != 8*p.Params || p.Weights != 4*p.Params {
		t.Errorf("plan parts %+v", p)
	}
}

// shapeRecorder records the shape of every image tensor uploaded.
type shapeRecorder struct {
	backends.Backend
	images map[string]bool
}

func (r *shapeRecorder) BufferFromFlatData(dev backends.DeviceNum, flat any, shape shapes.Shape) (backends.Buffer, error) {
	if shape.Rank() == 6 {
		r.images[fmt.Sprint(shape.Dimensions)] = true
	}
	return r.Backend.BufferFromFlatData(dev, flat, shape)
}

// 2D and 3D buckets train in one run: the loader serves a model-ready
// corpus of both, each batch is uploaded in its own shape (2D at depth 1,
// 3D at its stored depth) and the same weights train on both.
func TestMixedBucketsTrainInOneRun(t *testing.T) {
	cfg := tinyConfig(t, 4) // 10 samples: a 2D, a 3D and a text batch per epoch
	cfg.CkptEvery, cfg.EvalEvery = 0, 0
	manifest := writeCorpus(t, modelReady(t, 10, cfg), 4)
	rec := &shapeRecorder{Backend: testBackend(t), images: map[string]bool{}}
	res, err := Run(context.Background(), Options{Config: cfg, TrainManifest: manifest, Out: t.TempDir(), Backend: rec})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprint([]int{cfg.Batch, 1, 1, 1, cfg.ImageHeight, cfg.ImageWidth}),
		fmt.Sprint([]int{cfg.Batch, 1, 1, cfg.ImageDepth, cfg.VolumeHeight, cfg.VolumeWidth}),
	} {
		if !rec.images[want] {
			t.Errorf("no image batch of shape %s uploaded; saw %v", want, rec.images)
		}
	}
	for i, l := range res.Losses {
		if math.IsNaN(l) || l <= 0 {
			t.Errorf("step %d: loss %v", i+1, l)
		}
	}
}
