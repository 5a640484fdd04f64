package hf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyModel writes llama-tiny into a temporary folder with its tensors
// passed through edit (nil drops a tensor) and config.json through cfg.
func copyModel(t *testing.T, edit func(Tensor) *Tensor, cfg func(string) string) string {
	t.Helper()
	src := "testdata/llama-tiny"
	f, err := Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []Tensor
	for name, ti := range f.Tensors {
		n := 1
		for _, d := range ti.Shape {
			n *= d
		}
		data := make([]float32, n)
		if err := f.Float32(name, data); err != nil {
			t.Fatal(err)
		}
		tt := &Tensor{Name: name, Shape: slices.Clone(ti.Shape), Data: data}
		if edit != nil {
			tt = edit(*tt)
		}
		if tt != nil {
			ts = append(ts, *tt)
		}
	}
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if cfg != nil {
		s = cfg(s)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadBadInput(t *testing.T) {
	backend := testBackend(t)
	const k = "model.layers.1.self_attn.k_proj.weight"
	for _, tc := range []struct {
		name    string
		edit    func(Tensor) *Tensor
		cfg     func(string) string
		corrupt func(path string)
		wantErr string
	}{
		{name: "ok", wantErr: ""},
		{name: "missing tensor", edit: func(x Tensor) *Tensor {
			if x.Name == k {
				return nil
			}
			return &x
		}, wantErr: `tensor "` + k + `": missing`},
		{name: "shape contradicts config", cfg: func(s string) string {
			return strings.Replace(s, `"num_key_value_heads": 2`, `"num_key_value_heads": 4`, 1)
		}, wantErr: `tensor "model.layers.0.self_attn.k_proj.weight": shape [16 32], config.json implies [32 32]`},
		{name: "unknown architecture", cfg: func(s string) string {
			return strings.NewReplacer(`"LlamaForCausalLM"`, `"MambaForCausalLM"`, `"llama"`, `"mamba"`).Replace(s)
		}, wantErr: "unknown architecture [MambaForCausalLM]"},
		{name: "header claims more than the file", corrupt: func(p string) {
			b, _ := os.ReadFile(p)
			binary.LittleEndian.PutUint64(b, 1<<40)
			os.WriteFile(p, b, 0o644)
		}, wantErr: "header claims 1099511627776 bytes"},
		{name: "data past the end", corrupt: func(p string) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-4], 0o644)
		}, wantErr: "outside the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyModel(t, tc.edit, tc.cfg)
			if tc.corrupt != nil {
				tc.corrupt(filepath.Join(dir, "model.safetensors"))
			}
			_, err := Load(backend, dir)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestSaveRoundTrip saves a loaded decoder and loads it back: same logits.
func TestSaveRoundTrip(t *testing.T) {
	backend := testBackend(t)
	g := readGolden(t)["llama-tied-bf16"]
	d, err := Load(backend, "testdata/llama-tied-bf16")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := d.Save(dir); err != nil {
		t.Fatal(err)
	}
	d2, err := Load(backend, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Forward(d.NewCache(1, len(g.IDs)), [][]int32{g.IDs})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d2.Forward(d2.NewCache(1, len(g.IDs)), [][]int32{g.IDs})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("saved decoder gives different logits")
	}
}
