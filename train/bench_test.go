package train

import "testing"

// BenchmarkTinyStep times one optimizer step of the tiny preset (batch 4,
// context 64, one image per sample) on the test backend; the goal is
// well under a second on 2 cores.
func BenchmarkTinyStep(b *testing.B) {
	backend := testBackend(b)
	cfg := tinyConfig(b, 1)
	tok := testTokenizer(b)
	vocab := tok.VocabSize()
	enc := &encoder{cfg: cfg, tok: tok, terms: newTermMatcher(nil)}
	smps := testSamples(cfg.Batch)
	seqs := make([]*seq, len(smps))
	for i := range smps {
		seqs[i] = enc.encode(&smps[i])
	}
	bt := enc.hostBatch(seqs)
	sp, err := newStepper(backend, newContext(cfg, vocab), newModel(cfg, vocab))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, _, err := sp.trainStep([]*batchTensors{bt}, 1e-3, 1); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, _, err := sp.trainStep([]*batchTensors{bt}, 1e-3, i+2); err != nil {
			b.Fatal(err)
		}
	}
}
