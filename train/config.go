package train

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/train/hf"
	"gopkg.in/yaml.v3"
)

// Config holds every shape and training knob. Presets live in presets.yaml;
// a user's --config file overrides any subset of keys.
type Config struct {
	Name string `yaml:"-" json:"name"`

	// ModelInput is the image geometry the model takes (2D and 3D sizes,
	// channels, patch, stored dtype): the corpus must be stored exactly so
	// (the model_input ingest stage), and the trainer checks it at
	// start-up. A preset's geometry is normalize.ModelInputPresets' entry
	// of the same name.
	normalize.ModelInput `yaml:",inline"`

	VisDim    int `yaml:"vis_dim" json:"vis_dim"`
	VisLayers int `yaml:"vis_layers" json:"vis_layers"`
	VisHeads  int `yaml:"vis_heads" json:"vis_heads"`
	VisMLP    int `yaml:"vis_mlp" json:"vis_mlp"`

	Latents    int `yaml:"latents" json:"latents"`
	PercLayers int `yaml:"perc_layers" json:"perc_layers"`

	LMDim     int    `yaml:"lm_dim" json:"lm_dim"`
	LMLayers  int    `yaml:"lm_layers" json:"lm_layers"`
	LMHeads   int    `yaml:"lm_heads" json:"lm_heads"`
	LMMLP     int    `yaml:"lm_mlp" json:"lm_mlp"`
	Vocab     int    `yaml:"vocab" json:"vocab"` // 0: the tokenizer's size
	Context   int    `yaml:"context" json:"context"`
	Positions string `yaml:"positions" json:"positions"` // learned | rope
	Norm      string `yaml:"norm" json:"norm"`           // layernorm | rmsnorm (LM only)
	MLP       string `yaml:"mlp" json:"mlp"`             // gelu | swiglu (LM only)
	Bias      bool   `yaml:"bias" json:"bias"`           // LM dense biases
	MaxImages int    `yaml:"max_images" json:"max_images"`

	TokenizerVocab int `yaml:"tokenizer_vocab" json:"tokenizer_vocab"`

	Batch       int     `yaml:"batch" json:"batch"`
	Accum       int     `yaml:"accum" json:"accum"`
	Steps       int     `yaml:"steps" json:"steps"`
	Warmup      int     `yaml:"warmup" json:"warmup"`
	LR          float64 `yaml:"lr" json:"lr"`
	MinLR       float64 `yaml:"min_lr" json:"min_lr"`
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	ClipNorm    float64 `yaml:"clip_norm" json:"clip_norm"`
	DType       string  `yaml:"dtype" json:"dtype"` // float32 | bfloat16 (compute; master weights stay float32)
	EvalEvery   int     `yaml:"eval_every" json:"eval_every"`
	CkptEvery   int     `yaml:"ckpt_every" json:"ckpt_every"`
	EvalBatches int     `yaml:"eval_batches" json:"eval_batches"`
	LogEvery    int     `yaml:"log_every" json:"log_every"`
	Seed        int64   `yaml:"seed" json:"seed"`
	// Batching is "loader" (shards.Loader: batches of one stored image
	// shape, short at bucket tails and padded with zero-weight rows) or
	// "shuffle" (a seeded permutation per epoch, every batch full: better
	// for corpora of many image shapes, since images are resized on the
	// host anyway). Both resume exactly.
	Batching string `yaml:"batching" json:"batching"`
	// SkipFinalCheckpoint leaves out the checkpoint at exit (benchmarks
	// such as train/gpu/check.sh; periodic checkpoints still happen).
	SkipFinalCheckpoint bool `yaml:"skip_final_checkpoint" json:"skip_final_checkpoint"`

	// LM starts the decoder from a pretrained Hugging Face LLaMA-family
	// folder (config.json, safetensors, tokenizer.json); the ViT and
	// Perceiver start at random. Llama is that folder's decoder shape,
	// filled from its config.json at load (never written by hand).
	LM    LMSource   `yaml:"lm" json:"lm"`
	Llama LlamaShape `yaml:"-" json:"llama"`

	TermWeight     float64 `yaml:"term_weight" json:"term_weight"`
	ResponseWeight float64 `yaml:"response_weight" json:"response_weight"`
	MaxNewTokens   int     `yaml:"max_new_tokens" json:"max_new_tokens"`
}

