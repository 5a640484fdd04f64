package dicom

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Siemens MOSAIC images (EPI: fMRI, DWI) store all the slices of one
// volume as tiles of one 2D image: NumberOfImagesInMosaic (CSA image
// header) tiles of Rows/g × Columns/g on a g × g grid, g =
// ceil(sqrt(NumberOfImagesInMosaic)), filled row by row; unused tiles are
// blank. ImagePositionPatient is the position of the top-left voxel of the
// whole mosaic, as if it were one slice, so the first tile's origin must
// be shifted by half the difference between the mosaic and tile sizes
// (the correction of nibabel's MosaicWrapper.image_position and dcm2niix's
// nii_mosaic). Each file is one volume: a series of mosaics is 4D.

// maxMosaicImages bounds NumberOfImagesInMosaic (a 32 × 32 grid; real
// acquisitions stay below 128 slices).
const maxMosaicImages = 1024

// Mosaic is the tiling of a series' MOSAIC images.
type Mosaic struct {
	Images     int // slices per volume (NumberOfImagesInMosaic)
	Grid       int // tiles per mosaic row and column
	Rows, Cols int // of one tile (one slice)
}

// mosaicOf returns the tiling of h when it is a Siemens MOSAIC image that
// can be unpacked, else nil and, for a MOSAIC that cannot, why.
func mosaicOf(h *Header) (*Mosaic, string) {
	isMosaic := false
	for _, t := range h.ImageType {
		isMosaic = isMosaic || t == "MOSAIC"
	}
	if !isMosaic {
		return nil, ""
	}
	n := h.MR.MosaicImages
	if n < 1 {
		why := "no CSA NumberOfImagesInMosaic"
		if h.MR.CSAError != "" {
			why = h.MR.CSAError
		}
		return nil, "MOSAIC image left as one 2D image: " + why
	}
	g := int(math.Ceil(math.Sqrt(float64(n))))
	if h.FrameCount() != 1 || h.SamplesPerPixel != 1 || h.Rows%g != 0 || h.Columns%g != 0 {
		return nil, fmt.Sprintf("MOSAIC image left as one 2D image: %d images do not tile %dx%d (%d frames, %d samples)", n, h.Columns, h.Rows, h.FrameCount(), h.SamplesPerPixel)
	}
	return &Mosaic{Images: n, Grid: g, Rows: h.Rows / g, Cols: h.Columns / g}, ""
}

// unpack rearranges vols mosaics of bps-byte samples, stored one after
// the other, into vols volumes of m.Images slices of m.Rows × m.Cols.
// Slice k is tile (k / Grid, k % Grid). The result is a new buffer: in
// place, tile (0, 1) would be read after slice 0's rows overwrote it.
func (m *Mosaic) unpack(stored []byte, vols, bps int) []byte {
	mRows, mCols := m.Rows*m.Grid, m.Cols*m.Grid
	in := mRows * mCols * bps // one mosaic
	line := m.Cols * bps
	out := make([]byte, 0, vols*m.Images*m.Rows*line)
	for v := 0; v < vols; v++ {
		src := stored[v*in : (v+1)*in]
		for k := 0; k < m.Images; k++ {
			tr, tc := k/m.Grid, k%m.Grid
			for r := 0; r < m.Rows; r++ {
				o := ((tr*m.Rows+r)*mCols + tc*m.Cols) * bps
				out = append(out, src[o:o+line]...)
			}
		}
	}
	return out
}

