package dicom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Slice is one 2D frame of a series as the header scan found it.
type Slice struct {
	Ref   Ref
	Frame int     // frame index within its file
	Hdr   *Header // shared by the frames of one file
	Geom  FrameInfo
	Dist  float64 // position projected on the slice normal
}

// Series is one assembled volume (or a set of 4D volumes) found by Scan.
type Series struct {
	// ID is stable: the SeriesInstanceUID, with a suffix when dcm2niix's
	// rules split the series into several volumes.
	ID  string
	UID string
	// Slices are sorted along the slice normal; for 4D series, volume v
	// is Slices[v*Depth:(v+1)*Depth].
	Slices   []Slice
	Depth    int
	Volumes  int
	Warnings []string
	// SamePosition are the images left out because another image of the
	// series sits at their position (kept: the first by acquisition and
	// instance number), as dcm2niix reports them; Reason names the kept one.
	SamePosition []Skipped
	// Spacing is the voxel size along i, j, k (mm); Affine maps (i,j,k) to
	// RAS mm before canonical reorientation.
	Spacing [3]float64
	Affine  [16]float64
	Normal  [3]float64
	// Mosaic is the tiling of Siemens MOSAIC images (nil otherwise): then
	// each slice record is one file holding a whole volume, and Depth is
	// the number of tiles in it.
	Mosaic *Mosaic
}

// Header returns the first slice's header (series-level attributes).
func (s *Series) Header() *Header { return s.Slices[0].Hdr }

// Refs lists the distinct files of the series in slice order.
func (s *Series) Refs() []Ref {
	seen := map[string]bool{}
	var out []Ref
	for _, sl := range s.Slices {
		k := sl.Ref.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, sl.Ref)
		}
	}
	return out
}

// Bytes estimates the series' input size.
func (s *Series) Bytes() int64 {
	var n int64
	for _, r := range s.Refs() {
		n += r.Size
	}
	return n
}

// ScanOptions control grouping.
type ScanOptions struct {
	// IncludeLocalizers keeps localizer/scout images (excluded by default,
	// as they are not part of the volume).
	IncludeLocalizers bool
	// IncludeDerived keeps derived secondary captures (screenshots,
	// reformats saved as SC).
	IncludeDerived bool
	// MaxVoxels leaves out a file whose header claims more voxels (all
	// frames and samples) before any per-frame record is made; 0 means
	// DefaultMaxVoxels.
	MaxVoxels int64
}

// Skipped is an input that produced no volume, and why.
type Skipped struct {
	Ref    string
	Reason string
	// Kind is "not-dicom", "unsupported", "no-pixels", "excluded" or
	// "error".
	Kind string
}

// ScanResult is the header-only scan of a set of inputs.
type ScanResult struct {
	Series  []*Series
	Skipped []Skipped
	Files   int
}

// Scan reads the header of every input under roots (never the pixel data
// of plain files), groups the images into series following dcm2niix's
// rules and orders their slices. Only compact per-slice records are kept.
func Scan(ctx context.Context, roots []string, o ScanOptions) (*ScanResult, error) {
	return scan(ctx, roots, nil, o)
}

// scanned is a header read outside Scan's walk (an object of an object
// store, read by ranged GETs), or why it could not be read.
type scanned struct {
	ref Ref
	h   *Header
	err error
}

