package train

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/medmd/medmd/shards"
)

// recordingBackend records the host memory every buffer is created from.
type recordingBackend struct {
	backends.Backend
	from []uintptr
}

func (r *recordingBackend) BufferFromFlatData(dev backends.DeviceNum, flat any, shape shapes.Shape) (backends.Buffer, error) {
	r.from = append(r.from, reflect.ValueOf(flat).Pointer())
	return r.Backend.BufferFromFlatData(dev, flat, shape)
}

// The bytes uploaded for a batch are the loader's: the contiguous view of
// the mapped shard, or its gather buffer; never a trainer copy (except
// the padded short tail, which the metric counts).
func TestLoaderBatchIsUploadedInPlace(t *testing.T) {
	cfg := tinyConfig(t, 1)
	manifest := writeCorpus(t, modelReady(t, 40, cfg), 12)
	rec := &recordingBackend{Backend: testBackend(t)}
	enc := &encoder{cfg: cfg, tok: testTokenizer(t), terms: newTermMatcher(nil)}
	l, err := openLoader(manifest, cfg, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &loaderStream{l: l, cfg: cfg, backend: rec}
	defer s.close()
	var full, contiguous, gathered int
	for i := 0; i < 16; i++ {
		// Check against the batch itself, before next releases it.
		b, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p := b.Prepared.(*loaderPrepared)
		if b.Shape[1] == 0 {
			b.Release()
			continue
		}
		if b.Shape[0] < cfg.Batch {
			b.Release()
			continue
		}
		rec.from = rec.from[:0]
		tt, err := uploadVoxels(rec, b.Voxels, b.DType, b.Shape[:])
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.from) != 1 || rec.from[0] != uintptr(unsafe.Pointer(unsafe.SliceData(b.Voxels))) {
			t.Fatalf("batch %d: uploaded from %#x, the loader's voxels are at %p", b.Index, rec.from, unsafe.SliceData(b.Voxels))
		}
		if b.Contiguous {
			contiguous++
			if unsafe.SliceData(b.Voxels) != unsafe.SliceData(b.Views[0][0]) {
				t.Fatalf("batch %d: contiguous voxels are not the mapping's view", b.Index)
			}
		} else {
			gathered++
		}
		if got := tt.Shape().Dimensions; len(got) != 6 || got[0] != cfg.Batch || got[2] != 1 {
			t.Fatalf("batch %d: tensor %v", b.Index, got)
		}
		_ = p
		full++
		b.Release()
	}
	// The stream itself: what it uploads is what the loader served.
	for i := 0; i < 8; i++ {
		rec.from = rec.from[:0]
		mb, err := s.next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if mb.bt.Images == nil {
			continue
		}
		if len(rec.from) != 1 || rec.from[0] != uintptr(unsafe.Pointer(unsafe.SliceData(mb.uploaded))) {
			t.Fatalf("stream uploaded from %#x, recorded %p", rec.from, unsafe.SliceData(mb.uploaded))
		}
		if mb.hostCopy != 0 && mb.hostCopy != int64(len(mb.uploaded)) && mb.hostCopy < int64(len(mb.uploaded)) {
			t.Fatalf("host copy %d for %d uploaded bytes", mb.hostCopy, len(mb.uploaded))
		}
	}
	if full == 0 {
		t.Fatal("no full image batch served")
	}
	t.Logf("%d full image batches: %d contiguous views, %d gathered", full, contiguous, gathered)
}

