package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SynthOptions describe a synthetic series made by replicating one real
// slice (for benchmarks and tests).
type SynthOptions struct {
	Slices    int
	SeriesUID string
	// Spacing is the in-plane pixel spacing and slice step (mm).
	PixelSpacing, SliceStep float64
	// ImageType overrides (0008,0008), e.g. `ORIGINAL\PRIMARY\LOCALIZER`.
	ImageType string
	// Orientation overrides (0020,0037); default axial.
	Orientation [6]float64
	// NamePrefix names the files <prefix><index>.dcm; files are written in
	// a shuffled order of names so no one can rely on name order.
	NamePrefix string
	// FirstInstance offsets InstanceNumber and the SOPInstanceUID suffix
	// (to write a second time point of the same series).
	FirstInstance int
	// SlopeStep makes RescaleSlope 1 + i×SlopeStep on slice i (per-slice
	// varying scaling, as some PET and Philips series have).
	SlopeStep float64
	// Photometric overrides (0028,0004), e.g. MONOCHROME1.
	Photometric string
	// Shear moves each slice origin this many mm along the column
	// direction per slice (a gantry-tilted stack).
	Shear float64
}

// WriteSynthSeries writes o.Slices copies of the real slice template
// (any syntax with native pixel data, rewritten as implicit VR little
// endian) into dir as CT Image Storage, each with its own SOPInstanceUID,
// InstanceNumber and ImagePositionPatient stepping along the slice normal.
// Element values are otherwise copied byte for byte.
func WriteSynthSeries(dir string, template []byte, o SynthOptions) error {
	f, err := Parse("template", template)
	if err != nil {
		return err
	}
	if f.sx.bo != binary.LittleEndian || !f.sx.implicit || f.Encapsulated {
		return fmt.Errorf("synth: template must be implicit VR little endian, native pixels")
	}
	elems, err := topElements(f.ds, f.sx)
	if err != nil {
		return err
	}
	if o.Orientation == ([6]float64{}) {
		o.Orientation = [6]float64{1, 0, 0, 0, 1, 0}
	}
	if o.PixelSpacing == 0 {
		o.PixelSpacing = 0.7
	}
	if o.SliceStep == 0 {
		o.SliceStep = 1.25
	}
	n := normalOf(o.Orientation)
	for i := 0; i < o.Slices; i++ {
		sop := fmt.Sprintf("%s.%d", o.SeriesUID, o.FirstInstance+i+1)
		z := float64(i) * o.SliceStep
		pos := [3]float64{-180 + z*n[0], -180 + z*n[1], -100 + z*n[2]}
		for a := 0; a < 3; a++ {
			pos[a] += float64(i) * o.Shear * o.Orientation[3+a]
		}
		over := map[uint32]string{
			0x00080018: sop,
			0x0020000E: o.SeriesUID,
			0x00200013: strconv.Itoa(o.FirstInstance + i + 1),
			0x00200032: dsList(pos[:]),
			0x00200037: dsList(o.Orientation[:]),
			0x00280030: dsList([]float64{o.PixelSpacing, o.PixelSpacing}),
			0x00180050: dsList([]float64{o.SliceStep}),
			0x00201041: dsList([]float64{z}),
			0x00080016: ctImageStorage, // the template may be a secondary capture
			0x00080060: "CT",
		}
		if o.SlopeStep != 0 {
			over[0x00281053] = dsList([]float64{1 + float64(i)*o.SlopeStep})
		}
		if o.Photometric != "" {
			over[0x00280004] = o.Photometric
		}
		over[0x00080008] = `ORIGINAL\PRIMARY\AXIAL`
		if o.ImageType != "" {
			over[0x00080008] = o.ImageType
		}
		var buf bytes.Buffer
		buf.Write(make([]byte, 128))
		buf.WriteString("DICM")
		writeMeta(&buf, ctImageStorage, sop)
		writeImplicit(&buf, elems, over)
		// Names in scrambled order: (i*7919) mod n is a permutation when
		// n is not a multiple of 7919.
		name := fmt.Sprintf("%s%05d.dcm", o.NamePrefix, (i*7919)%max(o.Slices, 1))
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"

func dsList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Join(s, `\`)
}

type rawElem struct {
	tag uint32
	raw []byte
}

// topElements splits a dataset into its top-level elements' raw bytes.
func topElements(ds []byte, sx syntax) ([]rawElem, error) {
	var out []rawElem
	for off := 0; off < len(ds); {
		h, err := readHeader(ds, off, sx)
		if err != nil {
			return nil, err
		}
		end, err := skipValue(ds, off+h.hdrLen, h, sx, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, rawElem{h.tag, ds[off:end]})
		off = end
	}
	return out, nil
}

func writeMeta(buf *bytes.Buffer, sopClass, sop string) {
	var m bytes.Buffer
	el := func(g, e uint16, vr string, v []byte) {
		binary.Write(&m, binary.LittleEndian, [2]uint16{g, e})
		m.WriteString(vr)
		if vr == "OB" {
			m.Write([]byte{0, 0})
			binary.Write(&m, binary.LittleEndian, uint32(len(v)))
		} else {
			binary.Write(&m, binary.LittleEndian, uint16(len(v)))
		}
		m.Write(v)
	}
	el(2, 1, "OB", []byte{0, 1})
	el(2, 2, "UI", padUID(sopClass))
	el(2, 3, "UI", padUID(sop))
	el(2, 0x10, "UI", padUID(ImplicitVRLittleEndian))
	el(2, 0x12, "UI", padUID("1.2.826.0.1.3680043.10.1234.1"))
	binary.Write(buf, binary.LittleEndian, [2]uint16{2, 0})
	buf.WriteString("UL")
	binary.Write(buf, binary.LittleEndian, uint16(4))
	binary.Write(buf, binary.LittleEndian, uint32(m.Len()))
	buf.Write(m.Bytes())
}

func padUID(s string) []byte {
	b := []byte(s)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// writeImplicit writes elems with values in over replaced (or inserted),
// in tag order, implicit VR little endian.
func writeImplicit(buf *bytes.Buffer, elems []rawElem, over map[uint32]string) {
	var all []rawElem
	done := map[uint32]bool{}
	enc := func(tag uint32, v string) []byte {
		b := []byte(v)
		if len(b)%2 == 1 {
			pad := byte(' ')
			if tag == 0x00080018 || tag == 0x0020000E {
				pad = 0
			}
			b = append(b, pad)
		}
		out := make([]byte, 8, 8+len(b))
		binary.LittleEndian.PutUint16(out, uint16(tag>>16))
		binary.LittleEndian.PutUint16(out[2:], uint16(tag))
		binary.LittleEndian.PutUint32(out[4:], uint32(len(b)))
		return append(out, b...)
	}
	for _, e := range elems {
		if v, ok := over[e.tag]; ok {
			all = append(all, rawElem{e.tag, enc(e.tag, v)})
			done[e.tag] = true
			continue
		}
		all = append(all, e)
	}
	for t, v := range over {
		if !done[t] {
			all = append(all, rawElem{t, enc(t, v)})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].tag < all[j].tag })
	for _, e := range all {
		buf.Write(e.raw)
	}
}
