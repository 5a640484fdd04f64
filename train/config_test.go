package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, yaml, err string
		check           func(Config) bool
	}{
		{"override", "batch: 2\nsteps: 7\npositions: rope\n", "", func(c Config) bool { return c.Batch == 2 && c.Steps == 7 && c.Positions == "rope" && c.LMDim == 32 }},
		{"empty", "", "", func(c Config) bool { return c.Batch == 4 }},
		{"typo", "bach: 2\n", "field bach not found", nil},
		{"bad patch", "patch: [4, 5, 8]\n", "not divisible", nil},
		{"bad depth", "patch: [3, 8, 8]\n", "not a multiple of the patch depth", nil},
		{"bad dtype", "dtype: float16\n", "dtype", nil},
		{"negative layers", "lm_layers: -3\n", "lm_layers", nil},
		{"zero width", "vis_mlp: 0\n", "vis_mlp", nil},
		{"negative warmup", "warmup: -1\n", "warmup", nil},
		{"negative lr", "lr: -0.01\n", "lr", nil},
		{"negative term weight", "term_weight: -3\n", "term_weight", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".yaml")
			os.WriteFile(p, []byte(c.yaml), 0o644)
			cfg, err := LoadConfig("tiny", p)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err %v, want %q naming the file", err, c.err)
				}
				return
			}
			if err != nil || !c.check(cfg) {
				t.Fatalf("%+v %v", cfg, err)
			}
		})
	}
	for _, name := range PresetNames() {
		if _, err := Preset(name); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestLearningRateSchedule(t *testing.T) {
	cfg := Config{LR: 1, MinLR: 0.1, Warmup: 10, Steps: 110}
	for _, c := range []struct {
		step int
		want float64
	}{{1, 0.1}, {10, 1}, {60, 0.55}, {110, 0.1}, {200, 0.1}} {
		if got := LearningRate(cfg, c.step); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("step %d: lr %v, want %v", c.step, got, c.want)
		}
	}
}
