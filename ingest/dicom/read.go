package dicom

import (
	"context"
	"errors"
	"fmt"

	"github.com/medmd/medmd/shards"
)

// ErrNoSeries is wrapped by ReadImages' error when an input holds no
// series with decodable pixels (only non-DICOM files, reports, localizers
// left out by ScanOptions, unsupported transfer syntaxes).
var ErrNoSeries = errors.New("dicom: no series with pixels")

// ImagesOptions control ReadImages.
type ImagesOptions struct {
	Scan ScanOptions
	Read ReadOptions
	// Only picks the series to decode by their index in scan order; the
	// others are listed without images, so a caller that wants one series
	// of a study reads only its pixels. Nil decodes every series. It is
	// called more than once per series, so it must not have side effects.
	Only func(i int, s *Series) bool
}

// Images is what ReadImages found in one input.
type Images struct {
	// Series lists every assembled series in scan order. Volumes[i] holds
	// Series[i]'s images, one per volume (several for a 4D series), or nil
	// where Only left the series out. Each image owns its voxels.
	Series  []*Series
	Volumes [][]*shards.Image
	// Skipped lists the inputs that made no volume, and why; Files counts
	// every file looked at.
	Skipped []Skipped
	Files   int
}

// ReadImages reads a DICOM file, a folder of them (searched recursively)
// or a .zip/.tar(.gz) archive into assembled volumes: Scan, then ReadSeries
// for each series Only picks, as nifti.ReadFile does for a NIfTI file. An
// input without any series is an error wrapping ErrNoSeries that names the
// first skipped file and why; a series that fails to decode is an error
// naming the series. It stops when ctx is done.
func ReadImages(ctx context.Context, path string, o ImagesOptions) (*Images, error) {
	res, err := Scan(ctx, []string{path}, o.Scan)
	if err != nil {
		return nil, err
	}
	if len(res.Series) == 0 {
		msg := fmt.Sprintf("%d files", res.Files)
		if len(res.Skipped) > 0 {
			sk := res.Skipped[0]
			msg += fmt.Sprintf(", e.g. %s: %s", sk.Ref, sk.Reason)
		}
		return nil, fmt.Errorf("%s: %w among %s", path, ErrNoSeries, msg)
	}
	out := &Images{Series: res.Series, Volumes: make([][]*shards.Image, len(res.Series)), Skipped: res.Skipped, Files: res.Files}
	// Series of one gzipped tar are read from one inflated copy, as in a
	// run (Source.readLocal), not each by inflating the archive again.
	rd := &Source{read: o.Read, seriesIn: map[string]int{}}
	defer rd.Close()
	for i, se := range res.Series {
		if o.Only == nil || o.Only(i, se) {
			rd.countArchives(se)
		}
	}
	for i, se := range res.Series {
		if o.Only != nil && !o.Only(i, se) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if out.Volumes[i], err = rd.readLocal(ctx, se); err != nil {
			return nil, fmt.Errorf("%s: series %s: %w", path, se.ID, err)
		}
	}
	return out, nil
}