//go:embed presets.yaml
var presetsYAML []byte

// presets reads presets.yaml over each preset's image geometry from
// normalize.ModelInputPresets (the one table the ingest stage shares).
func presets() (map[string]Config, error) {
	var nodes map[string]yaml.Node
	if err := yaml.Unmarshal(presetsYAML, &nodes); err != nil {
		return nil, fmt.Errorf("train/presets.yaml: %w", err)
	}
	m := map[string]Config{}
	for k, n := range nodes {
		c := Config{Name: k, ModelInput: normalize.ModelInputPresets[k]}
		if err := n.Decode(&c); err != nil {
			return nil, fmt.Errorf("train/presets.yaml: %s: %w", k, err)
		}
		m[k] = c
	}
	return m, nil
}

// PresetNames lists the built-in presets, sorted.
func PresetNames() []string {
	m, _ := presets()
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Preset returns a built-in preset by name.
func Preset(name string) (Config, error) {
	m, err := presets()
	if err != nil {
		return Config{}, err
	}
	c, ok := m[name]
	if !ok {
		return Config{}, fmt.Errorf("unknown preset %q (have %v)", name, PresetNames())
	}
	return c, c.Validate()
}

// LoadConfig starts from preset (default "tiny") and overlays the YAML file
// at path (if not empty): keys the file omits keep the preset's values.
func LoadConfig(preset, path string) (Config, error) {
	if preset == "" {
		preset = "tiny"
	}
	c, err := Preset(preset)
	if err != nil {
		return c, err
	}
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(&c); err != nil && err != io.EOF {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.applyLM(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// LMSource is the config's `lm:` section.
type LMSource struct {
	// From is a Hugging Face LLaMA-family folder whose decoder weights
	// and tokenizer.json the run starts from.
	From string `yaml:"from" json:"from,omitempty"`
	// Freeze keeps the pretrained decoder's tensors fixed; the rows
	// appended for added tokens (<image>, </image>…) still train.
	Freeze bool `yaml:"freeze" json:"freeze,omitempty"`
}

// LlamaShape is what the multimodal model needs of a pretrained decoder's
// config.json beyond lm_dim/lm_layers/lm_heads/lm_mlp; comparable, so
// resuming checks it with the other shapes.
type LlamaShape struct {
	Vocab      int            `json:"vocab_size"`
	KVHeads    int            `json:"num_key_value_heads"`
	HeadDim    int            `json:"head_dim"`
	RopeTheta  float64        `json:"rope_theta"`
	RMSNormEps float64        `json:"rms_norm_eps"`
	Tied       bool           `json:"tie_word_embeddings"`
	Scaling    hf.RopeScaling `json:"rope_scaling"`
}

// pretrained reports whether the decoder comes from lm.from (and so has
// Hugging Face's LLaMA layout).
func (c *Config) pretrained() bool { return c.LM.From != "" }

// applyLM takes the decoder's shape from lm.from's config.json: a
// pretrained decoder is rope, rmsnorm, swiglu, without biases.
func (c *Config) applyLM() error {
	if !c.pretrained() {
		return nil
	}
	h, err := hf.ReadConfig(c.LM.From)
	if err != nil {
		return fmt.Errorf("lm.from: %w", err)
	}
	c.LMDim, c.LMLayers, c.LMHeads, c.LMMLP = h.HiddenSize, h.NumHiddenLayers, h.NumAttentionHeads, h.IntermediateSize
	c.Positions, c.Norm, c.MLP, c.Bias = "rope", "rmsnorm", "swiglu", false
	c.Llama = LlamaShape{Vocab: h.VocabSize, KVHeads: h.NumKeyValueHeads, HeadDim: h.HeadDim, RopeTheta: h.RopeTheta,
		RMSNormEps: h.RMSNormEps, Tied: h.TieWordEmbeddings}
	if h.RopeScaling != nil {
		c.Llama.Scaling = *h.RopeScaling
	}
	return nil
}

// hfConfig is the pretrained decoder's config for train/hf's blocks.
func (c *Config) hfConfig() hf.Config {
	l := c.Llama
	sc := l.Scaling
	return hf.Config{ModelType: "llama", VocabSize: l.Vocab, HiddenSize: c.LMDim, IntermediateSize: c.LMMLP,
		NumHiddenLayers: c.LMLayers, NumAttentionHeads: c.LMHeads, NumKeyValueHeads: l.KVHeads, HeadDim: l.HeadDim,
		RMSNormEps: l.RMSNormEps, RopeTheta: l.RopeTheta, RopeScaling: &sc, TieWordEmbeddings: l.Tied, HiddenAct: "silu"}
}

// lmVocab is the rows of the embedding (and head) for a tokenizer of
// vocab tokens: a pretrained decoder keeps all its rows, and tokens
// past them (added tokens) get rows appended.
func (c *Config) lmVocab(vocab int) int {
	if c.pretrained() {
		return max(vocab, c.Llama.Vocab)
	}
	return vocab
}

// ImageSlots is the number of LM positions one image occupies:
// <image> + latents + </image> (34 with 32 latents, as in RadFM).
func (c *Config) ImageSlots() int { return c.Latents + 2 }

// Validate checks shapes fit together and that sizes, counts and rates
// are in range (a negative layer count would silently build no layers).
func (c *Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"vis_dim", c.VisDim}, {"vis_mlp", c.VisMLP}, {"lm_dim", c.LMDim}, {"lm_mlp", c.LMMLP}, {"context", c.Context}} {
		if f.v <= 0 {
			return fmt.Errorf("%s %d must be positive", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"vis_layers", c.VisLayers}, {"perc_layers", c.PercLayers}, {"lm_layers", c.LMLayers}, {"vocab", c.Vocab},
		{"tokenizer_vocab", c.TokenizerVocab}, {"warmup", c.Warmup}, {"eval_every", c.EvalEvery}, {"ckpt_every", c.CkptEvery},
		{"eval_batches", c.EvalBatches}, {"log_every", c.LogEvery}, {"max_new_tokens", c.MaxNewTokens}} {
		if f.v < 0 {
			return fmt.Errorf("%s %d must not be negative", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"min_lr", c.MinLR}, {"weight_decay", c.WeightDecay}, {"clip_norm", c.ClipNorm},
		{"term_weight", c.TermWeight}, {"response_weight", c.ResponseWeight}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s %g must be a non-negative number", f.name, f.v)
		}
	}
	if err := c.ModelInput.Validate(); err != nil {
		return err
	}
	switch {
	case c.VisHeads <= 0 || c.VisDim%c.VisHeads != 0:
		return fmt.Errorf("vis_dim %d not divisible by vis_heads %d", c.VisDim, c.VisHeads)
	case c.LMHeads <= 0 || c.LMDim%c.LMHeads != 0:
		return fmt.Errorf("lm_dim %d not divisible by lm_heads %d", c.LMDim, c.LMHeads)
	case c.Positions == "rope" && (c.LMDim/c.LMHeads)%2 != 0:
		return fmt.Errorf("rope needs an even head size, got %d", c.LMDim/c.LMHeads)
	case c.Positions != "learned" && c.Positions != "rope":
		return fmt.Errorf("positions %q: want learned or rope", c.Positions)
	case c.Norm != "layernorm" && c.Norm != "rmsnorm":
		return fmt.Errorf("norm %q: want layernorm or rmsnorm", c.Norm)
	case c.MLP != "gelu" && c.MLP != "swiglu":
		return fmt.Errorf("mlp %q: want gelu or swiglu", c.MLP)
	case c.DType != "float32" && c.DType != "bfloat16":
		return fmt.Errorf("dtype %q: want float32 or bfloat16", c.DType)
	case c.Latents <= 0 || c.MaxImages < 0:
		return fmt.Errorf("latents %d / max_images %d", c.Latents, c.MaxImages)
	case c.Context < c.ImageSlots()*c.MaxImages+4:
		return fmt.Errorf("context %d too short for %d images of %d slots", c.Context, c.MaxImages, c.ImageSlots())
	case c.Batching != "" && c.Batching != "loader" && c.Batching != "shuffle":
		return fmt.Errorf("batching %q: want loader or shuffle", c.Batching)
	case c.Batch <= 0 || c.Accum <= 0 || c.Steps < 0:
		return fmt.Errorf("batch %d, accum %d, steps %d", c.Batch, c.Accum, c.Steps)
	}
	return nil
}
