package bench_test

import (
	"fmt"

	"github.com/medmd/medmd/bench"
)

func ExampleCorpusBLEU() {
	refs := []string{"Small left pleural effusion. No pneumothorax."}
	hyps := []string{"Small left pleural effusion, no pneumothorax."}
	b := bench.CorpusBLEU(hyps, refs)
	// Case-sensitive like sacrebleu: "no" ≠ "No". nltk gives 0.75 and 0.4111.
	fmt.Printf("BLEU-1 %.3f BLEU-4 %.3f\n", b[0], b[3])
	fmt.Println(bench.Tokenize13a(hyps[0]))
	// Output:
	// BLEU-1 0.750 BLEU-4 0.411
	// [Small left pleural effusion , no pneumothorax .]
}

func ExampleAnswerMatch() {
	fmt.Println(bench.AnswerMatch("Yes, there is.", "yes"))
	fmt.Println(bench.AnswerMatch("The left lung", "left lung"))
	fmt.Println(bench.AnswerMatch("no", "yes"))
	// Output:
	// true
	// true
	// false
}
