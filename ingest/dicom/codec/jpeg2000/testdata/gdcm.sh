#!/bin/sh
# gdcm.sh makes the gdcm_*.dcm test files in this folder: real slices of
# testdata/dicom/mr-brain-20 compressed by GDCM's gdcmconv --j2k (Debian
# libgdcm-tools; GDCM calls OpenJPEG), and records in gdcm.sha256 the
# SHA-256 of the pixels GDCM decodes back from each (gdcmconv --raw,
# little-endian as DICOM stores them) and whether it is lossless. For
# lossless files the script checks that these pixels equal the original
# slice's, so the golden is the original. Needs /usr/bin/python3 with
# pydicom to read native pixel data.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=../../../../../testdata/dicom/mr-brain-20
: > gdcm.sha256

pixels() {
	/usr/bin/python3 -c 'import sys, pydicom; sys.stdout.buffer.write(pydicom.dcmread(sys.argv[1]).PixelData)' "$1"
}

# ref NAME.dcm ORIGINAL.dcm KIND: decode with GDCM and record the golden.
ref() {
	gdcmconv --raw "$1" "$tmp/dec.dcm"
	pixels "$tmp/dec.dcm" > "$tmp/dec.raw"
	if [ "$3" = lossless ]; then
		pixels "$2" > "$tmp/orig.raw"
		cmp "$tmp/dec.raw" "$tmp/orig.raw"
	fi
	echo "$(sha256sum < "$tmp/dec.raw" | cut -d' ' -f1)  $1  $3" >> gdcm.sha256
}

gdcmconv --j2k "$src/brain_001.dcm" gdcm_j2k_mr_001.dcm
ref gdcm_j2k_mr_001.dcm "$src/brain_001.dcm" lossless
# The same codestream cut into 4 KiB fragments (--split works on an
# already compressed file): one frame over many items.
gdcmconv --j2k "$src/brain_005.dcm" "$tmp/c.dcm"
gdcmconv --split 4096 "$tmp/c.dcm" gdcm_j2k_mr_005_split.dcm
ref gdcm_j2k_mr_005_split.dcm "$src/brain_005.dcm" lossless
# Irreversible 9/7 at rate 20 (transfer syntax .4.91).
gdcmconv --j2k --lossy --irreversible -r 20 "$src/brain_020.dcm" gdcm_j2k_mr_020_97_r20.dcm 2> /dev/null
ref gdcm_j2k_mr_020_97_r20.dcm "$src/brain_020.dcm" lossy
