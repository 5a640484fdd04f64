package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/train/hf"
	"github.com/medmd/medmd/train/tokenizer"
)

// writeLMConfig writes a config file starting the decoder from dir.
func writeLMConfig(t *testing.T, dir string, freeze bool, steps int) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	y := fmt.Sprintf("lm:\n  from: %s\n  freeze: %v\nsteps: %d\nwarmup: 1\nlr: 0.01\neval_every: 0\nckpt_every: 0\nlog_every: 0\n", abs, freeze, steps)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkpointVars reads the latest checkpoint of run folder out as
// "scope/name" → values.
func checkpointVars(t *testing.T, out string) (map[string][]float32, *CheckpointState) {
	t.Helper()
	dir, err := LatestCheckpoint(out)
	if err != nil || dir == "" {
		t.Fatalf("no checkpoint in %s: %v", out, err)
	}
	ctx, st, err := loadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]float32{}
	for v := range ctx.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		m[v.Scope()+"/"+v.Name()] = tensors.MustCopyFlatData[float32](val)
	}
	return m, st
}

// generateLines runs Generate on the run's latest checkpoint over
// manifest and returns the predictions.
func generateLines(t *testing.T, out, manifest string, maxNew int) []Prediction {
	t.Helper()
	src, err := OpenManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	n, err := Generate(t.Context(), GenerateOptions{Checkpoint: out, Source: src, Out: &buf, MaxNewTokens: maxNew, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	var preds []Prediction
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var p Prediction
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("prediction line %q: %v", line, err)
		}
		preds = append(preds, p)
	}
	if len(preds) != n || n != src.Len() {
		t.Fatalf("%d predictions (reported %d) for %d samples", len(preds), n, src.Len())
	}
	return preds
}

// TestFrozenLMStaysBitIdentical: with lm.freeze every tensor of lm.from is
// in the checkpoint bit for bit as the folder holds it, while the vision
// side trained; and `medmd generate --checkpoint` (Generate) runs on that
// checkpoint.
func TestFrozenLMStaysBitIdentical(t *testing.T) {
	const lmDir = "testdata/lm-medtok"
	base, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	manifest := writeCorpus(t, modelReady(t, 4, base), 4)
	out := t.TempDir()
	res, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: manifest, ConfigFile: writeLMConfig(t, lmDir, true, 3), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Losses) != 3 {
		t.Fatalf("%d steps, want 3", len(res.Losses))
	}
	got, st := checkpointVars(t, out)
	n := 0
	err = hf.ReadWeights(lmDir, st.Config.hfConfig(), func(name string, w *tensors.Tensor) {
		want := tensors.MustCopyFlatData[float32](w)
		g, ok := got["/lm/"+name]
		if !ok || len(g) != len(want) {
			t.Errorf("/lm/%s: %d values in the checkpoint, %d in %s", name, len(g), len(want), lmDir)
			return
		}
		for i := range want {
			if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
				t.Errorf("/lm/%s[%d] = %v, lm.from has %v", name, i, g[i], want[i])
				return
			}
		}
		n++
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no pretrained tensor compared")
	}
	// The vision side did train: its weights left their initial values.
	init := newContext(st.Config, st.Vocab)
	moved := false
	for v := range init.IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/vit") {
			continue
		}
		val, _ := v.Value()
		w0 := tensors.MustCopyFlatData[float32](val)
		for i, x := range got[v.Scope()+"/"+v.Name()] {
			if x != w0[i] {
				moved = true
				break
			}
		}
	}
	if !moved {
		t.Error("no /vit weight changed in 3 steps")
	}
	t.Logf("%d pretrained tensors bit-identical after 3 frozen steps", n)

	preds := generateLines(t, out, manifest, 3)
	t.Logf("prediction: %q", preds[0].Prediction)
}

