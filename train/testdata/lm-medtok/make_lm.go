//go:build ignore

// make_lm writes a tiny LLaMA decoder (config.json + F32 model.safetensors,
// random weights from a fixed seed) whose vocabulary is the 1,000-token
// tokenizer.json beside it. Run from this folder: go run make_lm.go
package main

import (
	"encoding/json"
	"log"
	"math/rand/v2"
	"os"

	"github.com/medmd/medmd/train/hf"
)

func main() {
	c := hf.Config{Architectures: []string{"LlamaForCausalLM"}, ModelType: "llama", VocabSize: 1000, HiddenSize: 32,
		IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8,
		RMSNormEps: 1e-5, RopeTheta: 10000, TieWordEmbeddings: true, MaxPositionEmbeddings: 256, HiddenAct: "silu",
		BOSTokenID: 1, EOSTokenID: 2, TorchDType: "float32"}
	r := rand.New(rand.NewPCG(7, 7))
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
				data[i] = float32(0.05 * r.NormFloat64())
			}
		}
		ts = append(ts, hf.Tensor{Name: s.Name, Shape: s.Shape, Data: data})
	}
	if err := hf.WriteFile("model.safetensors", ts, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile("config.json", append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
