package tokenizer

import (
	"fmt"
	"testing"
)

// BenchmarkTrain trains a 2,000-token vocabulary on 5,000 report-like
// sentences.
func BenchmarkTrain(b *testing.B) {
	var texts []string
	for i := 0; i < 5000; i++ {
		texts = append(texts, fmt.Sprintf("%s Finding %d of series %d, slice %d.", corpus[i%len(corpus)], i%97, i%13, i))
	}
	for i := 0; i < b.N; i++ {
		if _, err := Train(texts, 2000); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	tok, _ := Train(corpus, 400)
	text := corpus[0] + " " + corpus[2] + " " + corpus[3]
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		tok.cache = nil
		tok.Encode(text)
	}
}
