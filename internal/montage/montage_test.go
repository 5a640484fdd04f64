package montage

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medmd/medmd/ingest/nifti"
	"github.com/medmd/medmd/shards"
)

// readVolume reads the first volume of a bundled NIfTI file (canonical RAS).
func readVolume(t *testing.T, name string) *shards.Image {
	t.Helper()
	r, err := nifti.ReadFile(context.Background(), filepath.Join("..", "..", "testdata", "nifti", name), nifti.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Images[0]
}

// values returns every voxel as float64 (test reference, no shortcuts).
func values(im *shards.Image) []float64 {
	get := loader(im.DType)
	n := len(im.Voxels) / im.DType.Size()
	out := make([]float64, n)
	for i := range out {
		out[i] = get(im.Voxels, i)
	}
	return out
}

// numpyPercentile is numpy.percentile's default (linear) on sorted x.
func numpyPercentile(x []float64, p float64) float64 {
	pos := p / 100 * float64(len(x)-1)
	r := int(math.Floor(pos))
	if r >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[r] + (pos-float64(r))*(x[r+1]-x[r])
}

func TestRenderLayout(t *testing.T) {
	for _, tc := range []struct {
		file, plane string
		tiles       int
		wantTiles   int
		wantCols    int
		tw, th      int // tile size, default sizing
		dtype       shards.DType
	}{
		// 33×41×25 int16 at 2 mm: 16 of 25 axial slices, tiles 128 px tall.
		{"anatomical.nii", Axial, 0, 16, 4, 103, 128, shards.Int16},
		{"anatomical.nii", Coronal, 0, 16, 4, 128, 97, shards.Int16},
		{"anatomical.nii", Sagittal, 9, 9, 3, 128, 78, shards.Int16},
		// 58×58×24 at 4×4×5 mm: coronal tiles are 58 px × 24·5/4 = 30 px before enlarging.
		{"aniso_vox.nii.gz", Axial, 0, 16, 4, 128, 128, shards.Int16},
		{"aniso_vox.nii.gz", Coronal, 0, 16, 4, 128, 66, shards.Int16},
		{"ascm_out_test.nii.gz", Axial, 30, 24, 5, 128, 128, shards.Float64},
		{"reoriented_anat_moved.nii", Sagittal, 4, 4, 2, 128, 108, shards.Float32},
		{"example_nifti2.nii.gz", Axial, 0, 12, 4, 128, 80, shards.Int16},
	} {
		t.Run(tc.file+"/"+tc.plane, func(t *testing.T) {
			im := readVolume(t, tc.file)
			if im.DType != tc.dtype {
				t.Fatalf("dtype %s, want %s", im.DType, tc.dtype)
			}
			o := Options{Plane: tc.plane, Tiles: tc.tiles}
			L, err := plan(im, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(L.idx) != tc.wantTiles || L.cols != tc.wantCols {
				t.Errorf("tiles %d in %d columns, want %d in %d", len(L.idx), L.cols, tc.wantTiles, tc.wantCols)
			}
			if L.tw != tc.tw || L.th != tc.th {
				t.Errorf("tile %d×%d, want %d×%d", L.tw, L.th, tc.tw, tc.th)
			}
			pic, err := Render(im, o)
			if err != nil {
				t.Fatal(err)
			}
			rows := (tc.wantTiles + tc.wantCols - 1) / tc.wantCols
			wantW := tc.wantCols*tc.tw + (tc.wantCols-1)*gap
			wantH := rows*tc.th + (rows-1)*gap
			if b := pic.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Errorf("picture %v, want %d×%d", b, wantW, wantH)
			}
			if _, ok := pic.(*image.Gray); !ok {
				t.Errorf("picture is %T, want *image.Gray", pic)
			}
			w, h, err := Size(im, o)
			if err != nil || w != wantW || h != wantH {
				t.Errorf("Size = %d×%d, %v", w, h, err)
			}
		})
	}
}

// TestWindowAndPixels checks, on real volumes, that the automatic window
// is numpy's 0.5/99.5 percentile and that every pixel of a known slice is
// its voxel windowed, with anterior up and the patient's right on the left.
func TestWindowAndPixels(t *testing.T) {
	for _, tc := range []struct {
		file  string
		slice int
	}{
		{"anatomical.nii", 12},
		{"aniso_vox.nii.gz", 10},
		{"ascm_out_test.nii.gz", 11},
		{"reoriented_anat_moved.nii", 13},
	} {
		t.Run(tc.file, func(t *testing.T) {
			im := readVolume(t, tc.file)
			all := values(im)
			sorted := slices.Clone(all)
			slices.Sort(sorted)
			wantLo, wantHi := numpyPercentile(sorted, 0.5), numpyPercentile(sorted, 99.5)
			lo, hi, err := AutoWindow(im, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lo-wantLo) > 1e-9*math.Max(1, math.Abs(wantLo)) || math.Abs(hi-wantHi) > 1e-9*math.Max(1, math.Abs(wantHi)) {
				t.Fatalf("window %g…%g, want %g…%g", lo, hi, wantLo, wantHi)
			}
			// One tile: just the chosen slice, one pixel per voxel.
			n := im.Depth
			tiles := n // all slices; tile index = slice index
			pic, err := Render(im, Options{Tiles: tiles, Native: true, NoLabels: true, Columns: n})
			if err != nil {
				t.Fatal(err)
			}
			g := pic.(*image.Gray)
			W, H := im.Width, im.Height
			ox := tc.slice * (W + gap)
			var black, white, total int
			for y := 0; y < H; y++ {
				for x := 0; x < W; x++ {
					i, j := W-1-x, H-1-y // radiological: right on the left; anterior up
					v := all[tc.slice*W*H+j*W+i]
					var want uint8
					switch {
					case v <= wantLo:
						want = 0
					case v >= wantHi:
						want = 255
					default:
						want = uint8(math.Round((v - wantLo) / (wantHi - wantLo) * 255))
					}
					if got := g.GrayAt(ox+x, y).Y; got != want {
						t.Fatalf("pixel (%d,%d) of slice %d = %d, want %d (voxel %g)", x, y, tc.slice, got, want, v)
					}
				}
			}
			// Over the whole volume about 0.5 % of voxels sit at or below
			// lo and 0.5 % at or above hi (more where values tie).
			for _, v := range all {
				total++
				if v <= wantLo {
					black++
				}
				if v >= wantHi {
					white++
				}
			}
			if black*200 < total || white*200 < total-total/100 {
				t.Errorf("%d black and %d white of %d voxels: window not at the percentiles", black, white, total)
			}
		})
	}
}

// marker builds a W×H×D int16 RAS volume, zero but for voxel (i,j,k) = 1000.
func marker(W, H, D, i, j, k int) *shards.Image {
	im := &shards.Image{DType: shards.Int16, Channels: 1, Depth: D, Height: H, Width: W,
		Voxels: make([]byte, 2*W*H*D), Spacing: [3]float64{1, 1, 1},
		Affine: [16]float64{1, 0, 0, -5, 0, 1, 0, -5, 0, 0, 1, -5, 0, 0, 0, 1}}
	binary.LittleEndian.PutUint16(im.Voxels[2*(k*W*H+j*W+i):], 1000)
	return im
}

// TestOrientation puts one bright voxel at the right-anterior-superior
// corner and checks where each plane shows it.
func TestOrientation(t *testing.T) {
	const W, H, D = 5, 6, 7
	im := marker(W, H, D, W-1, H-1, D-1)
	for _, tc := range []struct {
		plane  string
		neuro  bool
		tile   int // tile holding the marker (the last slice)
		x, y   int // within the tile
		tw, th int
	}{
		{Axial, false, D - 1, 0, 0, W, H},      // right on the left, anterior up
		{Axial, true, D - 1, W - 1, 0, W, H},   // neurological: right on the right
		{Coronal, false, H - 1, 0, 0, W, D},    // right on the left, superior up
		{Coronal, true, H - 1, W - 1, 0, W, D}, //
		{Sagittal, false, W - 1, 0, 0, H, D},   // anterior on the left, superior up
		{Sagittal, true, W - 1, 0, 0, H, D},    // sagittal ignores the convention
	} {
		pic, err := Render(im, Options{Plane: tc.plane, Neurological: tc.neuro, Native: true, NoLabels: true, Tiles: 100, Columns: 100, Level: 500, Width: 1000})
		if err != nil {
			t.Fatal(err)
		}
		g := pic.(*image.Gray)
		if g.Bounds().Dy() != tc.th {
			t.Fatalf("%s: height %d, want %d", tc.plane, g.Bounds().Dy(), tc.th)
		}
		var hits []image.Point
		for y := 0; y < g.Bounds().Dy(); y++ {
			for x := 0; x < g.Bounds().Dx(); x++ {
				if g.GrayAt(x, y).Y != 0 {
					hits = append(hits, image.Pt(x, y))
				}
			}
		}
		want := image.Pt(tc.tile*(tc.tw+gap)+tc.x, tc.y)
		if len(hits) != 1 || hits[0] != want || g.GrayAt(want.X, want.Y).Y != 255 {
			t.Errorf("%s neuro=%v: lit pixels %v, want only %v", tc.plane, tc.neuro, hits, want)
		}
	}
}

func TestRenderKinds(t *testing.T) {
	// uint8 shown as is; 3 channels as RGB; 2D without geometry as stored.
	const W, H = 4, 3
	rgb := &shards.Image{DType: shards.Uint8, Channels: 3, Depth: 1, Height: H, Width: W,
		Voxels: make([]byte, 3*W*H), Affine: shards.IdentityAffine()}
	for i := 0; i < W*H; i++ {
		rgb.Voxels[i], rgb.Voxels[W*H+i], rgb.Voxels[2*W*H+i] = byte(i), byte(100+i), byte(200+i)
	}
	pic, err := Render(rgb, Options{Native: true, NoLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := pic.(*image.RGBA)
	if !ok || m.Bounds() != image.Rect(0, 0, W, H) {
		t.Fatalf("got %T %v", pic, pic.Bounds())
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := y*W + x // row 0 on top, as stored
			c := m.RGBAAt(x, y)
			if c.R != byte(i) || c.G != byte(100+i) || c.B != byte(200+i) || c.A != 255 {
				t.Fatalf("(%d,%d) = %v, want %d/%d/%d", x, y, c, i, 100+i, 200+i)
			}
		}
	}

	// float16 and MONOCHROME1: 0 → white, 1 → black with window 0…1.
	f16 := &shards.Image{DType: shards.Float16, Channels: 1, Depth: 1, Height: 1, Width: 3,
		Voxels: []byte{0x00, 0x00, 0x00, 0x38, 0x00, 0x3c}, // 0, 0.5, 1
		Meta:   map[string]string{"invert_for_display": "true"}}
	pic, err = Render(f16, Options{Native: true, NoLabels: true, Level: 0.5, Width: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := pic.(*image.Gray)
	if got := []uint8{g.GrayAt(0, 0).Y, g.GrayAt(1, 0).Y, g.GrayAt(2, 0).Y}; !slices.Equal(got, []uint8{255, 127, 0}) {
		t.Errorf("float16 inverted = %v, want [255 127 0]", got)
	}

	// Every dtype renders a ramp from black to white.
	for _, dt := range []shards.DType{shards.Uint8, shards.Int8, shards.Uint16, shards.Int16, shards.Uint32,
		shards.Int32, shards.Uint64, shards.Int64, shards.Float32, shards.Float64} {
		im := &shards.Image{DType: dt, Channels: 1, Depth: 2, Height: 1, Width: 100,
			Voxels: make([]byte, 200*dt.Size()), Affine: shards.IdentityAffine()}
		for i := 0; i < 200; i++ {
			v := uint64(i % 100)
			switch dt.Size() {
			case 1:
				im.Voxels[i] = byte(v)
			case 2:
				binary.LittleEndian.PutUint16(im.Voxels[2*i:], uint16(v))
			case 4:
				if dt == shards.Float32 {
					binary.LittleEndian.PutUint32(im.Voxels[4*i:], math.Float32bits(float32(v)))
				} else {
					binary.LittleEndian.PutUint32(im.Voxels[4*i:], uint32(v))
				}
			case 8:
				if dt == shards.Float64 {
					binary.LittleEndian.PutUint64(im.Voxels[8*i:], math.Float64bits(float64(v)))
				} else {
					binary.LittleEndian.PutUint64(im.Voxels[8*i:], v)
				}
			}
		}
		pic, err := Render(im, Options{Native: true, NoLabels: true, Level: 49.5, Width: 99})
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		g := pic.(*image.Gray)
		// radiological: column 0 shows i = 99
		if a, b := g.GrayAt(0, 0).Y, g.GrayAt(99, 0).Y; a != 255 || b != 0 {
			t.Errorf("%s: ends %d, %d; want 255, 0", dt, a, b)
		}
	}
}

func TestRenderLabels(t *testing.T) {
	im := readVolume(t, "anatomical.nii")
	a, err := Render(im, Options{NoLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(im, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Labels change only the tiles' top-left corners.
	ga, gb := a.(*image.Gray), b.(*image.Gray)
	diff := 0
	for i := range ga.Pix {
		if ga.Pix[i] != gb.Pix[i] {
			diff++
			x, y := i%ga.Stride, i/ga.Stride
			if x%(103+gap) > 30 || y%(128+gap) > 16 {
				t.Fatalf("label pixel at (%d,%d) outside a tile corner", x, y)
			}
		}
	}
	if diff == 0 {
		t.Error("labels drew nothing")
	}
}

func TestRenderErrors(t *testing.T) {
	good := func() *shards.Image { return marker(4, 4, 4, 0, 0, 0) }
	for _, tc := range []struct {
		name   string
		mut    func(*shards.Image)
		o      Options
		tooBig bool
	}{
		{"unknown plane", nil, Options{Plane: "oblique"}, false},
		{"too many tiles", nil, Options{Tiles: MaxTiles + 1}, false},
		{"negative width", nil, Options{Width: -1}, false},
		{"bad percentiles", nil, Options{LowPct: 50, HighPct: 10}, false},
		{"picture too large", nil, Options{TileSize: 1 << 20}, true},
		{"short voxels", func(im *shards.Image) { im.Voxels = im.Voxels[:10] }, Options{}, false},
		{"absurd shape", func(im *shards.Image) { im.Depth, im.Height, im.Width = 1<<30, 1<<30, 1<<30 }, Options{}, true},
		{"unknown dtype", func(im *shards.Image) { im.DType = "complex64" }, Options{}, false},
		{"two channels", func(im *shards.Image) { im.Channels = 2 }, Options{}, false},
		{"zero depth", func(im *shards.Image) { im.Depth = 0 }, Options{}, false},
		{"slice past the end", nil, Options{Indices: []int{4}}, false},
		{"negative slice", nil, Options{Indices: []int{-1}}, false},
	} {
		im := good()
		if tc.mut != nil {
			tc.mut(im)
		}
		_, err := Render(im, tc.o)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, ErrTooLarge) != tc.tooBig {
			t.Errorf("%s: %v (ErrTooLarge want %v)", tc.name, err, tc.tooBig)
		}
	}
	if _, err := Render(nil, Options{}); err == nil {
		t.Error("nil image: no error")
	}
}

func TestSlices(t *testing.T) {
	for _, tc := range []struct {
		n, tiles int
		want     []int
	}{
		{3, 16, []int{0, 1, 2}},
		{8, 4, []int{1, 3, 5, 7}},
		{100, 4, []int{12, 37, 62, 87}},
		{1, 0, []int{0}},
	} {
		if got := Slices(tc.n, tc.tiles); !slices.Equal(got, tc.want) {
			t.Errorf("Slices(%d,%d) = %v, want %v", tc.n, tc.tiles, got, tc.want)
		}
	}
}

// TestIndices renders chosen slices, one tile each, and finds the marker
// only in the tile of its slice.
func TestIndices(t *testing.T) {
	const W, H, D = 5, 6, 7
	im := marker(W, H, D, 2, 3, 4)
	for _, tc := range []struct {
		plane string
		slice int
		lit   bool
	}{
		{Axial, 4, true}, {Axial, 3, false},
		{Coronal, 3, true}, {Coronal, 0, false},
		{Sagittal, 2, true}, {Sagittal, 1, false},
	} {
		pic, err := Render(im, Options{Plane: tc.plane, Indices: []int{tc.slice}, Native: true, NoLabels: true, Level: 500, Width: 1000})
		if err != nil {
			t.Fatalf("%s slice %d: %v", tc.plane, tc.slice, err)
		}
		lit := slices.Contains(pic.(*image.Gray).Pix, 255)
		if lit != tc.lit {
			t.Errorf("%s slice %d: marker shown %v, want %v", tc.plane, tc.slice, lit, tc.lit)
		}
	}
}

func TestHalf(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float64
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0001, math.Ldexp(1, -24)}, {0x7bff, 65504}, {0x7c00, math.Inf(1)},
	} {
		if got := half(tc.h); got != tc.want {
			t.Errorf("half(%#x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsNaN(half(0x7e00)) {
		t.Error("half NaN")
	}
}
