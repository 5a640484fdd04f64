package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

type nopSource struct{}

func (nopSource) Plan(context.Context) ([]ingest.Unit, error)                { return nil, nil }
func (nopSource) Read(context.Context, ingest.Unit) ([]shards.Sample, error) { return nil, nil }

func init() {
	ingest.RegisterSource(ingest.Spec{Name: "stages-test", Summary: "test source"},
		func(ingest.Params, string) (ingest.Source, error) { return nopSource{}, nil })
}

// build lints a one-stage pipeline through ingest.ParseConfig (so the
// stage gets real, defaulted ingest.Params) and builds the stage.
func build(t *testing.T, stage string) ingest.Stage {
	t.Helper()
	cfg, err := ingest.ParseConfig("test.yaml", []byte("version: 1\npipelines:\n  - name: t\n    source: {type: stages-test}\n    stages:\n      - "+stage+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := cfg.Pipelines[0].Build(".")
	if err != nil {
		t.Fatal(err)
	}
	return st[0].Stage
}

func lintErr(stage string) error {
	_, err := ingest.ParseConfig("test.yaml", []byte("version: 1\npipelines:\n  - name: t\n    source: {type: stages-test}\n    stages:\n      - "+stage+"\n"))
	return err
}

func volume(mod string, d, h, w int) shards.Image {
	v := make([]byte, 2*d*h*w)
	for i := 0; i < d*h*w; i++ {
		x := int16(i%97*13 - 400)
		v[2*i], v[2*i+1] = byte(x), byte(uint16(x)>>8)
	}
	return shards.Image{Modality: mod, DType: shards.Int16, Channels: 1, Depth: d, Height: h, Width: w, Voxels: v,
		Spacing: [3]float64{0.8, 0.8, 3}, Affine: [16]float64{0.8, 0, 0, -10, 0, 0.8, 0, -20, 0, 0, 3, 5, 0, 0, 0, 1}, SourcePath: "vol.nii.gz"}
}

func params(t *testing.T, tr shards.Transform) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(tr.Params), &m); err != nil {
		t.Fatalf("transform %s params %q: %v", tr.Name, tr.Params, err)
	}
	return m
}

func TestResizeStage(t *testing.T) {
	st := build(t, "{type: resize, height: 16, width: 12, height_2d: 20, width_2d: 20, mode: area}")
	s := shards.Sample{Images: []shards.Image{volume("MR", 10, 40, 30), volume("DX", 1, 50, 50)}}
	if err := st.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	v, p := s.Images[0], s.Images[1]
	if v.Depth != 8 || v.Height != 16 || v.Width != 12 || v.DType != shards.Float32 || len(v.Voxels) != 8*16*12*4 {
		t.Errorf("volume %d×%d×%d %s", v.Depth, v.Height, v.Width, v.DType)
	}
	if p.Depth != 1 || p.Height != 20 || p.Width != 20 {
		t.Errorf("2D image %d×%d×%d", p.Depth, p.Height, p.Width)
	}
	m := params(t, v.Transforms[0])
	if v.Transforms[0].Name != "resize" || m["depth"] != 8.0 || m["mode"] != "area" || m["convention"] != "pixel-centre" {
		t.Errorf("transform %+v", v.Transforms)
	}
	if v.Spacing[2] != 3*10.0/8 || v.Affine[10] != 3*10.0/8 {
		t.Errorf("spacing %v affine %v", v.Spacing, v.Affine)
	}
	// Params canonical: keys sorted, as encoding/json writes maps.
	if !strings.HasPrefix(v.Transforms[0].Params, `{"convention":`) {
		t.Errorf("params not canonical: %s", v.Transforms[0].Params)
	}
	if err := lintErr("{type: resize, mode: cubic}"); err == nil || !strings.Contains(err.Error(), "cubic") {
		t.Errorf("bad mode not linted: %v", err)
	}
	if err := lintErr("{type: resize, hieght: 3}"); err == nil || !strings.Contains(err.Error(), "height") {
		t.Errorf("typo not linted: %v", err)
	}
}

func TestResizeStageSpacingKeepAspect(t *testing.T) {
	st := build(t, "{type: resize, spacing_mm: [1.6, 1.6, 3], depth: keep, height: 32, width: 32, keep_aspect: true, pad: '0', dtype: int16}")
	s := shards.Sample{Images: []shards.Image{volume("MR", 4, 40, 20)}}
	if err := st.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	v := s.Images[0]
	if v.Depth != 4 || v.Height != 32 || v.Width != 32 || v.DType != shards.Int16 {
		t.Errorf("volume %d×%d×%d %s", v.Depth, v.Height, v.Width, v.DType)
	}
	if len(v.Transforms) != 2 || v.Transforms[0].Name != "resample_spacing" || v.Transforms[1].Name != "resize" {
		t.Errorf("transforms %+v", v.Transforms)
	}
	// 40×20 rows×cols at 1.6 mm → 20×10, fitted in 32×32 → 32×16 with 8 columns of 0 each side
	if v.Voxels[0] != 0 || v.Voxels[1] != 0 {
		t.Errorf("padding not 0")
	}
}

