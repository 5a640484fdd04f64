package dicom

import (
	"context"
	"os"
	"testing"
)

// BenchmarkAssemble times Scan + ReadSeries of a 512×512×40 CT series.
func BenchmarkAssemble(b *testing.B) {
	tmpl, err := os.ReadFile("testdata/octave_CT-MONO2-16-ankle.dcm")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	const n = 200
	if err := WriteSynthSeries(dir, tmpl, SynthOptions{Slices: n, SeriesUID: "1.2.3.4"}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(512 * 512 * 2 * n)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		res, err := Scan(context.Background(), []string{dir}, ScanOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ReadSeries(context.Background(), res.Series[0], ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
