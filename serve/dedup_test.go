package serve

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/medmd/medmd/bench/benchtest"
	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// TestNearDuplicates checks the sample page's near-duplicate links in a
// corpus without a RadMD report: from the index's dHashes and text hashes
// alone, across served corpora.
func TestNearDuplicates(t *testing.T) {
	orig := benchtest.Phantom(4, 64, 64, 0.3, 0.35, 0.12, 0, 0, 1)
	// Re-exported: brighter and noisy, the same picture.
	copyOf := benchtest.Phantom(4, 64, 64, 0.3, 0.35, 0.12, 150, 4, 2)
	other := benchtest.Phantom(4, 64, 64, 0.75, 0.7, 0.08, 0, 0, 3)
	ho, _ := radfilter.DHash(&orig)
	hc, _ := radfilter.DHash(&copyOf)
	hx, _ := radfilter.DHash(&other)
	if d := radfilter.Hamming(ho, hc); d > dupThreshold {
		t.Fatalf("fixture: the copy is %d bits away, want ≤ %d", d, dupThreshold)
	}
	if d := radfilter.Hamming(ho, hx); d <= dupThreshold {
		t.Fatalf("fixture: the other image is %d bits away, want > %d", d, dupThreshold)
	}
	caption := "Axial CT of the chest: a round nodule in the right lower lobe, no effusion."
	mk := func(id, instr, resp string, ims ...shards.Image) shards.Sample {
		return shards.Sample{ID: id, Source: "pmc-oa", Task: shards.TaskCaption, License: "CC-BY-4.0", Instruction: instr, Response: resp, Images: ims}
	}
	a := []shards.Sample{
		mk("orig", "Caption the figure.", caption, orig),
		mk("copy", "Caption the figure.", "Re-exported figure with another caption entirely.", copyOf),
		mk("same-text", "Caption the figure.", "  "+strings.ToUpper(caption)+"\n", other),
		mk("short-1", "Is there a fracture?", "No", other),
		mk("short-2", "Is there a fracture?", "No", xray(32, 32)),
		mk("text-only", "", "A text without any image, long enough to be compared."),
		mk("text-only-2", "", "A text without any image,\nlong enough to be compared."),
	}
	// A second corpus holding a near copy and the original itself (the
	// same id: the sample, not a duplicate).
	b := []shards.Sample{
		mk("elsewhere", "Describe.", "Another copy of the same image in a second corpus.", copyOf),
		mk("orig", "Caption the figure.", caption, orig),
	}
	tmp := t.TempDir()
	var ms []string
	for name, ss := range map[string][]shards.Sample{"one": a, "two": b} {
		dir := filepath.Join(tmp, name)
		if _, err := shards.WriteCorpus(dir, "test", "0", shards.SamplesOf(ss), shards.WriteOptions{Parquet: shards.ParquetNone}); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, filepath.Join(dir, shards.ManifestFile))
	}
	s := newServer(t, "", ms...)
	for _, tc := range []struct {
		target        string
		want, notWant []string
	}{
		{"/samples/orig?corpus=one", []string{`href="/samples/copy?corpus=one"`, `href="/samples/same-text?corpus=one"`, `href="/samples/elsewhere?corpus=two"`, "same text"},
			[]string{`href="/samples/orig?corpus=two"`, "short-1", "other"}},
		{"/samples/copy?corpus=one", []string{`href="/samples/orig?corpus=one"`, `href="/samples/orig?corpus=two"`, `href="/samples/elsewhere?corpus=two"`}, []string{"same-text"}},
		{"/samples/short-1?corpus=one", []string{`href="/samples/same-text?corpus=one"`}, []string{"short-2", `href="/samples/orig`}},
		{"/samples/short-2?corpus=one", nil, []string{"href"}},
		{"/samples/text-only?corpus=one", []string{`href="/samples/text-only-2?corpus=one"`, "same text"}, nil},
	} {
		rec := get(t, s, tc.target)
		if rec.Code != 200 {
			t.Fatalf("%s: %d", tc.target, rec.Code)
		}
		// Only the near-duplicate list: the page links the same id in
		// another corpus elsewhere ("also in").
		body := rec.Body.String()
		if at := strings.Index(body, `<ul id="near-dups">`); at >= 0 {
			body = body[at : at+strings.Index(body[at:], "</ul>")]
		} else {
			body = ""
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in the page", tc.target, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(body, w) {
				t.Errorf("%s: %q in the page", tc.target, w)
			}
		}
	}
}

func TestTextHash(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"a round nodule", "  a  round\nnodule \t", true},
		{"a round nodule", "a roundnodule", false},
		{"a round nodule", "a round nodules", false},
		{"", " ", true},
	} {
		if got := textHash([]byte(tc.a)) == textHash([]byte(tc.b)); got != tc.same {
			t.Errorf("textHash(%q) == textHash(%q): %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	if textHash(nil) == 0 {
		t.Error("textHash must not return 0, which means no hash")
	}
}
