package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// classErr is a read error that names its class, as a dataset's
// unsupported-transfer-syntax error does.
type classErr struct{ class string }

func (e classErr) Error() string           { return "cannot decode: " + e.class }
func (e classErr) QuarantineClass() string { return e.class }

// classSource fails units 1 and 2 with one class, unit 3 with another and
// unit 4 with an unclassed error.
type classSource struct{ synthSource }

func (s *classSource) Read(ctx context.Context, u Unit) ([]shards.Sample, error) {
	switch u.ID {
	case "u001", "u002":
		return nil, fmt.Errorf("x.dicom:2: image: %w", classErr{"unsupported transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000 Image Compression (Lossless Only))"})
	case "u003":
		return nil, fmt.Errorf("y: %w", classErr{"unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)"})
	case "u004":
		return nil, fmt.Errorf("z: truncated")
	}
	return s.synthSource.Read(ctx, u)
}

// TestQuarantineClassCounts: the summary counts quarantined units by the
// class their errors name, beside the total.
func TestQuarantineClassCounts(t *testing.T) {
	dir := t.TempDir()
	src := &classSource{synthSource{units: 16}}
	plan := testPlan(t, dir, &src.synthSource)
	sum, err := Run(context.Background(), plan, src, nil, RunOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"unsupported transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000 Image Compression (Lossless Only))": 2,
		"unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)":            1,
	}
	for _, c := range []Counts{sum.Counts, sum.Corpus} {
		// u007 and u013 (synthSource's broken units) fail unclassed too.
		if c.FailedUnits != 6 || fmt.Sprint(c.FailedBy) != fmt.Sprint(want) {
			t.Errorf("failed %d by %v, want 6 by %v", c.FailedUnits, c.FailedBy, want)
		}
	}
	line := sum.Counts.String()
	if !strings.Contains(line, "(6 quarantined [unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)=1 unsupported transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000 Image Compression (Lossless Only))=2])") {
		t.Errorf("summary %q", line)
	}
	if QuarantineClass(fmt.Errorf("plain")) != "" {
		t.Error("an unclassed error has a class")
	}
}
