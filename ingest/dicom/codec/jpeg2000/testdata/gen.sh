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
: > upsampled.sha256

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
# packed NAME.j2k INPUT FORMAT ppm|ppt [strip] -- OPJ-OPTIONS...: compress
# with SOP and EPH markers, move the packet headers into PPM or PPT
# segments with pack.py, and check that OpenJPEG decodes the result to
# the input (lossless only).
packed() {
	file=$1 in=$2 fmt=$3 mode=$4 strip=
	shift 4
	if [ "$1" = strip ]; then strip=strip; shift; fi
	shift # --
	opj_compress -i "$tmp/$in.rawl" -o "$tmp/plain.j2k" -F "$fmt" -SOP -EPH "$@" > /dev/null
	/usr/bin/python3 pack.py "$tmp/plain.j2k" "$file" "$mode" $strip
	opj_decompress -i "$file" -o "$tmp/out.rawl" > /dev/null
	cmp "$tmp/out.rawl" "$tmp/$in.rawl"
	echo "$(sha256sum < "$tmp/out.rawl" | cut -d' ' -f1)  $file  lossless" >> reference.sha256
}

# sub NAME.j2k INPUT FORMAT KIND OPJ-OPTIONS...: as enc, for an image
# with sub-sampled components. opj_decompress writes raw output only for
# components of equal size, so its pixels come from its PGX output (one
# file per component, at the component's size; big-endian samples made
# little-endian here), which Image.Planes must equal; its -upsample raw
# pixels, which Image.Pix must equal, go to upsampled.sha256.
sub() {
	file=$1 in=$2 fmt=$3 kind=$4
	shift 4
	opj_compress -i "$tmp/$in.rawl" -o "$file" -F "$fmt" "$@" > /dev/null
	rm -f "$tmp"/out_*.pgx
	opj_decompress -i "$file" -o "$tmp/out.pgx" > /dev/null
	/usr/bin/python3 - "$tmp"/out_*.pgx > "$tmp/out.rawl" <<-'EOF'
		import sys
		for name in sorted(sys.argv[1:], key=lambda n: int(n.rsplit("_", 1)[1][:-4])):
		    b = open(name, "rb").read()
		    head, data = b.split(b"\n", 1)
		    if int(head.split()[-3]) > 8:  # PG ML: big-endian 16-bit samples
		        data = b"".join(data[i + 1:i + 2] + data[i:i + 1] for i in range(0, len(data), 2))
		    sys.stdout.buffer.write(data)
	EOF
	if [ "$kind" = lossless ]; then
		cmp "$tmp/out.rawl" "$tmp/$in.rawl"
	else
		gzip -9n < "$tmp/out.rawl" > "$file.ref.gz"
	fi
	echo "$(sha256sum < "$tmp/out.rawl" | cut -d' ' -f1)  $file  $kind" >> reference.sha256
	opj_decompress -i "$file" -o "$tmp/up.rawl" -upsample > /dev/null
	echo "$(sha256sum < "$tmp/up.rawl" | cut -d' ' -f1)  $file" >> upsampled.sha256
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
# Progression order changes (POC; opj_compress numbers tiles from 1).
# The progressions split resolutions or components, not layers:
# opj_compress writes the packets of a layer range that overlaps an
# earlier progression's twice, which its own decoder then misreads.
enc u16_poc.j2k mr_u16 $U16 lossless -n 5 -r 20,5,1 -POC T1=0,0,3,3,1,LRCP/T1=3,0,3,6,1,RLCP
enc u16_poc_sop_eph.j2k mr_u16 $U16 lossless -n 4 -r 10,1 -SOP -EPH -POC T1=0,0,2,2,1,CPRL/T1=2,0,2,5,1,RPCL
enc rgb8_poc.j2k rgb8 64,64,3,8,u lossless -r 4,1 -n 4 -c [16,16] -POC T1=0,0,2,6,1,CPRL/T1=0,1,2,6,3,RPCL
enc u16_poc_tiles.j2k mr_u16 $U16 lossless -t 32,32 -n 3 -r 8,1 -TP L -POC T2=0,0,2,2,1,LRCP/T2=2,0,2,4,1,RLCP
enc u16_97_poc.j2k mr_u16 $U16 lossy -I -r 20,5 -POC T1=0,0,2,3,1,PCRL/T1=3,0,2,6,1,RLCP
# Packed packet headers (PPM, PPT): made by pack.py, see packed().
packed u16_ppt.j2k mr_u16 $U16 ppt -- -r 20,5,1
packed u16_ppm_strip.j2k mr_u16 $U16 ppm strip -- -r 20,5,1
packed u16_ppm_tileparts.j2k mr_u16 $U16 ppm -- -t 32,32 -TP R -n 3
packed u16_ppt_tileparts_strip.j2k mr_u16 $U16 ppt strip -- -t 40,24 -TP L -r 8,1 -n 3 -p RPCL -c [16,16]
packed rgb8_ppm_poc.j2k rgb8 64,64,3,8,u ppm -- -POC T1=0,0,1,6,3,CPRL
# Sub-sampled components (XRsiz, YRsiz > 1).
sub sub3.j2k sub3 64,64,3,8,u@1x1:1x2:2x2 lossless
sub sub2_tiles_rpcl.j2k sub2 64,64,2,8,u@1x1:2x1 lossless -t 24,40 -p RPCL -c [16,16],[8,8] -n 3
sub sub3_offset_pcrl.j2k sub3 64,64,3,8,u@1x1:1x2:2x2 lossless -d 3,5 -T 1,1 -t 30,30 -p PCRL -c [8,8] -n 3
sub sub3_97.j2k sub3 64,64,3,8,u@1x1:1x2:2x2 lossy -I -r 6
sub u16_sub2x2.j2k mr_u16 $U16 lossless -s 2,2 -n 4
sub u16_sub3x2_offset.j2k mr_u16 $U16 lossless -s 3,2 -d 3,2 -n 3 -p CPRL -c [16,16]
