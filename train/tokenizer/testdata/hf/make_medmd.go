//go:build ignore

// make_medmd trains medmd's byte-level BPE (tokenizer.Train, 1000 tokens)
// on corpus.jsonl and saves it as medmd.json, the third tokenizer whose ids
// make_reference.js records. Run from this folder: go run make_medmd.go
package main

import (
	"bufio"
	"encoding/json"
	"log"
	"os"

	"github.com/medmd/medmd/train/tokenizer"
)

func main() {
	f, err := os.Open("corpus.jsonl")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var s string
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			log.Fatal(err)
		}
		texts = append(texts, s)
	}
	tok, err := tokenizer.Train(texts, 1000)
	if err != nil {
		log.Fatal(err)
	}
	if err := tok.Save("medmd.json"); err != nil {
		log.Fatal(err)
	}
}