// paddedLM writes a copy of the LLaMA folder src whose vocabulary has
// extra rows past its tokenizer's (as checkpoints padded to a multiple
// of 64 have), with random weights.
func paddedLM(t *testing.T, src string, extra int) string {
	t.Helper()
	c, err := hf.ReadConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	c.VocabSize += extra
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	var ts []hf.Tensor
	for _, s := range c.Specs() {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			if len(s.Shape) == 1 {
				data[i] = 1
			} else {
				data[i] = float32(0.05 * rng.NormFloat64())
			}
		}
		ts = append(ts, hf.Tensor{Name: s.Name, Shape: s.Shape, Data: data})
	}
	if err := hf.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tj, err := os.ReadFile(filepath.Join(src, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTokenizerSmallerThanLMVocab: a tokenizer with fewer tokens than the
// checkpoint's vocab_size works: the embedding and head keep every row of
// the checkpoint (as transformers does with padded vocabularies), tokens
// the tokenizer adds take ids after its own (rows the checkpoint has), and
// generation never picks an id the tokenizer cannot decode.
func TestTokenizerSmallerThanLMVocab(t *testing.T) {
	dir := paddedLM(t, "testdata/lm-medtok", 24)
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	manifest := writeCorpus(t, modelReady(t, 4, base), 4)
	out := t.TempDir()
	res, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: manifest, ConfigFile: writeLMConfig(t, dir, false, 2), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range res.Losses {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			t.Fatalf("loss %v", res.Losses)
		}
	}
	got, st := checkpointVars(t, out)
	if st.Vocab != tok.VocabSize() || tok.VocabSize() >= 1024 {
		t.Errorf("run vocab %d, tokenizer %d", st.Vocab, tok.VocabSize())
	}
	if e := got["/lm/model.embed_tokens.weight"]; len(e) != 1024*st.Config.LMDim {
		t.Errorf("embedding has %d values, want the checkpoint's 1024 rows × %d", len(e), st.Config.LMDim)
	}
	for _, p := range generateLines(t, out, manifest, 4) {
		if strings.ContainsRune(p.Prediction, '\uFFFD') {
			t.Errorf("prediction %q decodes an id outside the tokenizer", p.Prediction)
		}
	}
}

// TestInitFromCheckpoint: --init starts a new run (new manifest, new
// output) from another run's weights only: the context holds exactly the
// model's variables with the checkpoint's values, training starts at step
// 0, and a config that builds other shapes fails naming the key.
func TestInitFromCheckpoint(t *testing.T) {
	cfg := tinyConfig(t, 3)
	first := writeCorpus(t, modelReady(t, 4, cfg), 4)
	src := t.TempDir()
	if _, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: first, Out: src, Steps: 3}); err != nil {
		t.Fatal(err)
	}
	srcVars, srcSt := checkpointVars(t, src)
	if srcSt.Step != 3 {
		t.Fatalf("source run at step %d", srcSt.Step)
	}

	dir, _ := LatestCheckpoint(src)
	ctx, st, err := initFromCheckpoint(dir, srcSt.Config)
	if err != nil {
		t.Fatal(err)
	}
	specs := ParamSpecs(srcSt.Config, st.Vocab)
	n := 0
	for v := range ctx.IterVariables() {
		n++
		val, _ := v.Value()
		w := tensors.MustCopyFlatData[float32](val)
		want := srcVars[v.Scope()+"/"+v.Name()]
		for i := range want {
			if math.Float32bits(w[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s/%s differs from the checkpoint", v.Scope(), v.Name())
			}
		}
	}
	if n != len(specs) || len(srcVars) <= n {
		t.Errorf("init context has %d variables, the model %d, the checkpoint %d (optimizer state included)", n, len(specs), len(srcVars))
	}

	second := writeCorpus(t, modelReady(t, 6, cfg)[2:], 4)
	out := t.TempDir()
	cf := filepath.Join(t.TempDir(), "ft.yaml")
	os.WriteFile(cf, []byte("lr: 0.001\nbatch: 2\nseed: 9\n"), 0o644)
	res, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: second, ConfigFile: cf, Out: out, Init: src, Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.StartStep != 0 || res.Step != 2 || len(res.Losses) != 2 {
		t.Errorf("fine-tune ran steps %d..%d (%d losses), want 0..2", res.StartStep, res.Step, len(res.Losses))
	}
	if a, b := mustRead(t, filepath.Join(src, "tokenizer.json")), mustRead(t, filepath.Join(out, "tokenizer.json")); a != b {
		t.Error("fine-tune run's tokenizer.json is not the checkpoint's")
	}

	for _, tc := range []struct{ yaml, key string }{
		{"lm_layers: 3\n", "lm_layers"},
		{"vis_dim: 48\nvis_heads: 4\n", "vis_dim"},
		{"latents: 2\n", "latents"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cf := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(cf, []byte(tc.yaml), 0o644)
			_, err := TrainFromManifest(t.Context(), TrainArgs{Manifest: second, ConfigFile: cf, Out: t.TempDir(), Init: src, Steps: 1})
			if err == nil || !strings.Contains(err.Error(), "config key "+tc.key+" ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line naming config key %s", err, tc.key)
			}
			t.Log(err)
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
