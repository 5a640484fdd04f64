#!/bin/sh
# gen.sh regenerates the DCT JPEG test files in this folder and their
# goldens. Needs Go and DCMTK (apt-get install dcmtk).
#
# Inputs are crops of testdata/dicom/mr-brain-20/brain_001.dcm made by
# ../../jpegls/testdata/gen.go. NAME.ref is the pixel data DCMTK's
# dcmdjpeg (libjpeg 6b, islow IDCT) decodes from NAME.dcm, native
# little-endian layout, colour kept as coded (+cn).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gen=../../jpegls/testdata/gen.go
go run $gen inputs ../../../../../testdata/dicom/mr-brain-20/brain_001.dcm "$tmp"

# jpg NAME INPUT DCMCJPEG-OPTIONS...
jpg() {
	name=$1 in=$2
	shift 2
	dcmcjpeg "$@" "$tmp/$in.dcm" "$name.dcm"
	dcmdjpeg +cn "$name.dcm" "$tmp/$name.dec.dcm"
	go run $gen pixels "$tmp/$name.dec.dcm" "$name.ref"
}

jpg dcmtk_ext12_q90 mr_u12 +ee
jpg dcmtk_ext12_q50 mr_u12 +ee +q 50
jpg dcmtk_ext12_q100 mr_u12 +ee +q 100
jpg dcmtk_ext12_u10 mr_u10 +ee +q 80
jpg dcmtk_ext8_q85 mr_u8 +ee +q 85
jpg dcmtk_base8_std mr_u8 +eb -ho
jpg dcmtk_ext8_rgb444 rgb8 +ee +s4