func TestDepthRuleStage(t *testing.T) {
	st := build(t, "{type: depth_rule}")
	for _, tc := range []struct{ in, want int }{{6, 4}, {10, 8}, {7, 8}, {100, 64}, {1, 1}} {
		s := shards.Sample{Images: []shards.Image{volume("CT", tc.in, 8, 8)}}
		if err := st.Apply(context.Background(), &s); err != nil {
			t.Fatal(err)
		}
		if got := s.Images[0].Depth; got != tc.want || s.Images[0].Height != 8 {
			t.Errorf("depth %d → %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestIntensityStages(t *testing.T) {
	st := build(t, "{type: intensity, windows: [lung, '40/400']}")
	s := shards.Sample{Images: []shards.Image{volume("CT", 2, 8, 8), volume("MR", 2, 8, 8)}}
	if err := st.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	ct, mr := s.Images[0], s.Images[1]
	if ct.Channels != 2 || ct.DType != shards.Uint8 || params(t, ct.Transforms[0])["method"] != "window" {
		t.Errorf("CT: %d channels %s %v", ct.Channels, ct.DType, ct.Transforms)
	}
	if mr.Channels != 1 || params(t, mr.Transforms[0])["method"] != "percentile" {
		t.Errorf("MR: %v", mr.Transforms)
	}
	w := build(t, "{type: window, windows: [bone], dtype: float32}")
	s = shards.Sample{Images: []shards.Image{volume("CT", 2, 8, 8), volume("MR", 2, 8, 8)}}
	if err := w.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Images[0].DType != shards.Float32 || s.Images[1].DType != shards.Int16 || len(s.Images[1].Transforms) != 0 {
		t.Errorf("window stage: %s / %s", s.Images[0].DType, s.Images[1].DType)
	}
	if err := lintErr("{type: intensity, dtype: int8}"); err == nil {
		t.Error("intensity dtype int8 not linted")
	}
	if _, err := ingest.ParseConfig("t.yaml", []byte("version: 1\npipelines:\n  - name: t\n    source: {type: stages-test}\n    stages:\n      - {type: window, windows: [lungs]}\n")); err != nil {
		t.Fatal(err)
	} else {
		cfg, _ := ingest.ParseConfig("t.yaml", []byte("version: 1\npipelines:\n  - name: t\n    source: {type: stages-test}\n    stages:\n      - {type: window, windows: [lungs]}\n"))
		if _, _, err := cfg.Pipelines[0].Build("."); err == nil || !strings.Contains(err.Error(), "lungs") {
			t.Errorf("unknown preset: %v", err)
		}
	}
}

func TestTextStages(t *testing.T) {
	st := build(t, "{type: text_clean, measurements: true}")
	s := shards.Sample{
		Instruction: "Q:  What does the image show?",
		Response:    "• A 3.2 x 2.1 cm mass (Fig. 2A) in the liver [12].",
		Placements:  []shards.Placement{{Image: 0, Field: shards.FieldResponse, Offset: 2}},
	}
	if err := st.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Instruction != "What does the image show?" || s.Response != "A mass in the liver." {
		t.Errorf("text %q / %q", s.Instruction, s.Response)
	}
	if s.Placements[0].Offset != 0 {
		t.Errorf("placement offset %d, want 0 (before \"A\")", s.Placements[0].Offset)
	}
	var counts map[string]int
	if err := json.Unmarshal([]byte(s.Meta["text_clean"]), &counts); err != nil || counts["callout"] != 1 || counts["measurement"] != 1 {
		t.Errorf("meta %v", s.Meta)
	}
	d := build(t, "{type: deidentify}")
	s = shards.Sample{Response: "Reported by Dr. Smith on 12/03/2019, contact smith@example.org."}
	if err := d.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Response != "Reported by [NAME] on [DATE], contact [EMAIL]." || s.Meta["deid_total"] != "3" || s.Meta["deid_date"] != "1" {
		t.Errorf("deid %q %v", s.Response, s.Meta)
	}
	d = build(t, "{type: deidentify, categories: [email]}")
	s = shards.Sample{Response: "Dr. Smith, smith@example.org"}
	d.Apply(context.Background(), &s)
	if s.Response != "Dr. Smith, [EMAIL]" {
		t.Errorf("categories ignored: %q", s.Response)
	}
}

func TestDecode2DStage(t *testing.T) {
	jpg, err := os.ReadFile("../../normalize/testdata/images/exif8-right.jpg")
	if err != nil {
		t.Fatal(err)
	}
	var small bytes.Buffer
	png.Encode(&small, image.NewGray(image.Rect(0, 0, 8, 8)))
	st := build(t, "{type: decode_2d}")
	s := shards.Sample{Images: []shards.Image{{Voxels: jpg, SourcePath: "fig1.jpg", Modality: "MR"}}}
	if err := st.Apply(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	im := s.Images[0]
	if im.DType != shards.Uint8 || im.Channels != 1 || im.Width != 480 || im.Height != 640 || im.Modality != "MR" || im.SourcePath != "fig1.jpg" {
		t.Errorf("decoded %d×%d×%d %s %q", im.Channels, im.Height, im.Width, im.DType, im.Modality)
	}
	if im.Transforms[0].Name != "decode_2d" || params(t, im.Transforms[0])["orientation"] != 8.0 {
		t.Errorf("transforms %+v", im.Transforms)
	}
	s = shards.Sample{Images: []shards.Image{{Voxels: small.Bytes(), SourcePath: "icon.png"}}}
	err = st.Apply(context.Background(), &s)
	var de *normalize.DropError
	if !errors.As(err, &de) || de.Reason != normalize.DropImageTooSmall || !strings.Contains(de.Detail, "icon.png") {
		t.Errorf("small image: %v", err)
	}
}

func TestSpecsDocumented(t *testing.T) {
	names := map[string]bool{}
	for _, sp := range ingest.StageSpecs() {
		names[sp.Name] = true
		for _, f := range sp.Fields {
			if f.Description == "" || f.Example == "" {
				t.Errorf("stage %s field %s lacks description or example", sp.Name, f.Name)
			}
		}
	}
	for _, n := range []string{"resize", "depth_rule", "intensity", "window", "text_clean", "deidentify", "decode_2d"} {
		if !names[n] {
			t.Errorf("stage %s not registered", n)
		}
	}
}