// A 3-channel 3D volume reaches the patch embedding with its channels
// intact: the patch vectors are channel-major and channel c of the
// stored volume is what lands in block c (scaled on the device).
func TestThreeChannelVolumeReachesPatches(t *testing.T) {
	backend := testBackend(t)
	cfg := tinyConfig(t, 1)
	cfg.Channels = 3
	C, D, H, W := 3, 8, 8, 8
	vox := make([]byte, C*D*H*W)
	for c := 0; c < C; c++ {
		for i := 0; i < D*H*W; i++ {
			vox[c*D*H*W+i] = byte(80*c + i%7)
		}
	}
	in, err := uploadVoxels(backend, vox, shards.Uint8, []int{1, 1, C, D, H, W})
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(cfg, 300)
	out := MustNewExec(backend, func(x *Node) *Node {
		p, _ := m.patches(x)
		return p
	}).MustExec(in)[0]
	pd, ph, pw := cfg.Patch[0], cfg.Patch[1], cfg.Patch[2]
	gd, gh, gw := D/pd, H/ph, W/pw
	psz := C * pd * ph * pw
	if got := out.Shape().Dimensions; got[0] != 1 || got[1] != gd*gh*gw || got[2] != psz {
		t.Fatalf("patches %v, want [1 %d %d]", got, gd*gh*gw, psz)
	}
	if gd < 2 {
		t.Fatalf("tiny's 3D geometry has %d depth patch; want more than one", gd)
	}
	flat := tensors.MustCopyFlatData[float32](out)
	for p := 0; p < gd*gh*gw; p++ {
		z, y, x := p/(gh*gw), p/gw%gh, p%gw
		for c := 0; c < C; c++ {
			for dz := 0; dz < pd; dz++ {
				for dy := 0; dy < ph; dy++ {
					for dx := 0; dx < pw; dx++ {
						src := ((c*D+z*pd+dz)*H+y*ph+dy)*W + x*pw + dx
						got := flat[p*psz+((c*pd+dz)*ph+dy)*pw+dx]
						if want := float32(vox[src]) / 255; abs32(got-want) > 1e-6 {
							t.Fatalf("patch %d channel %d (%d,%d,%d): %v, want %v", p, c, dz, dy, dx, got, want)
						}
					}
				}
			}
		}
	}
	// A grey 2D image broadcasts to the channels and one patch depth.
	grey := make([]byte, cfg.ImageHeight*cfg.ImageWidth)
	for i := range grey {
		grey[i] = byte(i)
	}
	in2, err := uploadVoxels(backend, grey, shards.Uint8, []int{1, 1, 1, 1, cfg.ImageHeight, cfg.ImageWidth})
	if err != nil {
		t.Fatal(err)
	}
	out2 := MustNewExec(backend, func(x *Node) *Node { p, _ := m.patches(x); return p }).MustExec(in2)[0]
	if got := out2.Shape().Dimensions; got[1] != (cfg.ImageHeight/ph)*(cfg.ImageWidth/pw) || got[2] != psz {
		t.Fatalf("2D patches %v", got)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// The device-side scaling: uint8 ÷ 255, floats as stored, signed
// integers min–max per image.
func TestScaleInput(t *testing.T) {
	backend := testBackend(t)
	for _, c := range []struct {
		name string
		in   any
		want []float32
	}{
		{"uint8", []uint8{0, 51, 255, 102}, []float32{0, 0.2, 1, 0.4}},
		{"float32", []float32{0, 0.5, 1, 0.25}, []float32{0, 0.5, 1, 0.25}},
		{"int16", []int16{-1000, 0, 1000, 500}, []float32{0, 0.5, 1, 0.75}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := reflect.ValueOf(c.in)
			dt := dtypes.FromGoType(v.Type().Elem())
			buf, err := backend.BufferFromFlatData(0, c.in, shapes.Make(dt, 1, v.Len()))
			if err != nil {
				t.Fatal(err)
			}
			in, _ := tensors.FromBuffer(backend, buf)
			got := tensors.MustCopyFlatData[float32](MustNewExec(backend, scaleInput).MustExec(in)[0])
			for i := range got {
				if abs32(got[i]-c.want[i]) > 1e-6 {
					t.Fatalf("%v → %v, want %v", c.in, got, c.want)
				}
			}
		})
	}
}

// A corpus the preset cannot take stops the run at start-up with one
// line that names the stage to add.
func TestCorpusThatDoesNotFit(t *testing.T) {
	cfg := tinyConfig(t, 1)
	for _, c := range []struct {
		name string
		smps []shards.Sample
		want string
	}{
		{"raw images", testSamples(6), "add `- type: model_input` with `preset: tiny`"},
		{"no images", func() []shards.Sample {
			s := testSamples(3)
			for i := range s {
				s[i].Images, s[i].Placements = nil, nil
			}
			return s
		}(), "no sample has an image"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := openLoader(writeCorpus(t, c.smps, 4), cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line containing %q", err, c.want)
			}
		})
	}
}