// scan is Scan of roots plus the headers in more, which come after the
// files under roots, in their order.
func scan(ctx context.Context, roots []string, more []scanned, o ScanOptions) (*ScanResult, error) {
	res := &ScanResult{}
	groups := map[string][]Slice{}
	add := func(ref Ref, h *Header, err error) {
		res.Files++
		if err != nil {
			kind := "error"
			if errors.Is(err, errNotDICOM) {
				kind = "not-dicom"
			}
			res.Skipped = append(res.Skipped, Skipped{ref.String(), err.Error(), kind})
			return
		}
		if !h.HasPixels {
			res.Skipped = append(res.Skipped, Skipped{ref.String(), "no pixel data (" + sopName(h.SOPClassUID) + ")", "no-pixels"})
			return
		}
		if err := h.CanDecode(); err != nil {
			kind := "error"
			if errors.Is(err, ErrUnsupportedSyntax) {
				kind = "unsupported"
			}
			res.Skipped = append(res.Skipped, Skipped{ref.String(), err.Error(), kind})
			return
		}
		if why := excluded(h, o); why != "" {
			res.Skipped = append(res.Skipped, Skipped{ref.String(), why, "excluded"})
			return
		}
		limit := o.MaxVoxels
		if limit <= 0 {
			limit = DefaultMaxVoxels
		}
		if n := int64(h.FrameCount()) * int64(h.Rows) * int64(h.Columns) * int64(h.SamplesPerPixel); n > limit {
			res.Skipped = append(res.Skipped, Skipped{ref.String(), fmt.Sprintf("%d frames of %dx%dx%d: %d voxels exceed the limit %d", h.FrameCount(), h.Columns, h.Rows, h.SamplesPerPixel, n, limit), "error"})
			return
		}
		for fr := 0; fr < h.FrameCount(); fr++ {
			sl := Slice{Ref: ref, Frame: fr, Hdr: h, Geom: frameGeom(h, fr)}
			k := groupKey(h, sl.Geom)
			groups[k] = append(groups[k], sl)
		}
	}
	// Plain files are scanned by a worker pool (header reads are small
	// random reads: parallelism hides their latency); archive members are
	// scanned as their archive streams past. Results are merged in input
	// order, so the outcome does not depend on scheduling.
	var plain []Ref
	err := Walk(ctx, roots, func(ref Ref, open func() (io.ReadCloser, error)) error {
		if ref.Member == "" {
			plain = append(plain, ref)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := scanHeader(ref, open)
		add(ref, h, err)
		return nil
	})
	if err != nil {
		return nil, err
	}
	type result struct {
		h   *Header
		err error
	}
	out := make([]result, len(plain), len(plain)+len(more))
	for _, m := range more {
		plain = append(plain, m.ref)
		out = append(out, result{m.h, m.err})
	}
	local := len(plain) - len(more) // the headers still to read
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0)*2, local, 32); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= local || ctx.Err() != nil {
					return
				}
				h, err := scanHeader(plain[i], nil)
				out[i] = result{h, err}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, r := range out {
		add(plain[i], r.h, r.err)
	}
	sort.SliceStable(res.Skipped, func(i, j int) bool { return res.Skipped[i].Ref < res.Skipped[j].Ref })
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	perUID := map[string]int{}
	for _, k := range keys {
		perUID[groups[k][0].Hdr.SeriesInstanceUID]++
	}
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sl := groups[k]
		s := &Series{UID: sl[0].Hdr.SeriesInstanceUID, Slices: sl}
		s.ID = s.UID
		if s.ID == "" {
			s.ID = "nouid"
		}
		if perUID[s.UID] > 1 || s.UID == "" {
			sum := sha256.Sum256([]byte(k))
			s.ID += "_" + hex.EncodeToString(sum[:4])
		}
		s.assemble()
		res.Series = append(res.Series, s)
	}
	sort.Slice(res.Series, func(i, j int) bool { return res.Series[i].ID < res.Series[j].ID })
	return res, nil
}

var errNotDICOM = errors.New("not a DICOM file")

// scanHeader parses one input's header. Plain files are read by prefix
// (pixel data is never read); archive members are read whole.
func scanHeader(ref Ref, open func() (io.ReadCloser, error)) (*Header, error) {
	if ref.Member == "" {
		if why := brokenDICOM(ref.Path); why != "" {
			return nil, &Error{Path: ref.Path, Reason: why}
		}
		if !looksDICOM(ref.Path) {
			return nil, fmt.Errorf("%s: %w", ref.Path, errNotDICOM)
		}
		return ReadHeader(ref.Path)
	}
	data, err := readRef(ref, open, nil)
	if err != nil {
		return nil, err
	}
	if !sniffBytes(ref.Member, data) {
		return nil, fmt.Errorf("%s: %w", ref, errNotDICOM)
	}
	f, err := parseWith(ref.String(), data, true, parseOpts{mode: parseHeader})
	if err != nil {
		return nil, err
	}
	h := f.Header
	return &h, nil
}

