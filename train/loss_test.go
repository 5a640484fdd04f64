package train

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/shards"
	"github.com/medmd/medmd/train/tokenizer"
)

func testTokenizer(t testing.TB) *tokenizer.Tokenizer {
	var texts []string
	for _, s := range testSamples(16) {
		texts = append(texts, s.Instruction, s.Response)
	}
	tok, err := tokenizer.Train(texts, 320)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Weights per token: 0 instruction/image/<s>, 1 response, 3 inside a
// RadBench term, 1 for </s> after a response.
func TestEncoderWeights(t *testing.T) {
	cfg := tinyConfig(t, 1)
	tok := testTokenizer(t)
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(nil)}
	smp := testSamples(1)[0]
	smp.Instruction = "Describe the image."
	smp.Response = "Small pleural effusion, no pneumothorax."
	s := enc.encode(&smp)
	L := cfg.Latents
	instr, _ := tok.Encode(smp.Instruction)
	resp, spans := tok.Encode(smp.Response)
	terms := [][2]int{{6, 22}, {27, 39}} // "pleural effusion", "pneumothorax"
	if smp.Response[6:22] != "pleural effusion" || smp.Response[27:39] != "pneumothorax" {
		t.Fatal("test offsets")
	}
	var want []float32
	want = append(want, 0, 0)                    // <s>, <image>
	want = append(want, make([]float32, L+1)...) // latents, </image>
	want = append(want, make([]float32, len(instr))...)
	for _, sp := range spans {
		w := float32(1)
		for _, tm := range terms {
			if sp[0] < tm[1] && tm[0] < sp[1] {
				w = 3
			}
		}
		want = append(want, w)
	}
	want = append(want, 1) // </s>
	if len(s.weight) != len(want) {
		t.Fatalf("%d tokens, want %d", len(s.weight), len(want))
	}
	n3 := 0
	for i := range want {
		if s.weight[i] != want[i] {
			t.Errorf("token %d (%q): weight %v, want %v", i, tok.Token(int(s.tokens[i])), s.weight[i], want[i])
		}
		if want[i] == 3 {
			n3++
		}
	}
	if n3 == 0 || n3 == len(resp) {
		t.Errorf("%d of %d response tokens weighted 3", n3, len(resp))
	}
	if len(s.images) != 1 || s.tokens[1] != int32(tok.ImageID) || s.tokens[2+L] != int32(tok.ImageEndID) || s.slot[2] != 1 || s.slot[1+L] != int32(L) {
		t.Errorf("image block not at the start of the instruction: %v %v", s.tokens[:3+L], s.slot[:3+L])
	}
}

// The weights reach the gradient: d(Σ w·CE / Σ w)/d logits equals
// w_t (softmax − onehot) / Σ w, so term weights 3 vs 1 change it — unlike
// RadFM's released code, which computed the weights and returned the
// unweighted loss.
func TestWeightedLossGradient(t *testing.T) {
	backend := testBackend(t)
	const T, V = 3, 5
	logits := []float32{0.1, 2, -1, 0.5, 0, 1, 1, 1, 1, 1, -2, 0, 3, 0.2, 0.1}
	targets := []int32{1, 4, 2}
	exec := MustNewExec(backend, func(l, tg, w *Node) []*Node {
		sum, ws := weightedLoss(l, tg, w)
		loss := Div(sum, ws)
		return []*Node{loss, Gradient(loss, l)[0]}
	})
	run := func(w []float32) (float64, []float32) {
		out := exec.MustExec(tensors.FromFlatDataAndDimensions(logits, 1, T, V), tensors.FromFlatDataAndDimensions(targets, 1, T), tensors.FromFlatDataAndDimensions(w, 1, T))
		return scalar(out[0]), tensors.MustCopyFlatData[float32](out[1])
	}
	want := func(w []float32) (float64, []float32) {
		var loss, ws float64
		g := make([]float32, T*V)
		for _, x := range w {
			ws += float64(x)
		}
		for t := 0; t < T; t++ {
			row := logits[t*V : (t+1)*V]
			var z float64
			for _, x := range row {
				z += math.Exp(float64(x))
			}
			loss += float64(w[t]) * (math.Log(z) - float64(row[targets[t]]))
			for v := range row {
				p := math.Exp(float64(row[v])) / z
				if int32(v) == targets[t] {
					p--
				}
				g[t*V+v] = float32(float64(w[t]) * p / ws)
			}
		}
		return loss / ws, g
	}
	weighted, uniform := []float32{3, 1, 0}, []float32{1, 1, 1}
	lw, gw := run(weighted)
	lu, gu := run(uniform)
	for _, c := range []struct {
		w    []float32
		l    float64
		g    []float32
		name string
	}{{weighted, lw, gw, "weighted"}, {uniform, lu, gu, "uniform"}} {
		el, eg := want(c.w)
		if math.Abs(c.l-el) > 1e-5 {
			t.Errorf("%s loss %v, want %v", c.name, c.l, el)
		}
		for i := range eg {
			if math.Abs(float64(c.g[i]-eg[i])) > 1e-5 {
				t.Fatalf("%s grad[%d] = %v, want %v", c.name, i, c.g[i], eg[i])
			}
		}
	}
	if math.Abs(lw-lu) < 1e-3 {
		t.Errorf("weighted loss %v equals unweighted %v", lw, lu)
	}
	// third token has weight 0: no gradient at all
	for v := 0; v < V; v++ {
		if gw[2*V+v] != 0 {
			t.Errorf("zero-weight token has gradient %v", gw[2*V+v])
		}
	}
}

