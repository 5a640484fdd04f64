package normalize

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/medmd/medmd/shards"
)

// TestResizeExtentOne resizes images with an extent of 1 along each axis
// (a single sagittal slice, a NIfTI with dim[1]=1, a scout) to larger,
// smaller and equal sizes in every mode and through both implementations:
// each must give the asked size and finite values, never panic.
func TestResizeExtentOne(t *testing.T) {
	shapes := [][4]int{{1, 1, 1, 1}, {1, 5, 1, 7}, {1, 5, 7, 1}, {1, 1, 7, 1}, {1, 1, 1, 9}, {1, 9, 1, 1}, {3, 4, 1, 6}, {2, 1, 1, 5}}
	targets := [][3]int{{0, 4, 4}, {8, 3, 3}, {1, 1, 1}, {2, 16, 2}, {0, 0, 0}}
	for _, path := range []int{pathAuto, pathGeneric, pathFused} {
		for _, mode := range []Interp{Nearest, Linear, Area, Antialias} {
			for _, sh := range shapes {
				for _, tg := range targets {
					for _, keep := range []bool{false, true} {
						name := fmt.Sprintf("path%d/%s/%v/%v/keep=%v", path, mode, sh, tg, keep)
						t.Run(name, func(t *testing.T) {
							old := resamplePath
							resamplePath = path
							defer func() { resamplePath = old }()
							im := f32Image(sh[0], sh[1], sh[2], sh[3], func(i int) float32 { return float32(i % 13) })
							o := ResizeOptions{Depth: tg[0], Height: tg[1], Width: tg[2], Mode: mode, KeepAspect: keep}
							if err := Resize(im, o); err != nil {
								t.Fatal(err)
							}
							checkResized(t, im, sh, tg)
						})
					}
				}
			}
		}
	}
}

func checkResized(t *testing.T, im *shards.Image, sh [4]int, tg [3]int) {
	t.Helper()
	want := [3]int{tg[0], tg[1], tg[2]}
	for a := range want {
		if want[a] <= 0 || (a == 0 && sh[1] == 1) {
			want[a] = sh[a+1]
		}
	}
	if im.Depth != want[0] || im.Height != want[1] || im.Width != want[2] {
		t.Fatalf("got %dx%dx%d, want %v", im.Depth, im.Height, im.Width, want)
	}
	v := shards.View[float32](im.Voxels)
	if len(v) != im.Channels*im.Depth*im.Height*im.Width {
		t.Fatalf("%d values for %dx%dx%dx%d", len(v), im.Channels, im.Depth, im.Height, im.Width)
	}
	// A weighted mean of values in [0, 12] stays in it but for rounding:
	// float32 weights that sum to 1 within a few ulps (the antialias
	// kernel's) may land a few ulps past the ends.
	const ulps = 12 * 4 * 0x1p-23
	for _, x := range v {
		if x != x || x < -ulps || x > 12+ulps {
			t.Fatalf("value %v outside the input range", x)
		}
	}
}

// FuzzResizeShapes resizes random shapes (extents 1 included) to random
// sizes: Resize returns an error or an image of the asked size.
func FuzzResizeShapes(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(1), uint8(4), uint8(4), uint8(4), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(9), uint8(1), uint8(1), uint8(0), uint8(16), uint8(16), uint8(3), uint64(2))
	f.Fuzz(func(t *testing.T, c, d, h, w, td, th, tw, mode uint8, seed uint64) {
		sh := [4]int{int(c%3) + 1, int(d%24) + 1, int(h%24) + 1, int(w%24) + 1}
		tg := [3]int{int(td % 40), int(th % 40), int(tw % 40)}
		modes := []Interp{Nearest, Linear, Area, Antialias}
		r := rand.New(rand.NewPCG(seed, 1))
		im := f32Image(sh[0], sh[1], sh[2], sh[3], func(int) float32 { return float32(r.IntN(13)) })
		if err := Resize(im, ResizeOptions{Depth: tg[0], Height: tg[1], Width: tg[2], Mode: modes[int(mode)%4], KeepAspect: mode >= 4}); err != nil {
			t.Fatal(err)
		}
		checkResized(t, im, sh, tg)
	})
}
