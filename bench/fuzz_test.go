package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/normalize"
)

func FuzzTokenize13a(f *testing.F) {
	var pairs []pair
	readJSON(f, "testdata/golden/report_pairs.json", &pairs)
	for _, p := range pairs {
		f.Add(p.Reference)
	}
	f.Add("a &amp; b-\nc <skipped> 1,000.5 x-1")
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokenize13a(s) {
			if tok == "" || strings.IndexFunc(tok, isPySpace) >= 0 {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		_, _, fs := RougeL(s, s)
		if len(normalize.Words(s)) > 0 && fs != 1 {
			t.Fatalf("ROUGE-L of %q with itself = %v", s, fs)
		}
	})
}

func FuzzReadPredictions(f *testing.F) {
	f.Add([]byte(`{"id": "a", "prediction": "yes"}` + "\n" + `{"id": "b", "prediction": ""}`))
	f.Add([]byte(`{"id": 1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "p.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		preds, err := ReadPredictions(p)
		if err != nil {
			if !strings.Contains(err.Error(), "p.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for id := range preds {
			if id == "" {
				t.Fatal("empty id accepted")
			}
		}
	})
}
