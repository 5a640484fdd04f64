package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestOutputParquet covers output.parquet and output.parquet_compression:
// defaults, accepted values, lint problems with positions and
// suggestions, and their effect on the config hash.
func TestOutputParquet(t *testing.T) {
	for _, tc := range []struct {
		name, output string
		layout       shards.ParquetLayout
		compression  shards.ParquetCompression
		wantErr      string
	}{
		{"defaults", `{}`, shards.ParquetMetadata, "zstd", ""},
		{"full lz4", `{parquet: full, parquet_compression: lz4}`, shards.ParquetFull, "lz4", ""},
		{"none", `{parquet: none}`, shards.ParquetNone, "zstd", ""},
		{"zstd-fast", `{parquet_compression: zstd-fast}`, shards.ParquetMetadata, "zstd-fast", ""},
		{"typo layout", `{parquet: metdata}`, "", "", `p.yaml:5:23: pipeline "a": parquet: unknown value "metdata" (want one of metadata, full, none) (did you mean "metadata"?)`},
		{"unknown codec", `{parquet_compression: brotli}`, "", "", `parquet_compression: unknown value "brotli" (want one of zstd, zstd-fast, lz4, snappy, none)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("p.yaml", []byte(`
pipelines:
  - name: a
    source: {type: lint-test, paths: [x]}
    output: `+tc.output+`
`))
			if tc.wantErr != "" {
				var le *LintError
				if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want a LintError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := cfg.Pipelines[0].Output
			if o.Parquet != tc.layout || o.ParquetCompression != tc.compression {
				t.Fatalf("output = %+v", o)
			}
		})
	}
	cfg, err := ParseConfig("p.yaml", []byte("pipelines:\n  - {name: a, source: {type: lint-test, paths: [x]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pipelines[0]
	h := p.Hash()
	p.Output.Parquet = shards.ParquetFull
	if p.Hash() == h {
		t.Error("output.parquet must change the config hash")
	}
	p.Output.Parquet, p.Output.ParquetCompression = shards.ParquetMetadata, "lz4"
	if p.Hash() == h {
		t.Error("output.parquet_compression must change the config hash")
	}
}