// Through the whole model: the term-weighted batch gives another loss and
// another update than the same batch with every response token at 1.
func TestTermWeightsChangeModelLoss(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 1)
	tok := testTokenizer(t)
	vocab := tok.VocabSize()
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(nil)}
	smps := testSamples(4)
	seqs := make([]*seq, len(smps))
	for i := range smps {
		seqs[i] = enc.encode(&smps[i])
	}
	weighted := enc.hostBatch(seqs)
	cfg1 := cfg
	cfg1.TermWeight = 1
	enc1 := &encoder{cfg: cfg1, tok: tok, terms: newTermMatcher(nil)}
	for i := range smps {
		seqs[i] = enc1.encode(&smps[i])
	}
	flat := enc1.hostBatch(seqs)
	sp, err := newStepper(backend, newContext(cfg, vocab), newModel(cfg, vocab))
	if err != nil {
		t.Fatal(err)
	}
	s1, w1, _ := sp.evalLoss(weighted)
	s2, w2, _ := sp.evalLoss(flat)
	if w1 <= w2 || math.Abs(s1/w1-s2/w2) < 1e-4 {
		t.Fatalf("term weights had no effect: Σw %v vs %v, loss %v vs %v", w1, w2, s1/w1, s2/w2)
	}
	_ = shards.TaskCaption
}

// A long instruction must not push the response out of the context: the
// instruction text is shortened instead, so the batch still carries
// weighted response tokens (else the step trains on nothing and logs a
// loss of 0).
func TestEncodeKeepsResponseWithinContext(t *testing.T) {
	cfg := tinyConfig(t, 1)
	tok := testTokenizer(t)
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(nil)}
	smp := testSamples(1)[0]
	smp.Instruction = strings.Repeat("Describe every finding of the image in detail. ", 20)
	smp.Response = "Small pleural effusion."
	s := enc.encode(&smp)
	if len(s.tokens) > cfg.Context+1 {
		t.Fatalf("%d tokens for a context of %d", len(s.tokens), cfg.Context)
	}
	resp, _ := tok.Encode(smp.Response)
	bt := enc.hostBatch([]*seq{s})
	w := tensors.MustCopyFlatData[float32](bt.Weights)
	n := 0
	for _, x := range w {
		if x > 0 {
			n++
		}
	}
	if n != len(resp)+1 { // response tokens and </s>
		t.Fatalf("%d weighted targets, want %d (the whole response and </s>)", n, len(resp)+1)
	}
	if len(s.images) != 1 || s.tokens[1] != int32(tok.ImageID) || s.tokens[2+cfg.Latents] != int32(tok.ImageEndID) {
		t.Fatal("the image block was cut")
	}
}
