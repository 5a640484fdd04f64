package shards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// WriteStatsJSON prints the corpus totals and the per-source and per-task
// counts as one JSON object (`medmd shards stats --json`).
func (m *Manifest) WriteStatsJSON(w io.Writer) error {
	return json.NewEncoder(w).Encode(map[string]any{
		"pipeline": m.Pipeline, "config_hash": m.ConfigHash, "schema_version": m.SchemaVersion, "parquet": m.ParquetLayout(),
		"shards": len(m.Shards), "samples": m.Samples, "images": m.Images, "bytes": m.Bytes,
		"sources": m.Sources, "tasks": m.Tasks,
	})
}

// HeadOptions say how many samples WriteHead prints, and how.
type HeadOptions struct {
	N    int  // samples to print; negative prints all
	JSON bool // one SampleSummary JSON object per line instead of text
}

// WriteHead prints the first samples of the corpus without their voxel
// bytes (`medmd shards head`): an id line and one line per image, with the
// instruction and response clipped to 160 runes, or with o.JSON the whole
// SampleSummary.
func (m *Manifest) WriteHead(ctx context.Context, w io.Writer, o HeadOptions) error {
	n := 0
	enc := json.NewEncoder(w)
	for s, err := range m.Iter(ctx) {
		if err != nil {
			return err
		}
		if o.N >= 0 && n >= o.N {
			break
		}
		n++
		sum := Summarize(&s)
		if o.JSON {
			if err := enc.Encode(sum); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s  %s/%s  group=%s split=%s\n", sum.ID, sum.Source, sum.Task, sum.Group, sum.Split)
		for k, im := range sum.Images {
			fmt.Fprintf(w, "  image %d: %s %s %s %v sha256=%.16s…\n", k, im.Modality, im.Plane, im.DType, im.Shape, im.VoxelSHA256)
		}
		if sum.Instruction != "" {
			fmt.Fprintf(w, "  instruction: %q\n", clip(sum.Instruction, 160))
		}
		if sum.Response != "" {
			fmt.Fprintf(w, "  response:    %q\n", clip(sum.Response, 160))
		}
	}
	return nil
}

// clip shortens s to at most n runes for terminal output.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// WriteVerify re-hashes every file of the corpus (`medmd shards verify`; name
// is how the user gave it). It prints each problem on its own line and
// returns one error saying how many and how to repair, which errors.Is
// and errors.As see through to each problem (e.g. ErrChecksum); or it
// prints one ok line and returns nil.
func (m *Manifest) WriteVerify(w io.Writer, name string) error {
	return m.WriteProblems(w, name, m.Problems())
}

// WriteProblems prints problems found in m's files as WriteVerify does:
// for a caller that checks the files itself (a corpus in a bucket,
// fetched and checked a shard at a time).
func (m *Manifest) WriteProblems(w io.Writer, name string, probs []error) error {
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(w, p)
		}
		return &problemsError{probs: probs, msg: fmt.Sprintf("verify %s: %d problem(s) in %d shards; to repair, rerun the pipeline that built it: medmd run %s (same -f and --task/--tasks; damaged shards are rebuilt, or add --rebuild to rebuild all)",
			name, len(probs), len(m.Shards), m.Pipeline)}
	}
	fmt.Fprintf(w, "ok: %d shards, %d files, %d samples verified (parquet: %s)\n", len(m.Shards), len(m.Files()), m.Samples, m.ParquetLayout())
	return nil
}

// problemsError is one line for the user about problems listed already,
// which errors.Is and errors.As still reach.
type problemsError struct {
	msg   string
	probs []error
}

func (e *problemsError) Error() string   { return e.msg }
func (e *problemsError) Unwrap() []error { return e.probs }
