#!/bin/sh
# gen.sh regenerates the JPEG-LS test files in this folder and their
# goldens. Needs Go, DCMTK (dcmcjpls/dcmdjpls, CharLS inside) and GDCM
# (gdcmconv, CharLS inside): apt-get install dcmtk libgdcm-tools.
#
# Inputs are crops of testdata/dicom/mr-brain-20/brain_001.dcm made by
# gen.go. For every compressed file, reference.sha256 holds the SHA-256 of
# the pixel data DCMTK's dcmdjpls decodes from it (little-endian, as
# DICOM stores it); for lossless files the script also checks that these
# pixels equal the uncompressed input, so the golden is the original.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run gen.go inputs ../../../../../testdata/dicom/mr-brain-20/brain_001.dcm "$tmp"
: > reference.sha256

# ref NAME INPUT LOSSLESS: decode NAME.dcm with dcmdjpls and record it.
ref() {
	dcmdjpls "$1.dcm" "$tmp/$1.dec.dcm"
	go run gen.go pixels "$tmp/$1.dec.dcm" "$tmp/$1.raw"
	if [ "$3" = lossless ]; then
		go run gen.go pixels "$tmp/$2.dcm" "$tmp/$2.orig.raw"
		cmp "$tmp/$1.raw" "$tmp/$2.orig.raw"
	fi
	echo "$(sha256sum < "$tmp/$1.raw" | cut -d' ' -f1)  $1" >> reference.sha256
}
# jls NAME INPUT LOSSLESS DCMCJPLS-OPTIONS...
jls() {
	name=$1 in=$2 kind=$3
	shift 3
	dcmcjpls "$@" "$tmp/$in.dcm" "$name.dcm"
	ref "$name" "$in" "$kind"
}

for in in mr_s16 mr_u16 mr_u12 mr_u10 mr_u8 mr_u5 mr_u2 mr_u16_2f; do
	jls "dcmtk_ls_$in" "$in" lossless
done
jls dcmtk_ls_rgb8_ilv0 rgb8 lossless +in
jls dcmtk_ls_rgb8_ilv1 rgb8 lossless +il
jls dcmtk_ls_rgb8_ilv2 rgb8 lossless +is
jls dcmtk_ls_mr_u12_lse mr_u12 lossless +t1 5 +t2 11 +t3 40 +rs 32
jls dcmtk_ls_mr_u8_lse mr_u8 lossless +t1 2 +t2 4 +t3 9 +rs 5
jls dcmtk_nl_mr_u16_near2 mr_u16 lossy +en +md 2
jls dcmtk_nl_mr_u10_near5 mr_u10 lossy +en +md 5
jls dcmtk_nl_mr_u8_near3 mr_u8 lossy +en +md 3
jls dcmtk_nl_mr_u12_near1_lse mr_u12 lossy +en +md 1 +t1 4 +t2 9 +t3 30 +rs 200
jls dcmtk_nl_rgb8_ilv1_near2 rgb8 lossy +en +md 2 +il
jls dcmtk_nl_rgb8_ilv2_near1 rgb8 lossy +en +md 1 +is
jls dcmtk_nl_rgb8_ilv0_near4 rgb8 lossy +en +md 4 +in

gdcmconv --jpegls "$tmp/mr_s16.dcm" gdcm_ls_mr_s16.dcm
ref gdcm_ls_mr_s16 mr_s16 lossless
gdcmconv --jpegls --lossy -e 3 "$tmp/mr_u12.dcm" gdcm_nl_mr_u12_near3.dcm
ref gdcm_nl_mr_u12_near3 mr_u12 lossy
gdcmconv --jpegls "$tmp/rgb8.dcm" gdcm_ls_rgb8.dcm
ref gdcm_ls_rgb8 rgb8 lossless

# A whole real slice as GDCM compresses it, besides the crops above.
cp ../../../../../testdata/dicom/mr-brain-20/brain_003.dcm "$tmp/mr_003.dcm"
gdcmconv --jpegls "$tmp/mr_003.dcm" gdcm_ls_mr_003.dcm
ref gdcm_ls_mr_003 mr_003 lossless
