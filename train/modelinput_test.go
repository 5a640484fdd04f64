package train

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// `medmd train` checks at start-up that the corpus fits the preset: from
// the model input the manifest records (before a shard is opened), or,
// for a manifest that records none, from the image shapes the loader
// indexes. A corpus that does not fit stops the run with one line naming
// the setting to change; one that fits reaches its first batch.
func TestRecordedModelInput(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 1)
	tokPath := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := testTokenizer(t).Save(tokPath); err != nil {
		t.Fatal(err)
	}
	tiny := shards.ModelInput(normalize.ModelInputPresets["tiny"])
	small := shards.ModelInput(normalize.ModelInputPresets["small"])
	custom := tiny
	custom.ImageHeight = 32
	for _, c := range []struct {
		name   string
		smps   []shards.Sample
		record *shards.ModelInput
		edit   func(m *shards.Manifest)
		// noShards removes the Arrow files first: the check must not need
		// them.
		noShards bool
		want     []string // "" = the run starts
	}{
		{name: "recorded, fits", smps: modelReady(t, 12, cfg), record: &tiny},
		{name: "not recorded, images fit", smps: modelReady(t, 12, cfg)},
		{name: "recorded for another preset", smps: modelReady(t, 12, cfg), record: &small, noShards: true,
			want: []string{"made for preset radfm/small", "train with --preset radfm or --preset small", "`model_input` stage to `preset: tiny`", "(3 channels, the model takes 1)"}},
		{name: "recorded, another geometry", smps: modelReady(t, 12, cfg), record: &custom, noShards: true,
			want: []string{"made for another geometry", "2D 32x16, the model takes 16x16", "`preset: tiny`"}},
		{name: "recorded, no images", smps: modelReady(t, 12, cfg), record: &tiny, noShards: true,
			edit: func(m *shards.Manifest) { m.Images = 0 }, want: []string{"no sample has an image"}},
		{name: "not recorded, raw images", smps: testSamples(6),
			want: []string{"add `- type: model_input` with `preset: tiny`"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeCorpus(t, c.smps, 4)
			m, err := shards.ReadManifest(path)
			if err != nil {
				t.Fatal(err)
			}
			m.ModelInput = c.record
			if c.edit != nil {
				c.edit(m)
			}
			if err := m.Write(path); err != nil {
				t.Fatal(err)
			}
			if c.noShards {
				for _, p := range m.ArrowPaths() {
					os.Remove(p)
				}
			}
			out := t.TempDir()
			s, err := MeasureStartup(context.Background(), Options{Config: cfg, TrainManifest: path, TokenizerPath: tokPath, Out: out,
				Backend: backend, Logger: slog.New(slog.DiscardHandler)})
			if len(c.want) == 0 {
				if err != nil || s <= 0 {
					t.Fatalf("start-up %v s, %v", s, err)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if ck, _ := LatestCheckpoint(out); ck != "" {
				t.Errorf("a refused run left checkpoint %s", ck)
			}
		})
	}
}

// A manifest records the model input only when its JSON says so: one
// written before the field existed reads with none, and the field
// round-trips.
func TestManifestModelInputRoundTrip(t *testing.T) {
	path := writeCorpus(t, modelReady(t, 4, tinyConfig(t, 1)), 4)
	m, err := shards.ReadManifest(path)
	if err != nil || m.ModelInput != nil {
		t.Fatalf("fresh corpus: model input %v, %v", m.ModelInput, err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "model_input") {
		t.Fatalf("a manifest without a model input writes the key:\n%s", b)
	}
	tiny := shards.ModelInput(normalize.ModelInputPresets["tiny"])
	m.ModelInput = &tiny
	if err := m.Write(path); err != nil {
		t.Fatal(err)
	}
	m2, err := shards.ReadManifest(path)
	if err != nil || m2.ModelInput == nil || *m2.ModelInput != tiny {
		t.Fatalf("read back %+v, %v; want %+v", m2.ModelInput, err, tiny)
	}
}
