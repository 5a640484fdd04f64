package normalize

import (
	"fmt"

	"github.com/medmd/medmd/shards"
)

// ModelInput is the image geometry a model takes, RadFM's way: 2D images
// as Channels×1×ImageHeight×ImageWidth (the trainer broadcasts depth 1 to
// one patch depth on the device, so 2D shards stay a patch-depth times
// smaller than RadFM's host-side replication), 3D volumes as
// Channels×D×VolumeHeight×VolumeWidth with D a multiple of the patch depth
// from the depth rule, capped at ImageDepth. Voxels are stored in DType,
// the element type the trainer uploads as is (uint8: 0…255 means 0…1;
// float16/float32: already 0…1). Images with one channel fit a model of
// any channel count (the trainer broadcasts grey), others must have
// exactly Channels (multi-window CT keeps its windows as channels).
//
// The keys are those of a training preset's image geometry, so a
// `model_input` stage config and a trainer config say the same thing.
//
// The fields (and their YAML/JSON keys) are shards.ModelInput's, the form
// a corpus's manifest records the geometry in.
type ModelInput shards.ModelInput

// ModelInputPresets are the image geometries of the training presets
// (train/presets.yaml takes its geometry from here, the model_input stage
// its `preset` field). small and radfm are RadFM's: 2D 512², 3D 256²
// × 4…64 slices, patches 4×32×32, 3 channels, uint8.
var ModelInputPresets = map[string]ModelInput{
	"tiny":  {Channels: 1, ImageHeight: 16, ImageWidth: 16, VolumeHeight: 8, VolumeWidth: 8, ImageDepth: 8, Patch: [3]int{4, 8, 8}, DType: shards.Uint8},
	"small": {Channels: 3, ImageHeight: Default2DSize, ImageWidth: Default2DSize, VolumeHeight: Default3DSize, VolumeWidth: Default3DSize, ImageDepth: MaxDepth, Patch: [3]int{DepthMultiple, 32, 32}, DType: shards.Uint8},
	"radfm": {Channels: 3, ImageHeight: Default2DSize, ImageWidth: Default2DSize, VolumeHeight: Default3DSize, VolumeWidth: Default3DSize, ImageDepth: MaxDepth, Patch: [3]int{DepthMultiple, 32, 32}, DType: shards.Uint8},
}

// ModelInputDTypes are the element types a model input may be stored in.
var ModelInputDTypes = []shards.DType{shards.Uint8, shards.Float16, shards.Float32}

// Validate checks the geometry is usable: positive sizes divisible by the
// patch, a known dtype.
func (g ModelInput) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"image_channels", g.Channels}, {"image_height", g.ImageHeight}, {"image_width", g.ImageWidth},
		{"volume_height", g.VolumeHeight}, {"volume_width", g.VolumeWidth}, {"image_depth", g.ImageDepth}} {
		if f.v <= 0 {
			return fmt.Errorf("%s %d must be positive", f.name, f.v)
		}
	}
	p := g.Patch
	switch {
	case p[0] <= 0 || p[1] <= 0 || p[2] <= 0:
		return fmt.Errorf("patch %v must be positive", p)
	case g.ImageDepth%p[0] != 0:
		return fmt.Errorf("image_depth %d is not a multiple of the patch depth %d", g.ImageDepth, p[0])
	case g.ImageHeight%p[1] != 0 || g.ImageWidth%p[2] != 0:
		return fmt.Errorf("2D image %dx%d not divisible by patch %dx%d", g.ImageHeight, g.ImageWidth, p[1], p[2])
	case g.VolumeHeight%p[1] != 0 || g.VolumeWidth%p[2] != 0:
		return fmt.Errorf("3D volume %dx%d not divisible by patch %dx%d", g.VolumeHeight, g.VolumeWidth, p[1], p[2])
	}
	for _, d := range ModelInputDTypes {
		if g.DType == d {
			return nil
		}
	}
	return fmt.Errorf("image_dtype %q: want one of %v", g.DType, ModelInputDTypes)
}

// Grid is the largest patch grid (depth, rows, columns) any input of the
// geometry makes: the learned position table is this size and each batch
// shape uses the corner it needs.
func (g ModelInput) Grid() [3]int {
	return [3]int{g.ImageDepth / g.Patch[0], max(g.ImageHeight, g.VolumeHeight) / g.Patch[1], max(g.ImageWidth, g.VolumeWidth) / g.Patch[2]}
}

// Depth is the stored depth of a volume of d slices: 1 for 2D, otherwise
// the depth rule with the patch depth as the multiple and ImageDepth as
// the cap (RadFM: 4, 64).
func (g ModelInput) Depth(d int) int { return DepthFor(d, g.Patch[0], g.ImageDepth) }