// excluded says why an image is left out of volumes by default.
func excluded(h *Header, o ScanOptions) string {
	if !o.IncludeLocalizers {
		for _, t := range h.ImageType {
			if t == "LOCALIZER" || t == "SCOUT" {
				return "localizer (ImageType " + strings.Join(h.ImageType, `\`) + ")"
			}
		}
	}
	if !o.IncludeDerived {
		if strings.HasPrefix(h.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7") {
			return "secondary capture (" + h.SOPClassUID + ")"
		}
		if len(h.ImageType) > 1 && h.ImageType[0] == "DERIVED" && h.ImageType[1] == "SECONDARY" {
			return "derived secondary image (ImageType " + strings.Join(h.ImageType, `\`) + ")"
		}
	}
	return ""
}

func sopName(uid string) string {
	switch {
	case uid == "1.2.840.10008.5.1.4.1.1.481.5":
		return "RT Plan"
	case uid == "1.2.840.10008.5.1.4.1.1.481.3":
		return "RT Structure Set"
	case strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.88."):
		return "Structured Report"
	case uid == "":
		return "no SOP class"
	}
	return "SOP class " + uid
}

// frameGeom is the geometry of frame fr: per-frame functional groups, else
// the classic attributes, with Grid Frame Offset Vector for RT Dose.
func frameGeom(h *Header, fr int) FrameInfo {
	g := h.FrameGeometry(fr)
	if len(h.Frames) == 0 && h.FrameCount() > 1 && g.HasPosition && g.HasOrientation {
		n := normalOf(g.Orientation)
		off := 0.0
		if fr < len(h.FrameOffsets) {
			off = h.FrameOffsets[fr]
		} else {
			// Classic multi-frame with no per-frame geometry: stack
			// frames along the normal at the slice spacing.
			off = float64(fr) * sliceStep(h)
		}
		for a := 0; a < 3; a++ {
			g.Position[a] += off * n[a]
		}
	}
	return g
}

func sliceStep(h *Header) float64 {
	if h.SpacingBetweenSlices > 0 {
		return h.SpacingBetweenSlices
	}
	if h.SliceThickness > 0 {
		return h.SliceThickness
	}
	return 1
}

// groupKey is what must agree for two images to share a volume (dcm2niix's
// isSameSet: series, dimensions, orientation, echo, image type, colour).
func groupKey(h *Header, g FrameInfo) string {
	var b strings.Builder
	b.WriteString(h.SeriesInstanceUID)
	fmt.Fprintf(&b, "|%dx%dx%d|%d/%d|%s", h.Columns, h.Rows, h.SamplesPerPixel, h.BitsAllocated, h.PixelRep, h.Photometric)
	if g.HasOrientation {
		for _, v := range g.Orientation {
			fmt.Fprintf(&b, "|%.4f", v+0) // +0 folds -0 into 0
		}
	}
	fmt.Fprintf(&b, "|TE%.3f|E%d", g.EchoTime, h.EchoNumbers)
	b.WriteString("|" + strings.Join(h.ImageType, `\`))
	if g.StackID != "" {
		b.WriteString("|stack" + g.StackID)
	}
	if len(h.Frames) == 0 && h.FrameCount() > 1 {
		// A classic multi-frame object is a volume by itself.
		b.WriteString("|" + h.SOPInstanceUID)
	}
	if h.MR.MosaicImages > 0 {
		fmt.Fprintf(&b, "|mosaic%d", h.MR.MosaicImages)
	}
	if h.Frame.PixelSpacing != ([2]float64{}) {
		fmt.Fprintf(&b, "|ps%.4f,%.4f", g.PixelSpacing[0], g.PixelSpacing[1])
	}
	return b.String()
}

func normalOf(o [6]float64) [3]float64 {
	r, c := o[:3], o[3:]
	n := [3]float64{r[1]*c[2] - r[2]*c[1], r[2]*c[0] - r[0]*c[2], r[0]*c[1] - r[1]*c[0]}
	l := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])
	if l > 0 {
		for i := range n {
			n[i] /= l
		}
	}
	return n
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

// posTolerance is how close (mm along the normal) two slices must be to
// count as the same position.
const posTolerance = 0.01

// assemble sorts the slices along the normal, resolves duplicates and
// repeated positions (4D), checks spacing and tilt, and computes the
// geometry.
func (s *Series) assemble() {
	first := s.Slices[0]
	hasGeom := first.Geom.HasPosition && first.Geom.HasOrientation
	if hasGeom {
		s.Normal = normalOf(first.Geom.Orientation)
	} else {
		s.Normal = [3]float64{0, 0, 1}
	}
	for i := range s.Slices {
		if hasGeom {
			s.Slices[i].Dist = dot(s.Slices[i].Geom.Position, s.Normal)
		} else {
			s.Slices[i].Dist = float64(s.Slices[i].Hdr.InstanceNumber*100000 + s.Slices[i].Frame)
		}
	}
	if !hasGeom && len(s.Slices) > 1 {
		s.warn("no ImagePositionPatient/ImageOrientationPatient: slices ordered by InstanceNumber, geometry unknown")
	}
	sort.SliceStable(s.Slices, func(i, j int) bool {
		a, b := s.Slices[i], s.Slices[j]
		if math.Abs(a.Dist-b.Dist) > posTolerance {
			return a.Dist < b.Dist
		}
		if a.Hdr.AcquisitionNumber != b.Hdr.AcquisitionNumber {
			return a.Hdr.AcquisitionNumber < b.Hdr.AcquisitionNumber
		}
		if a.Hdr.InstanceNumber != b.Hdr.InstanceNumber {
			return a.Hdr.InstanceNumber < b.Hdr.InstanceNumber
		}
		if a.Ref.String() != b.Ref.String() {
			return a.Ref.String() < b.Ref.String()
		}
		return a.Frame < b.Frame
	})
	// Duplicates: the same instance and frame twice (copied files).
	seen := map[string]bool{}
	kept := s.Slices[:0]
	dups := 0
	for _, sl := range s.Slices {
		k := sl.Hdr.SOPInstanceUID + "#" + strconv.Itoa(sl.Frame)
		if sl.Hdr.SOPInstanceUID != "" && seen[k] {
			dups++
			continue
		}
		seen[k] = true
		kept = append(kept, sl)
	}
	s.Slices = kept
	if dups > 0 {
		s.warn(fmt.Sprintf("%d duplicate images (same SOPInstanceUID) ignored", dups))
	}
	m, why := mosaicOf(first.Hdr)
	if why != "" {
		s.warn(why)
	}
	if m != nil {
		s.Mosaic = m
		s.assembleMosaic(hasGeom)
		return
	}
	// Repeated positions: 4D when every position repeats equally often.
	var runs []int // slices per distinct position
	for i := 0; i < len(s.Slices); {
		j := i + 1
		for j < len(s.Slices) && math.Abs(s.Slices[j].Dist-s.Slices[i].Dist) <= posTolerance {
			j++
		}
		runs = append(runs, j-i)
		i = j
	}
	s.Depth, s.Volumes = len(runs), 1
	if len(runs) > 0 && runs[0] > 1 && hasGeom {
		equal := true
		for _, r := range runs {
			equal = equal && r == runs[0]
		}
		if equal {
			s.Volumes = runs[0]
			s.warn(fmt.Sprintf("4D: %d volumes at each of %d positions", s.Volumes, s.Depth))
		} else {
			s.warn(fmt.Sprintf("repeated slice positions in uneven numbers (%d to %d): first image at each position kept", minInt(runs), maxInt(runs)))
			i := 0
			for _, r := range runs {
				kept := s.Slices[i]
				for _, sl := range s.Slices[i+1 : i+r] {
					s.SamePosition = append(s.SamePosition, Skipped{Ref: sliceName(sl), Kind: "excluded",
						Reason: fmt.Sprintf("slice at %.2f mm, the position of %s: left out", sl.Dist, sliceName(kept))})
				}
				i += r
			}
		}
		// Reorder position-major runs into volume-major order.
		var out []Slice
		for v := 0; v < s.Volumes; v++ {
			i := 0
			for _, r := range runs {
				out = append(out, s.Slices[i+min(v, r-1)])
				i += r
			}
		}
		s.Slices = out
	}
	s.geometry(hasGeom)
}

func minInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func (s *Series) warn(w string) { s.Warnings = append(s.Warnings, w) }

// sliceName names a slice's file, and its frame in a multi-frame file.
func sliceName(sl Slice) string {
	if sl.Hdr != nil && sl.Hdr.FrameCount() > 1 {
		return fmt.Sprintf("%s frame %d", sl.Ref.String(), sl.Frame)
	}
	return sl.Ref.String()
}

// geometry computes spacing and the RAS affine of volume 0, warning about
// non-uniform spacing (missing slices) and gantry tilt. Like dcm2niix, the
// slice axis is the step from the first slice to the second. The affine is
// not corrected for tilt: its third column is then the true (sheared) step
// between slice origins, so voxels keep their scanner positions (dcm2niix
// would resample; we record a warning instead).
func (s *Series) geometry(hasGeom bool) {
	first := s.Slices[0]
	h := first.Hdr
	g := first.Geom
	ps := g.PixelSpacing
	if ps[0] <= 0 || ps[1] <= 0 {
		ps = [2]float64{1, 1}
		if hasGeom {
			s.warn("no PixelSpacing: 1 mm assumed")
		}
	}
	row := [3]float64{1, 0, 0}
	col := [3]float64{0, 1, 0}
	pos := [3]float64{}
	if hasGeom {
		copy(row[:], g.Orientation[:3])
		copy(col[:], g.Orientation[3:])
		pos = g.Position
	}
	step := s.Normal
	dz := sliceStep(h)
	for a := range step {
		step[a] *= dz
	}
	if hasGeom && s.Depth > 1 {
		// dcm2niix's rule: the slice axis is the normal scaled by the
		// distance between the first two slice origins (its affine, and so
		// its world coordinates, come from them).
		next := s.Slices[1].Geom.Position
		var d [3]float64
		for a := 0; a < 3; a++ {
			d[a] = next[a] - pos[a]
		}
		dz = math.Sqrt(dot(d, d))
		for a := 0; a < 3; a++ {
			step[a] = s.Normal[a] * dz
		}
		// Spacing uniformity (missing slices show as larger gaps).
		var gaps []float64
		for i := 1; i < s.Depth; i++ {
			gaps = append(gaps, s.Slices[i].Dist-s.Slices[i-1].Dist)
		}
		sorted := append([]float64(nil), gaps...)
		sort.Float64s(sorted)
		med := sorted[len(sorted)/2]
		lo, hi := sorted[0], sorted[len(sorted)-1]
		if hi-lo > 0.05*math.Abs(med)+posTolerance {
			s.warn(fmt.Sprintf("non-uniform slice spacing %.4g–%.4g mm (median %.4g): missing slices?", lo, hi, med))
		}
		// Tilt: the stack runs off the normal. Positions are often rounded
		// to 0.1 mm or so, hence the 1° threshold over the whole stack.
		last := s.Slices[s.Depth-1].Geom.Position
		var span [3]float64
		for a := 0; a < 3; a++ {
			span[a] = last[a] - pos[a]
		}
		if l := math.Sqrt(dot(span, span)); l > 0 {
			c := math.Abs(dot(span, s.Normal)) / l
			if ang := math.Acos(math.Min(1, c)) * 180 / math.Pi; ang > 1 {
				// Keep voxels at their scanner positions: a sheared axis.
				for a := 0; a < 3; a++ {
					step[a] = span[a] / float64(s.Depth-1)
				}
				s.warn(fmt.Sprintf("gantry tilt / sheared stack: slices step %.2f° off the normal (not resampled)", ang))
			}
		}
	}
	if h.GantryTilt != 0 && !strings.Contains(strings.Join(s.Warnings, ";"), "tilt") {
		s.warn(fmt.Sprintf("GantryDetectorTilt %.2f°", h.GantryTilt))
	}
	s.Spacing = [3]float64{ps[1], ps[0], dz}
	// LPS affine columns: i along the row direction by column spacing, j
	// along the column direction by row spacing, k by the slice step.
	// Without position and orientation (CR, secondary captures) the
	// defaults above are dcm2niix's: orientation 1\0\0\0\1\0 at the
	// origin, in LPS like any DICOM geometry, so they take the same sign
	// flip; an identity RAS affine would show the image rotated 180°.
	var A [16]float64
	for w := 0; w < 3; w++ {
		sign := 1.0
		if w < 2 {
			sign = -1 // LPS → RAS
		}
		A[w*4+0] = sign * row[w] * ps[1]
		A[w*4+1] = sign * col[w] * ps[0]
		A[w*4+2] = sign * step[w]
		A[w*4+3] = sign * pos[w]
	}
	A[15] = 1
	s.Affine = A
}

// Plane names the acquisition plane from the slice normal.
func (s *Series) Plane() string {
	n := s.Normal
	ax, best := 0, 0.0
	for a := 0; a < 3; a++ {
		if math.Abs(n[a]) > best {
			ax, best = a, math.Abs(n[a])
		}
	}
	if best < 0.8 {
		return "" // oblique: no single plane
	}
	return [3]string{"sagittal", "coronal", "axial"}[ax]
}
