package hf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// Config is the part of a LLaMA-family config.json (transformers'
// LlamaConfig) the decoder needs.
type Config struct {
	Architectures         []string     `json:"architectures"`
	ModelType             string       `json:"model_type"`
	VocabSize             int          `json:"vocab_size"`
	HiddenSize            int          `json:"hidden_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads,omitempty"`
	HeadDim               int          `json:"head_dim,omitempty"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	RopeScaling           *RopeScaling `json:"rope_scaling,omitempty"`
	TieWordEmbeddings     bool         `json:"tie_word_embeddings"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	HiddenAct             string       `json:"hidden_act"`
	AttentionBias         bool         `json:"attention_bias"`
	MLPBias               bool         `json:"mlp_bias"`
	BOSTokenID            any          `json:"bos_token_id,omitempty"`
	EOSTokenID            any          `json:"eos_token_id,omitempty"`
	TorchDType            string       `json:"torch_dtype,omitempty"`
}

// RopeScaling is config.json's rope_scaling; only rope_type "llama3"
// (LLaMA-3.1) changes the frequencies here.
type RopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
}

// ReadConfig reads and checks dir/config.json. Defaults follow LlamaConfig:
// num_key_value_heads = num_attention_heads, head_dim = hidden/heads,
// rope_theta 10000, rms_norm_eps 1e-6.
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c := Config{RopeTheta: 10000, RMSNormEps: 1e-6, HiddenAct: "silu"}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (c *Config) check() error {
	if !slices.Contains(c.Architectures, "LlamaForCausalLM") && c.ModelType != "llama" {
		return fmt.Errorf("unknown architecture %v (model_type %q): this decoder reads LlamaForCausalLM", c.Architectures, c.ModelType)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.NumAttentionHeads > 0 && c.HeadDim == 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	const limit = 1 << 24
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads}, {"head_dim", c.HeadDim}} {
		if f.v <= 0 || f.v > limit {
			return fmt.Errorf("%s = %d", f.name, f.v)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d is odd (RoPE rotates pairs)", c.HeadDim)
	}
	if c.HiddenAct != "silu" {
		return fmt.Errorf("hidden_act %q: this decoder implements silu", c.HiddenAct)
	}
	if c.AttentionBias || c.MLPBias {
		return fmt.Errorf("attention_bias/mlp_bias: this decoder has no biases")
	}
	if rs := c.RopeScaling; rs != nil {
		t := rs.RopeType
		if t == "" {
			t = rs.Type
		}
		if t != "llama3" && t != "default" {
			return fmt.Errorf("rope_scaling type %q: this decoder implements llama3", t)
		}
		if t == "llama3" && (rs.Factor <= 0 || rs.HighFreqFactor <= rs.LowFreqFactor || rs.OriginalMaxPositionEmbeddings <= 0) {
			return fmt.Errorf("rope_scaling %+v: llama3 needs factor > 0, high_freq_factor > low_freq_factor, original_max_position_embeddings > 0", *rs)
		}
	}
	return nil
}

// InvFreq is RoPE's inverse frequencies, one per rotated pair, with the
// LLaMA-3 scaling when configured (transformers' _compute_llama3_parameters).
func (c Config) InvFreq() []float64 {
	half := c.HeadDim / 2
	f := make([]float64, half)
	for i := range f {
		// float32 as torch computes it: base ** (arange(0, dim, 2).float() / dim)
		f[i] = float64(float32(1 / math.Pow(c.RopeTheta, float64(float32(2*i)/float32(c.HeadDim)))))
	}
	rs := c.RopeScaling
	if rs == nil || (rs.RopeType != "llama3" && rs.Type != "llama3") {
		return f
	}
	old := float64(rs.OriginalMaxPositionEmbeddings)
	lowWL, highWL := old/rs.LowFreqFactor, old/rs.HighFreqFactor
	for i, v := range f {
		wl := 2 * math.Pi / v
		switch {
		case wl < highWL:
		case wl > lowWL:
			f[i] = v / rs.Factor
		default:
			s := (old/wl - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
			f[i] = (1-s)*v/rs.Factor + s*v
		}
	}
	return f
}

// eosIDs lists eos_token_id (an int or a list of ints).
func (c Config) eosIDs() []int {
	switch v := c.EOSTokenID.(type) {
	case float64:
		return []int{int(v)}
	case []any:
		var out []int
		for _, x := range v {
			if f, ok := x.(float64); ok {
				out = append(out, int(f))
			}
		}
		return out
	}
	return nil
}
