package radfilter

import (
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

func FuzzClassifyCaption(f *testing.F) {
	for _, file := range []string{"testdata/captions.jsonl", "testdata/captions_holdout.jsonl"} {
		for _, l := range readCaptions(f, file) {
			f.Add(l.Text)
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		v := ClassifyCaption(text)
		if v.Radiology != (v.Category == CategoryRadiology) || v.Cue == "" {
			t.Fatalf("inconsistent verdict %+v", v)
		}
	})
}

func FuzzParseRules(f *testing.F) {
	b, err := os.ReadFile("../../radmd-rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("dedup:\n  hamming_threshold: 300\n"))
	f.Add([]byte("text: [1, 2"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := NewFilter(r, nil); err != nil {
			t.Fatalf("parsed rules do not compile: %v", err)
		}
	})
}

func FuzzDHash(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, uint8(1), uint8(2), uint8(2), "uint8")
	f.Add(make([]byte, 64), uint8(2), uint8(4), uint8(4), "float32")
	f.Fuzz(func(t *testing.T, vox []byte, d, h, w uint8, dt string) {
		im := shards.Image{DType: shards.DType(dt), Channels: 1, Depth: int(d), Height: int(h), Width: int(w), Voxels: vox}
		h1, err := DHash(&im)
		if err != nil {
			return
		}
		if h2, _ := DHash(&im); h1 != h2 {
			t.Fatal("not deterministic")
		}
	})
}
