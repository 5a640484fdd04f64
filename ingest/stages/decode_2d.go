package stages

import (
	"context"
	"errors"
	"fmt"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

var decode2DSpec = ingest.Spec{
	Name: "decode_2d",
	Summary: "Decode still-encoded 2D images (an Image with an empty DType whose Voxels hold the PNG/JPEG/GIF/TIFF/BMP/WebP " +
		"file bytes) into C×H×W planes: gray (also gray-in-RGB) → 1 channel, colour → 3, EXIF rotation applied. An image " +
		"below min_size or beyond max_aspect drops the sample with reason image-too-small / image-aspect.",
	Fields: []ingest.Field{
		{Name: "min_size", Type: ingest.TypeInt, Default: 32, Description: "smallest width and height in pixels (-1 = no check)", Example: "64"},
		{Name: "max_aspect", Type: ingest.TypeFloat, Default: 10.0, Description: "largest long/short side ratio (-1 = no check)", Example: "8"},
		{Name: "max_pixels", Type: ingest.TypeInt, Default: 64 << 20, Description: "largest width×height decoded (decompression-bomb guard)", Example: "16777216"},
	},
}

type decode2DStage struct{ o normalize.Image2DOptions }

func newDecode2D(p ingest.Params) (ingest.Stage, error) {
	o := normalize.Image2DOptions{MinSize: p.Int("min_size"), MaxAspect: p.Float("max_aspect"), MaxPixels: p.Int("max_pixels")}
	if o.MaxPixels <= 0 {
		return nil, fmt.Errorf("max_pixels must be positive")
	}
	return &decode2DStage{o}, nil
}

func (s *decode2DStage) Apply(ctx context.Context, smp *shards.Sample) error {
	for i := range smp.Images {
		im := &smp.Images[i]
		if im.DType != "" || len(im.Voxels) == 0 {
			continue
		}
		dec, err := normalize.DecodeImage(im.Voxels, s.o)
		if err != nil {
			var de *normalize.DropError
			if errors.As(err, &de) {
				d := *de
				d.Detail = fmt.Sprintf("image %d (%s): %s", i, im.SourcePath, d.Detail)
				return &d
			}
			return imageErr(i, im, err)
		}
		// keep provenance and what the source already knew
		dec.Modality, dec.Plane = im.Modality, im.Plane
		dec.SourcePath, dec.SourceSHA256 = im.SourcePath, im.SourceSHA256
		for k, v := range im.Meta {
			if _, ok := dec.Meta[k]; !ok {
				dec.Meta[k] = v
			}
		}
		dec.Transforms = append(im.Transforms, dec.Transforms...)
		*im = dec
	}
	return nil
}

func init() { ingest.RegisterStage(decode2DSpec, newDecode2D) }
