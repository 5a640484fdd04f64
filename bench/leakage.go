package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/medmd/medmd/normalize/radfilter"
	"github.com/medmd/medmd/shards"
)

// LeakExample is one leaking training sample.
type LeakExample struct {
	TrainID string `json:"train_id"`
	Reason  string `json:"reason"`
	TestID  string `json:"test_id"`
	Image   int    `json:"image"`
	Dist    int    `json:"dhash_distance,omitempty"`
}

// LeakReport is what CheckLeakage found.
type LeakReport struct {
	Train        string   `json:"train"`
	Test         []string `json:"test"`
	TrainSamples int      `json:"train_samples"`
	TestSamples  int      `json:"test_samples"`
	Threshold    int      `json:"hamming_threshold"`
	// SharedGroups is the number of distinct groups in both; Images and
	// NearImages count training images identical / near to a test image.
	SharedGroups int `json:"shared_groups"`
	Images       int `json:"identical_images"`
	NearImages   int `json:"near_duplicate_images"`
	// LeakingSamples counts training samples with at least one leak.
	LeakingSamples int           `json:"leaking_samples"`
	Examples       []LeakExample `json:"examples"`
}

// Total is the number of leaks of all kinds.
func (r *LeakReport) Total() int { return r.SharedGroups + r.Images + r.NearImages }

// LeakError is returned by the CLI when leaks were found; it makes the
// process exit with status 2 after printing the report.
type LeakError struct{ Report *LeakReport }

func (e *LeakError) Error() string {
	return fmt.Sprintf("leakage: %d shared groups, %d identical images, %d near-duplicate images between %s and %s",
		e.Report.SharedGroups, e.Report.Images, e.Report.NearImages, e.Report.Train, strings.Join(e.Report.Test, ", "))
}

// ExitCode implements the CLI's exitCoder.
func (e *LeakError) ExitCode() int { return 2 }

// CheckLeakage indexes every sample of the test manifests, then reports
// every training sample that shares a group, an identical image or a
// near-duplicate image (dHash within threshold bits) with them. At most
// maxExamples examples are kept (all counts are exact).
func CheckLeakage(ctx context.Context, train string, tests []string, threshold, maxExamples int) (*LeakReport, error) {
	rep := &LeakReport{Train: train, Test: tests, Threshold: threshold, Examples: []LeakExample{}}
	li := radfilter.NewLeakIndex(threshold)
	for _, path := range tests {
		m, err := shards.ReadManifest(path)
		if err != nil {
			return nil, err
		}
		for s, err := range m.Iter(ctx) {
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			li.Add(&s, radfilter.FingerprintOf(&s))
			rep.TestSamples++
		}
	}
	m, err := shards.ReadManifest(train)
	if err != nil {
		return nil, err
	}
	groups := map[string]bool{}
	for s, err := range m.Iter(ctx) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", train, err)
		}
		rep.TrainSamples++
		leaks := li.Leaks(&s, radfilter.FingerprintOf(&s))
		if len(leaks) > 0 {
			rep.LeakingSamples++
		}
		for _, l := range leaks {
			switch l.Reason {
			case radfilter.ReasonLeakGroup:
				groups[s.Group] = true
			case radfilter.ReasonLeakImage:
				rep.Images++
			case radfilter.ReasonLeakNearImage:
				rep.NearImages++
			}
			if len(rep.Examples) < maxExamples {
				rep.Examples = append(rep.Examples, LeakExample{TrainID: s.ID, Reason: l.Reason, TestID: l.TestID, Image: l.Image, Dist: l.Dist})
			}
		}
	}
	rep.SharedGroups = len(groups)
	return rep, nil
}

// Markdown renders the report as a short table plus examples.
func (r *LeakReport) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# RadBench leakage check\n\ntrain %s (%d samples) against test %s (%d samples), dHash threshold %d\n\n",
		r.Train, r.TrainSamples, strings.Join(r.Test, ", "), r.TestSamples, r.Threshold)
	sb.WriteString("| leak | count |\n|---|---:|\n")
	fmt.Fprintf(&sb, "| shared groups | %d |\n| identical images | %d |\n| near-duplicate images | %d |\n| leaking training samples | %d |\n",
		r.SharedGroups, r.Images, r.NearImages, r.LeakingSamples)
	if len(r.Examples) > 0 {
		ex := append([]LeakExample(nil), r.Examples...)
		sort.SliceStable(ex, func(i, j int) bool { return ex[i].Reason < ex[j].Reason })
		sb.WriteString("\n| train id | reason | test id | image |\n|---|---|---|---:|\n")
		for _, e := range ex {
			fmt.Fprintf(&sb, "| %s | %s | %s | %d |\n", e.TrainID, e.Reason, e.TestID, e.Image)
		}
	}
	return sb.String()
}