// assembleMosaic orders a series of mosaics (one volume per file) by
// acquisition and instance number and computes the geometry of the
// unpacked volume.
func (s *Series) assembleMosaic(hasGeom bool) {
	sort.SliceStable(s.Slices, func(i, j int) bool {
		a, b := s.Slices[i].Hdr, s.Slices[j].Hdr
		if a.AcquisitionNumber != b.AcquisitionNumber {
			return a.AcquisitionNumber < b.AcquisitionNumber
		}
		if a.InstanceNumber != b.InstanceNumber {
			return a.InstanceNumber < b.InstanceNumber
		}
		return s.Slices[i].Ref.String() < s.Slices[j].Ref.String()
	})
	m := s.Mosaic
	moved := false
	for _, sl := range s.Slices[1:] {
		moved = moved || math.Abs(sl.Dist-s.Slices[0].Dist) > posTolerance
	}
	if moved {
		s.warn("MOSAIC volumes at different positions: the first volume's geometry applies")
	}
	h := s.Slices[0].Hdr
	if h.MR.HasSliceNormal && hasGeom {
		// Tiles advance along the CSA slice normal, which can point
		// against row × column. As nibabel's MosaicWrapper, keep the cross
		// product (orthogonal to the rows and columns to full precision)
		// with the CSA normal's sign; a CSA normal off that axis is not
		// trusted.
		d := dot(s.Normal, h.MR.SliceNormal)
		switch {
		case math.Abs(math.Abs(d)-1) > 1e-3:
			s.warn(fmt.Sprintf("CSA SliceNormalVector %v is not along row × column %v: row × column used", h.MR.SliceNormal, s.Normal))
		case d < 0:
			for a := range s.Normal {
				s.Normal[a] = -s.Normal[a]
			}
		}
	}
	s.Volumes = len(s.Slices)
	// Geometry of one slice (the step along the normal is the slice
	// spacing), then the origin moved from the mosaic's corner to the
	// first tile's.
	s.Depth = 1
	s.geometry(hasGeom)
	s.Depth = m.Images
	if hasGeom {
		g := s.Slices[0].Geom
		ps := g.PixelSpacing
		if ps[0] <= 0 || ps[1] <= 0 {
			ps = [2]float64{1, 1}
		}
		dr := float64(h.Rows-m.Rows) / 2    // mosaic rows beyond one tile
		dc := float64(h.Columns-m.Cols) / 2 // mosaic columns beyond one tile
		for w := 0; w < 3; w++ {
			shift := g.Orientation[3+w]*ps[0]*dr + g.Orientation[w]*ps[1]*dc
			sign := 1.0
			if w < 2 {
				sign = -1 // LPS → RAS, as the affine
			}
			s.Affine[w*4+3] += sign * shift
		}
	}
	if s.Volumes > 1 {
		s.warn(fmt.Sprintf("4D: %d MOSAIC volumes of %d slices", s.Volumes, s.Depth))
	}
}

// volumeSlice is the first image of volume v.
func (s *Series) volumeSlice(v int) Slice {
	if s.Volumes < 1 {
		return s.Slices[0]
	}
	return s.Slices[min(v*len(s.Slices)/s.Volumes, len(s.Slices)-1)]
}

// diffusionMeta records volume v's diffusion weighting, when its header
// has one: b-value (s/mm²) and gradient direction in patient LPS
// coordinates, as stored in the DICOM header (not rotated into voxel axes
// as dcm2niix's bvec files are).
//
// An enhanced MR object's per-frame MR Diffusion Sequence comes first,
// then the top-level attributes and the Siemens CSA header.
func (s *Series) diffusionMeta(v int, meta map[string]string) {
	sl := s.volumeSlice(v)
	d := sl.Geom.Diffusion
	if mr := sl.Hdr.MR; !d.HasBValue && !d.HasGradient {
		d = Diffusion{BValue: mr.BValue, HasBValue: mr.HasBValue, Gradient: mr.Gradient, HasGradient: mr.HasGradient}
	}
	if d.HasBValue {
		meta["diffusion_b_value"] = fmtFloat(d.BValue)
	}
	if d.HasGradient {
		meta["diffusion_gradient_lps"] = strings.Join([]string{fmtFloat(d.Gradient[0]), fmtFloat(d.Gradient[1]), fmtFloat(d.Gradient[2])}, `\`)
	}
}

func fmtFloat(f float64) string { return fmt.Sprintf("%.6g", f) }
