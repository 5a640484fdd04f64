package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckpointRoundTripAndCorruption(t *testing.T) {
	cfg := tinyConfig(t, 1)
	ctx := newContext(cfg, 300)
	out := t.TempDir()
	st := CheckpointState{Step: 7, Loader: LoaderState{Seed: 1, Epoch: 2, Pos: 3}, Config: cfg, Vocab: 300}
	dir, err := saveCheckpoint(out, ctx, st, 2)
	if err != nil {
		t.Fatal(err)
	}
	if latest, _ := LatestCheckpoint(out); latest != dir {
		t.Fatalf("latest %q, want %q", latest, dir)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("checkpoint folder mode %v (%v), want 0755 like the files in it", fi.Mode(), err)
	}
	ctx2, st2, err := loadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Step != 7 || st2.Loader != st.Loader || st2.Vocab != 300 {
		t.Fatalf("state %+v", st2)
	}
	n := 0
	for v := range ctx.IterVariables() {
		v2 := ctx2.InAbsPath(v.Scope()).GetVariable(v.Name())
		if v2 == nil || !v2.MustValue().Equal(v.MustValue()) {
			t.Fatalf("variable %s differs after reload", v.ScopeAndName())
		}
		n++
	}
	if n != len(ParamSpecs(cfg, 300)) {
		t.Fatalf("%d variables", n)
	}
	// Only the newest `keep` checkpoints stay.
	for _, s := range []int{8, 9} {
		st.Step = s
		if _, err := saveCheckpoint(out, ctx, st, 2); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := filepath.Glob(filepath.Join(out, "ckpt-*"))
	if len(ents) != 2 || !strings.HasSuffix(ents[1], "ckpt-00000009") {
		t.Fatalf("checkpoints left: %v", ents)
	}
	// Corruption is reported with the folder and the reason.
	dir = ents[1]
	bin := filepath.Join(dir, "vars.bin")
	b, _ := os.ReadFile(bin)
	os.WriteFile(bin, b[:len(b)-4], 0o644)
	if _, _, err := loadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("truncated vars.bin: %v", err)
	}
	// Dims whose product overflows int64 to 0 must not pass the size
	// check against an empty vars.bin (and then allocate 2^64 floats).
	os.WriteFile(bin, nil, 0o644)
	os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"variables":[{"scope":"/x","name":"w","dims":[2147483648,2147483648,4]}]}`), 0o644)
	if _, _, err := loadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("overflowing dims: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "state.json"), []byte("{"), 0o644)
	if _, _, err := loadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Fatalf("bad state.json: %v", err)
	}
}

func TestTermSpans(t *testing.T) {
	tm := newTermMatcher(nil)
	text := "Small left Pleural Effusion; no pneumothorax. Cardiomegaly."
	got := tm.spans(text)
	var words []string
	for _, s := range got {
		words = append(words, text[s[0]:s[1]])
	}
	want := []string{"Pleural Effusion", "pneumothorax", "Cardiomegaly"}
	if strings.Join(words, "|") != strings.Join(want, "|") {
		t.Fatalf("term spans %q, want %q", words, want)
	}
}
