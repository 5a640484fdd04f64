#!/bin/sh
# gen.sh regenerates the JPEG 2000 test codestreams in this folder and
# their goldens. Needs Go and OpenJPEG's tools (opj_compress,
# opj_decompress): apt-get install libopenjp2-tools.
#
# Inputs are 64×64 crops of testdata/dicom/mr-brain-20/brain_001.dcm made
# by gen.go. reference.sha256 holds, for every codestream, the SHA-256 of
# the pixels opj_decompress decodes from it (raw, little-endian, one or
# two bytes a sample, components planar) and whether it is lossless; for
# lossless codestreams the script checks that these pixels equal the
# input, so the golden is the original. For lossy codestreams the
# reference pixels are kept as NAME.ref.gz, for the ±1 comparison.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run gen.go ../../../../../testdata/dicom/mr-brain-20/brain_001.dcm "$tmp"
rm -f ./*.j2k ./*.jp2 ./*.ref.gz
: > reference.sha256

# enc NAME.EXT INPUT FORMAT KIND OPJ-OPTIONS...: compress, decode with
# OpenJPEG and record the golden.
enc() {
	file=$1 in=$2 fmt=$3 kind=$4
	shift 4
	opj_compress -i "$tmp/$in.rawl" -o "$file" -F "$fmt" "$@" > /dev/null
	opj_decompress -i "$file" -o "$tmp/out.rawl" > /dev/null
	if [ "$kind" = lossless ]; then
		cmp "$tmp/out.rawl" "$tmp/$in.rawl"
	else
		gzip -9n < "$tmp/out.rawl" > "$file.ref.gz"
	fi
	echo "$(sha256sum < "$tmp/out.rawl" | cut -d' ' -f1)  $file  $kind" >> reference.sha256
}
U16=64,64,1,16,u
enc u16_default.j2k mr_u16 $U16 lossless
enc u16_jp2.jp2 mr_u16 $U16 lossless
enc u16_n1.j2k mr_u16 $U16 lossless -n 1
enc u16_n2.j2k mr_u16 $U16 lossless -n 2
enc s16.j2k mr_s16 64,64,1,16,s lossless
enc u12.j2k mr_u12 64,64,1,12,u lossless
enc u8.j2k mr_u8 64,64,1,8,u lossless
enc rgb8_rct.j2k rgb8 64,64,3,8,u lossless
enc u16_tiles.j2k mr_u16 $U16 lossless -t 24,20 -n 3
enc u16_tileparts.j2k mr_u16 $U16 lossless -t 32,32 -TP R
enc u16_rlcp_layers.j2k mr_u16 $U16 lossless -p RLCP -r 40,10,1
enc u16_rpcl_prec.j2k mr_u16 $U16 lossless -p RPCL -c [16,16],[16,16],[8,8]
enc u16_pcrl_prec.j2k mr_u16 $U16 lossless -p PCRL -c [32,32],[16,16]
enc u16_cprl_tiles.j2k mr_u16 $U16 lossless -p CPRL -c [16,16] -t 40,40 -n 3
enc u16_layers.j2k mr_u16 $U16 lossless -r 20,5,1
enc u16_cb16.j2k mr_u16 $U16 lossless -b 16,16
enc u16_cb8x32.j2k mr_u16 $U16 lossless -b 8,32
enc u16_bypass.j2k mr_u16 $U16 lossless -M 1
enc u16_reset.j2k mr_u16 $U16 lossless -M 2
enc u16_termall.j2k mr_u16 $U16 lossless -M 4
enc u16_vcausal.j2k mr_u16 $U16 lossless -M 8
enc u16_pterm.j2k mr_u16 $U16 lossless -M 16
enc u16_segsym.j2k mr_u16 $U16 lossless -M 32
enc u16_allstyles.j2k mr_u16 $U16 lossless -M 63
enc u16_bypass_termall_layers.j2k mr_u16 $U16 lossless -M 5 -r 30,2,1
enc u16_sop_eph.j2k mr_u16 $U16 lossless -SOP -EPH
enc u16_roi.j2k mr_u16 $U16 lossless -ROI c=0,U=3
enc u16_97.j2k mr_u16 $U16 lossy -I
enc u16_97_r10.j2k mr_u16 $U16 lossy -I -r 10
enc u16_97_layers.j2k mr_u16 $U16 lossy -I -r 40,10,2 -n 4
enc s16_97_r8.j2k mr_s16 64,64,1,16,s lossy -I -r 8
enc u12_97_styles.j2k mr_u12 64,64,1,12,u lossy -I -r 5 -M 63
enc u16_53_r10.j2k mr_u16 $U16 lossy -r 10
enc u16_97_psnr.j2k mr_u16 $U16 lossy -I -q 30,40
enc rgb8_ict_r10.j2k rgb8 64,64,3,8,u lossy -I -r 10
enc rgb8_ict_rpcl.j2k rgb8 64,64,3,8,u lossy -I -r 20,5 -p RPCL
enc u16_offset.j2k mr_u16 $U16 lossless -d 5,3 -n 3
enc u16_offset_tiles_rpcl.j2k mr_u16 $U16 lossless -d 7,9 -T 3,5 -t 20,24 -n 3 -p RPCL -c [8,8]
enc u16_offset_tiles_pcrl_97.j2k mr_u16 $U16 lossy -d 7,9 -T 3,5 -t 20,24 -n 3 -p PCRL -c [8,8] -I -r 5
enc u16_offset_tiles_cprl.j2k mr_u16 $U16 lossless -d 1,1 -T 1,1 -t 31,33 -n 4 -p CPRL -c [16,16],[8,8]
