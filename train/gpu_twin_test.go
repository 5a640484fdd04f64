package train

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"testing"
)

// twinParam maps a Go variable (scope/name) of the `small` preset to the
// PyTorch twin's parameter it is part of (gpu/torch_small.py), and how:
// Linear weights are stored [out, in] in torch and [in, out] here, and
// nn.MultiheadAttention keeps q, k, v as one in_proj of 3·d rows.
func twinParam(path string) (name string, transpose, inProj bool, err error) {
	rules := []struct {
		re   *regexp.Regexp
		repl string
	}{
		{regexp.MustCompile(`^/vit/patch_norm1/(g|b)$`), "patch.0.$1"},
		{regexp.MustCompile(`^/vit/patch/(w|b)$`), "patch.1.$1"},
		{regexp.MustCompile(`^/vit/patch_norm2/(g|b)$`), "patch.2.$1"},
		{regexp.MustCompile(`^/vit/pos$`), "pos"},
		{regexp.MustCompile(`^/perceiver/latents$`), "lat"},
		{regexp.MustCompile(`^/lm/embed$`), "emb.w"},
		{regexp.MustCompile(`^/lm/pos$`), "lpos"},
		{regexp.MustCompile(`^/lm/norm/(g|b)$`), "norm.$1"},
		{regexp.MustCompile(`^/lm/head/w$`), "head.w"},
		{regexp.MustCompile(`^/(vit|perceiver|lm)/block_(\d+)/norm(1|2)/(g|b)$`), "$1.$2.n$3.$4"},
		{regexp.MustCompile(`^/(vit|perceiver|lm)/block_(\d+)/attn/(q|k|v)/(w|b)$`), "$1.$2.att.in_proj_$4"},
		{regexp.MustCompile(`^/(vit|perceiver|lm)/block_(\d+)/attn/o/(w|b)$`), "$1.$2.att.out_proj.$3"},
		{regexp.MustCompile(`^/(vit|perceiver|lm)/block_(\d+)/mlp/w1/(w|b)$`), "$1.$2.ff.0.$3"},
		{regexp.MustCompile(`^/(vit|perceiver|lm)/block_(\d+)/mlp/w2/(w|b)$`), "$1.$2.ff.2.$3"},
	}
	for _, r := range rules {
		if !r.re.MatchString(path) {
			continue
		}
		name = r.re.ReplaceAllString(path, r.repl)
		name = regexp.MustCompile(`^perceiver\.`).ReplaceAllString(name, "perc.")
		inProj = regexp.MustCompile(`in_proj_`).MatchString(name)
		// torch names: .weight / .bias; in_proj_weight / in_proj_bias.
		name = regexp.MustCompile(`\.(w|g)$`).ReplaceAllString(name, ".weight")
		name = regexp.MustCompile(`\.b$`).ReplaceAllString(name, ".bias")
		name = regexp.MustCompile(`in_proj_w$`).ReplaceAllString(name, "in_proj_weight")
		name = regexp.MustCompile(`in_proj_b$`).ReplaceAllString(name, "in_proj_bias")
		transpose = regexp.MustCompile(`/(w)$`).MatchString(path) && !regexp.MustCompile(`/(embed)$`).MatchString(path)
		return name, transpose, inProj, nil
	}
	return "", false, false, fmt.Errorf("no twin parameter for %s", path)
}

// The small preset is the PyTorch twin exactly: every Go variable maps to
// a twin parameter and every twin parameter (names and shapes from the
// committed golden gpu/testdata/torch_small_params.json, made by
// gpu/dump_params.py) is covered with its exact shape.
func TestSmallMatchesTorchTwin(t *testing.T) {
	raw, err := os.ReadFile("gpu/testdata/torch_small_params.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden [][2]json.RawMessage
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{}
	var order []string
	for _, g := range golden {
		var name string
		var dims []int
		if json.Unmarshal(g[0], &name) != nil || json.Unmarshal(g[1], &dims) != nil {
			t.Fatalf("bad golden entry %s", g)
		}
		want[name] = dims
		order = append(order, name)
	}
	cfg, err := Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for _, p := range ParamSpecs(cfg, cfg.Vocab) {
		name, transpose, inProj, err := twinParam(p.Scope + "/" + p.Name)
		if err != nil {
			t.Error(err)
			continue
		}
		dims := slices.Clone(p.Dims)
		if transpose && len(dims) == 2 {
			dims[0], dims[1] = dims[1], dims[0]
		}
		if inProj {
			if prev, ok := got[name]; ok {
				prev[0] += dims[0] // q, k, v stacked along rows
				continue
			}
		}
		if _, dup := got[name]; dup {
			t.Errorf("two Go variables map to %s", name)
		}
		got[name] = dims
	}
	for _, name := range order {
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("%s: Go %v, twin %v", name, got[name], want[name])
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("Go has %s, the twin does not", name)
		}
	}
	if len(want) == 0 {
		t.Fatal("empty golden")
	}
}