// Fits reports whether an image of c×d×h×w stored as dt is exactly what
// the geometry takes; the error says what differs.
func (g ModelInput) Fits(c, d, h, w int, dt shards.DType) error {
	switch {
	case dt != g.DType:
		return fmt.Errorf("stored as %s, the model takes %s", dt, g.DType)
	case c != 1 && c != g.Channels:
		return fmt.Errorf("%d channels, the model takes %s", c, g.channelsTaken())
	case d == 1 && (h != g.ImageHeight || w != g.ImageWidth):
		return fmt.Errorf("2D %dx%d, the model takes %dx%d", h, w, g.ImageHeight, g.ImageWidth)
	case d > 1 && (h != g.VolumeHeight || w != g.VolumeWidth):
		return fmt.Errorf("3D in-plane %dx%d, the model takes %dx%d", h, w, g.VolumeHeight, g.VolumeWidth)
	case d > 1 && (d%g.Patch[0] != 0 || d > g.ImageDepth):
		return fmt.Errorf("depth %d, the model takes multiples of %d up to %d", d, g.Patch[0], g.ImageDepth)
	}
	return nil
}

// channelsTaken says which channel counts g takes: 1 (grey, broadcast)
// or its own.
func (g ModelInput) channelsTaken() string {
	if g.Channels == 1 {
		return "1"
	}
	return fmt.Sprintf("1 or %d", g.Channels)
}

// Accepts reports whether g takes every image made into the geometry
// made (a corpus's recorded model input) as stored; the error says what
// differs. Depths qualify when made's patch depth is a multiple of g's
// and made's cap is not above g's.
func (g ModelInput) Accepts(made ModelInput) error {
	if err := made.Validate(); err != nil {
		return fmt.Errorf("recorded geometry: %w", err)
	}
	switch {
	case made.DType != g.DType:
		return fmt.Errorf("stored as %s, the model takes %s", made.DType, g.DType)
	case made.Channels != 1 && made.Channels != g.Channels:
		return fmt.Errorf("%d channels, the model takes %s", made.Channels, g.channelsTaken())
	case made.ImageHeight != g.ImageHeight || made.ImageWidth != g.ImageWidth:
		return fmt.Errorf("2D %dx%d, the model takes %dx%d", made.ImageHeight, made.ImageWidth, g.ImageHeight, g.ImageWidth)
	case made.VolumeHeight != g.VolumeHeight || made.VolumeWidth != g.VolumeWidth:
		return fmt.Errorf("3D in-plane %dx%d, the model takes %dx%d", made.VolumeHeight, made.VolumeWidth, g.VolumeHeight, g.VolumeWidth)
	case made.Patch[0]%g.Patch[0] != 0 || made.ImageDepth > g.ImageDepth:
		return fmt.Errorf("3D depths in multiples of %d up to %d, the model takes multiples of %d up to %d", made.Patch[0], made.ImageDepth, g.Patch[0], g.ImageDepth)
	}
	return nil
}

// ApplyModelInput makes im exactly what g takes, in place: intensities
// mapped to 0…1 in g.DType (RadFM's min–max) unless an earlier intensity
// stage already stored them in g.DType, then resized (mode) to the 2D or
// 3D geometry with the depth rule. Channels are kept; an image whose
// channel count the model cannot take is an error (the caller quarantines
// it); a 1-channel model takes the mean of an image's channels. It records a "model_input" transform with the geometry.
func ApplyModelInput(im *shards.Image, g ModelInput, mode Interp) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := checkVoxels(im); err != nil {
		return err
	}
	if g.Channels == 1 && im.Channels > 1 {
		// A grey model takes the channel mean (an RGB figure's luminance
		// up to weighting); a model of C > 1 channels keeps them.
		if err := meanChannels(im); err != nil {
			return err
		}
	}
	if im.Channels != 1 && im.Channels != g.Channels {
		return fmt.Errorf("model_input: %d channels, the model takes 1 or %d", im.Channels, g.Channels)
	}
	if im.DType != g.DType || !hasTransform(im, "intensity") {
		if err := Intensity(im, IntensityOptions{Method: MethodMinMax, OutDType: g.DType}); err != nil {
			return err
		}
	}
	o := ResizeOptions{Mode: mode, OutDType: g.DType, Height: g.ImageHeight, Width: g.ImageWidth, Depth: 1}
	if im.Is3D() {
		o.Height, o.Width, o.Depth = g.VolumeHeight, g.VolumeWidth, g.Depth(im.Depth)
	}
	if im.Depth != o.Depth || im.Height != o.Height || im.Width != o.Width {
		if err := Resize(im, o); err != nil {
			return err
		}
	}
	return AddTransform(im, "model_input", map[string]any{"geometry": g})
}

func hasTransform(im *shards.Image, name string) bool {
	for _, t := range im.Transforms {
		if t.Name == name {
			return true
		}
	}
	return false
}

// meanChannels replaces im's channels by their mean, in its own dtype.
func meanChannels(im *shards.Image) error {
	C, n := im.Channels, im.NumVoxels()/im.Channels
	all := make([]float32, C*n)
	if _, err := toFloat32(all, im.Voxels, im.DType, 0); err != nil {
		return err
	}
	grey := all[:n]
	for i := range grey {
		var s float32
		for c := 0; c < C; c++ {
			s += all[c*n+i]
		}
		grey[i] = s / float32(C)
	}
	out, err := fromFloat32(grey, im.DType)
	if err != nil {
		return err
	}
	im.Voxels, im.Channels = out, 1
	return AddTransform(im, "mean_channels", map[string]any{"channels": C})
}
