package radmd

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medmd/medmd/shards"
)

// Exclusion is one row of the exclusion report.
type Exclusion struct {
	ID, Source, Task, Reason, Detail, KeptID string
}

// exclusionSchema is the Parquet schema of exclusions.parquet. kept_id is
// null unless the drop points at another sample (duplicates, leaks).
var exclusionSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "task", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: arrow.BinaryTypes.String},
	{Name: "detail", Type: arrow.BinaryTypes.String},
	{Name: "kept_id", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// WriteExclusions writes rows as a zstd Parquet file (the same arrow-go
// pqarrow writer and settings family the shards use), published
// atomically (shards.Publish).
func WriteExclusions(path string, rows []Exclusion) (err error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, exclusionSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(r.Source)
		b.Field(2).(*array.StringBuilder).Append(r.Task)
		b.Field(3).(*array.StringBuilder).Append(r.Reason)
		b.Field(4).(*array.StringBuilder).Append(r.Detail)
		if r.KeptID == "" {
			b.Field(5).AppendNull()
		} else {
			b.Field(5).(*array.StringBuilder).Append(r.KeptID)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCreatedBy("medmd radmd (arrow-go pqarrow)"),
	)
	err = shards.Publish(nil, path, func(f io.Writer) error {
		w, err := pqarrow.NewFileWriter(exclusionSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			return err
		}
		if err := w.Write(rec); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	})
	if err != nil {
		return fmt.Errorf("exclusion report %s: %w", path, err)
	}
	return nil
}

// SourceCounts is one source's line of the summary.
type SourceCounts struct {
	Input   int            `json:"input"`
	Kept    int            `json:"kept"`
	Dropped map[string]int `json:"dropped"` // reason → samples
}

// Summary counts kept and dropped samples by reason × source.
type Summary struct {
	Input    int                      `json:"input"`
	Kept     int                      `json:"kept"`
	Dropped  int                      `json:"dropped"`
	ByReason map[string]int           `json:"by_reason"`
	BySource map[string]*SourceCounts `json:"by_source"`
	// Rules is the rules file used ("" for the built-in defaults) and
	// TestManifests the RadBench test splits checked for leakage.
	Rules         string   `json:"rules"`
	TestManifests []string `json:"test_manifests"`
	// Overrides lists the curator labels the run honoured (Options.Overrides).
	Overrides *OverrideReport `json:"overrides,omitempty"`
}

func newSummary() *Summary {
	return &Summary{ByReason: map[string]int{}, BySource: map[string]*SourceCounts{}, TestManifests: []string{}}
}

func (s *Summary) add(source, reason string) {
	c := s.BySource[source]
	if c == nil {
		c = &SourceCounts{Dropped: map[string]int{}}
		s.BySource[source] = c
	}
	s.Input++
	c.Input++
	if reason == "" {
		s.Kept++
		c.Kept++
		return
	}
	s.Dropped++
	s.ByReason[reason]++
	c.Dropped[reason]++
}

// JSON returns the summary as indented JSON (map keys sorted by
// encoding/json, so the bytes are deterministic).
func (s *Summary) JSON() []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

// Markdown renders the summary as a table: one row per source (sorted),
// columns input, kept, then one per drop reason that occurred (sorted),
// and a total row.
func (s *Summary) Markdown() string {
	reasons := sortedKeys(s.ByReason)
	sources := make([]string, 0, len(s.BySource))
	for k := range s.BySource {
		sources = append(sources, k)
	}
	sort.Strings(sources)
	var sb strings.Builder
	fmt.Fprintf(&sb, "# RadMD summary\n\n%d samples in, %d kept, %d dropped.\n\n", s.Input, s.Kept, s.Dropped)
	sb.WriteString("| source | input | kept |")
	for _, r := range reasons {
		sb.WriteString(" " + r + " |")
	}
	sb.WriteString("\n|---|---:|---:|")
	for range reasons {
		sb.WriteString("---:|")
	}
	sb.WriteString("\n")
	row := func(name string, c *SourceCounts) {
		fmt.Fprintf(&sb, "| %s | %d | %d |", name, c.Input, c.Kept)
		for _, r := range reasons {
			fmt.Fprintf(&sb, " %d |", c.Dropped[r])
		}
		sb.WriteString("\n")
	}
	for _, src := range sources {
		row(src, s.BySource[src])
	}
	row("**total**", &SourceCounts{Input: s.Input, Kept: s.Kept, Dropped: s.ByReason})
	if s.Overrides != nil {
		s.Overrides.markdown(&sb)
	}
	return sb.String()
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
