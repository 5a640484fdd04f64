package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/medmd/medmd/shards"
)

// benchSamples is the synthetic corpus size; MEDMD_SERVE_BENCH_SAMPLES
// raises it (the goal is stated for 1,000,000 samples, which `medmd perf
// serve` measures with the index's memory).
func benchSamples() int {
	if n, err := strconv.Atoi(os.Getenv("MEDMD_SERVE_BENCH_SAMPLES")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// synthCorpus writes n small samples (text of ~200 bytes, one 8×8 image)
// and one 256×256×64 int16 volume, and returns the manifest path.
func synthCorpus(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "synth")
	tiny := xray(8, 8)
	vol := ctVolume(256, 256, 64)
	seq := func(yield func(*shards.Sample) bool) {
		for i := 0; i < n; i++ {
			s := shards.Sample{ID: fmt.Sprintf("synth-%08d", i), Source: []string{"pmc-oa", "dicom", "vqa-rad"}[i%3],
				Task: []string{"caption", "report", "vqa"}[i%3], Group: strconv.Itoa(i / 4), License: "CC-BY-4.0",
				Instruction: "Describe the image.", Response: fmt.Sprintf("Finding %d: a small opacity in the left lower lobe, no effusion, heart size normal, sample %d of the synthetic corpus.", i%97, i),
				Images: []shards.Image{tiny}}
			if i == 0 {
				s.Images = []shards.Image{vol}
			}
			if !yield(&s) {
				return
			}
		}
	}
	if _, err := shards.WriteCorpus(dir, "bench", "0", seq, shards.WriteOptions{Parquet: shards.ParquetNone}); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, shards.ManifestFile)
}

// BenchmarkServe measures the index build rate (samples/s), a filtered
// list page and a slice PNG of a 256×256×64 volume on a synthetic corpus.
func BenchmarkServe(b *testing.B) {
	n := benchSamples()
	path := synthCorpus(b, n)
	m, err := shards.ReadManifest(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("IndexBuild/samples=%d", n), func(b *testing.B) {
		for b.Loop() {
			if _, err := BuildIndex(b.Context(), m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	s, err := New(b.Context(), []string{path}, Options{Logger: quietLog()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	serve := func(b *testing.B, target string) {
		for b.Loop() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != 200 {
				b.Fatalf("%s: %d", target, rec.Code)
			}
		}
	}
	b.Run(fmt.Sprintf("ListPage/filtered/samples=%d", n), func(b *testing.B) {
		serve(b, "/samples?q=opacity+in+the+left&source=dicom&page=3")
	})
	b.Run(fmt.Sprintf("SamplePage/samples=%d", n), func(b *testing.B) {
		// Its near-duplicate links scan every image hash of the index.
		serve(b, fmt.Sprintf("/samples/synth-%08d", n/2))
	})
	b.Run("SlicePNG/256x256x64", func(b *testing.B) {
		// Distinct slices so the PNG cache does not answer.
		i := 0
		for b.Loop() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/samples/synth-00000000/images/0.png?slice=%d&window=soft", i%64), nil))
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body)
			}
			i++
			if i%64 == 0 {
				s.images.reset()
			}
		}
	})
}
