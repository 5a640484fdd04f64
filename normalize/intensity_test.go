package normalize

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestPercentileGolden checks numpy.percentile bounds (relative 1e-12) and
// the clipped, scaled uint8 volume (within 1 grey level) on real volumes.
func TestPercentileGolden(t *testing.T) {
	for _, c := range loadGolden(t) {
		if c.Op != "percentile" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			im := readNIfTI1(t, c.Input)
			p, err := Percentiles(im.Voxels, im.DType, c.Lo, c.Hi)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(p[0]-c.Plo) > 1e-12*(1+math.Abs(c.Plo)) || math.Abs(p[1]-c.Phi) > 1e-12*(1+math.Abs(c.Phi)) {
				t.Errorf("percentiles = %v, numpy says [%v %v]", p, c.Plo, c.Phi)
			}
			if err := Intensity(im, IntensityOptions{PercentileLo: c.Lo, PercentileHi: c.Hi}); err != nil {
				t.Fatal(err)
			}
			compareU8(t, im.Voxels, readRaw(t, c.File))
		})
	}
}

func compareU8(t *testing.T, got, want []byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		if d := int(got[i]) - int(want[i]); d > 1 || d < -1 {
			if bad < 5 {
				t.Errorf("voxel %d = %d, want %d", i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d voxels off by more than 1", bad)
	}
}

func TestWindowGolden(t *testing.T) {
	cases := loadGolden(t)
	var hu []byte
	for _, c := range cases {
		if c.Name == "ct_hu" {
			hu = readRaw(t, c.File)
		}
	}
	for _, c := range cases {
		if c.Op != "window" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			w, err := ParseWindow(c.Preset)
			if err != nil {
				t.Fatal(err)
			}
			if w.Level != c.Level || w.Width != c.WidthHU {
				t.Errorf("preset %s = %v/%v, golden used %v/%v", c.Preset, w.Level, w.Width, c.Level, c.WidthHU)
			}
			im := &shards.Image{DType: shards.Int16, Channels: 1, Depth: 1, Height: 128, Width: 128, Voxels: append([]byte(nil), hu...)}
			if err := Intensity(im, IntensityOptions{Method: MethodWindow, Windows: []Window{w}}); err != nil {
				t.Fatal(err)
			}
			compareU8(t, im.Voxels, readRaw(t, c.File))
		})
	}
	// all presets as channels, in order
	im := &shards.Image{DType: shards.Int16, Channels: 1, Depth: 1, Height: 128, Width: 128, Voxels: hu}
	ws := []Window{WindowPresets["brain"], WindowPresets["lung"], WindowPresets["bone"]}
	if err := Intensity(im, IntensityOptions{Method: MethodWindow, Windows: ws}); err != nil {
		t.Fatal(err)
	}
	if im.Channels != 3 || len(im.Voxels) != 3*128*128 {
		t.Fatalf("multi-window: %d channels, %d bytes", im.Channels, len(im.Voxels))
	}
	for i, name := range []string{"brain", "lung", "bone"} {
		for _, c := range cases {
			if c.Name == "ct_"+name {
				compareU8(t, im.Voxels[i*128*128:(i+1)*128*128], readRaw(t, c.File))
			}
		}
	}
}

func TestParseWindow(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Window
		err  bool
	}{
		{"lung", WindowPresets["lung"], false},
		{"Subdural", WindowPresets["subdural"], false},
		{"40/400", Window{"custom", 40, 400}, false},
		{"soft=-50/350", Window{"soft", -50, 350}, false},
		{"40/0", Window{}, true},
		{"lungs", Window{}, true},
	} {
		got, err := ParseWindow(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseWindow(%q) = %v, %v", tc.in, got, err)
		}
	}
	for _, n := range []string{"brain", "subdural", "stroke", "lung", "mediastinum", "abdomen", "liver", "bone"} {
		if _, ok := WindowPresets[n]; !ok {
			t.Errorf("preset %s missing", n)
		}
	}
}

func TestIntensityNonFiniteAndDTypes(t *testing.T) {
	vals := []float32{float32(math.NaN()), 0, 1, 2, 3, float32(math.Inf(1)), 4, float32(math.Inf(-1))}
	for _, dt := range []shards.DType{shards.Uint8, shards.Float16, shards.Float32} {
		im := &shards.Image{DType: shards.Float32, Channels: 1, Depth: 1, Height: 2, Width: 4,
			Voxels: append([]byte(nil), shards.Bytes(vals)...)}
		if err := Intensity(im, IntensityOptions{Method: MethodMinMax, OutDType: dt, NonFinite: 0}); err != nil {
			t.Fatal(err)
		}
		if im.DType != dt || im.Meta["nonfinite"] != "3" {
			t.Errorf("%s: dtype %s meta %v", dt, im.DType, im.Meta)
		}
		var p map[string]any
		json.Unmarshal([]byte(im.Transforms[0].Params), &p)
		if p["lo"] != 0.0 || p["hi"] != 4.0 || p["nonfinite"] != 3.0 {
			t.Errorf("%s: params %s", dt, im.Transforms[0].Params)
		}
		var got []float64
		for i := 0; i < 8; i++ {
			switch dt {
			case shards.Uint8:
				got = append(got, float64(im.Voxels[i])/255)
			case shards.Float16:
				got = append(got, float64(shards.HalfToFloat32(shards.View[uint16](im.Voxels)[i])))
			case shards.Float32:
				got = append(got, float64(shards.View[float32](im.Voxels)[i]))
			}
		}
		want := []float64{0, 0, 0.25, 0.5, 0.75, 0, 1, 0}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 0.003 {
				t.Errorf("%s: voxel %d = %v, want %v", dt, i, got[i], want[i])
			}
		}
	}
	bad := &shards.Image{DType: shards.Int16, Channels: 1, Depth: 1, Height: 1, Width: 1, Voxels: make([]byte, 2)}
	if err := Intensity(bad, IntensityOptions{NonFinite: 2}); err == nil {
		t.Error("nonfinite 2 accepted")
	}
	im := &shards.Image{DType: shards.Int16, Channels: 2, Depth: 1, Height: 1, Width: 1, Voxels: make([]byte, 4)}
	err := Intensity(im, IntensityOptions{Method: MethodWindow, Windows: []Window{WindowPresets["lung"], WindowPresets["bone"]}})
	if err == nil || !strings.Contains(err.Error(), "1-channel") {
		t.Errorf("multi-window on 2 channels: %v", err)
	}
}
