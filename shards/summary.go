package shards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
)

// ImageSummary is an Image without its voxel bytes, for `shards head`.
type ImageSummary struct {
	Modality     string            `json:"modality"`
	Plane        string            `json:"plane"`
	DType        DType             `json:"dtype"`
	Shape        [4]int            `json:"shape"` // channels, depth, height, width
	VoxelBytes   int               `json:"voxel_bytes"`
	VoxelSHA256  string            `json:"voxel_sha256"`
	Spacing      [3]float64        `json:"spacing"`
	Affine       [16]float64       `json:"affine"`
	Transforms   []Transform       `json:"transforms"`
	SourcePath   string            `json:"source_path"`
	SourceSHA256 string            `json:"source_sha256"`
	Meta         map[string]string `json:"meta,omitempty"`
}

// SampleSummary is a Sample without voxel bytes: what `shards head
// --json` prints, one object per line.
type SampleSummary struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Task        string            `json:"task"`
	Group       string            `json:"group"`
	Split       string            `json:"split"`
	License     string            `json:"license"`
	Instruction string            `json:"instruction"`
	Response    string            `json:"response"`
	Placements  []Placement       `json:"placements"`
	Images      []ImageSummary    `json:"images"`
	Meta        map[string]string `json:"meta,omitempty"`
}

// Summarize describes s without its voxels (their SHA-256 instead).
func Summarize(s *Sample) SampleSummary {
	out := SampleSummary{ID: s.ID, Source: s.Source, Task: s.Task, Group: s.Group, Split: s.Split,
		License: s.License, Instruction: s.Instruction, Response: s.Response,
		Placements: append([]Placement{}, s.Placements...), Images: []ImageSummary{}, Meta: s.Meta}
	for k := range s.Images {
		im := &s.Images[k]
		sum := sha256.Sum256(im.Voxels)
		out.Images = append(out.Images, ImageSummary{
			Modality: im.Modality, Plane: im.Plane, DType: im.DType,
			Shape:      [4]int{im.Channels, im.Depth, im.Height, im.Width},
			VoxelBytes: len(im.Voxels), VoxelSHA256: hex.EncodeToString(sum[:]),
			Spacing: im.Spacing, Affine: im.Affine, Transforms: append([]Transform{}, im.Transforms...),
			SourcePath: im.SourcePath, SourceSHA256: im.SourceSHA256, Meta: im.Meta,
		})
	}
	return out
}

// FindSample scans the manifest's Arrow parts for the sample with id and
// returns it with its voxels copied onto the heap (the shard is closed).
func (m *Manifest) FindSample(ctx context.Context, id string) (Sample, error) {
	for _, path := range m.ArrowPaths() {
		if err := ctx.Err(); err != nil {
			return Sample{}, err
		}
		sh, err := OpenShard(path)
		if err != nil {
			return Sample{}, err
		}
		for i := 0; i < sh.Len(); i++ {
			got, err := sh.ID(i)
			if err != nil {
				sh.Close()
				return Sample{}, err
			}
			if got != id {
				continue
			}
			s, err := sh.Sample(i)
			if err == nil {
				for k := range s.Images {
					s.Images[k].Voxels = append([]byte(nil), s.Images[k].Voxels...)
				}
			}
			sh.Close()
			return s, err
		}
		sh.Close()
	}
	return Sample{}, fmt.Errorf("manifest %s: no sample with id %q", m.Dir(), id)
}

// WriteListing prints one line per part: shard, part file, samples, bytes.
func (m *Manifest) WriteListing(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHARD\tFILE\tSAMPLES\tARROW BYTES\tPARQUET BYTES")
	for _, s := range m.Shards {
		for _, p := range s.Parts {
			pq := "-" // ParquetNone
			if p.Parquet != nil {
				pq = strconv.FormatInt(p.Parquet.Bytes, 10)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Name, p.Arrow.File, p.Samples, p.Arrow.Bytes, pq)
		}
	}
	return tw.Flush()
}

// WriteStats prints totals and the per-source and per-task counts.
func (m *Manifest) WriteStats(w io.Writer) error {
	fmt.Fprintf(w, "pipeline %s  config %s  schema v%d  parquet %s\n", m.Pipeline, m.ConfigHash, m.SchemaVersion, m.ParquetLayout())
	parts := 0
	for _, s := range m.Shards {
		parts += len(s.Parts)
	}
	fmt.Fprintf(w, "%d shards (%d parts), %d samples, %d images, %d bytes\n", len(m.Shards), parts, m.Samples, m.Images, m.Bytes)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nSOURCE\tSAMPLES")
	for _, k := range slices.Sorted(maps.Keys(m.Sources)) {
		fmt.Fprintf(tw, "%s\t%d\n", k, m.Sources[k])
	}
	fmt.Fprintln(tw, "\nTASK\tSAMPLES")
	for _, k := range slices.Sorted(maps.Keys(m.Tasks)) {
		fmt.Fprintf(tw, "%s\t%d\n", k, m.Tasks[k])
	}
	return tw.Flush()
}
