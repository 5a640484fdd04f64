#!/usr/bin/python3
"""pack.py moves the packet headers of a JPEG 2000 codestream into packed
packet header segments (ISO/IEC 15444-1 A.7.4 PPM, A.7.5 PPT):

    pack.py IN.j2k OUT.j2k ppm|ppt [strip]

IN must have been written with SOP and EPH markers (opj_compress -SOP
-EPH): they delimit each packet, so the headers can be cut out without
decoding them (bit stuffing keeps 0xFF91 and 0xFF92 out of packet headers
and code-block data). Each header, with its EPH marker, goes into one PPM
segment in the main header (ppm; one Nppm-prefixed block per tile-part in
codestream order) or into PPT segments in its tile-part's header (ppt);
the packet bodies stay in place, each after its SOP marker. With "strip"
the SOP and EPH markers are dropped and the COD segments' Scod flags for
them cleared. Tile-part lengths (Psot) are rewritten; TLM and PLT
segments, which would be stale, are refused.

No encoder at hand writes PPM or PPT (OpenJPEG's opj_compress cannot), so
gen.sh makes those test files with this script and checks that
opj_decompress decodes them to the original pixels.
"""
import struct
import sys

SOC, SOT, SOD, EOC = 0xFF4F, 0xFF90, 0xFF93, 0xFFD9
COD, TLM, PLT, PLM, PPM, PPT = 0xFF52, 0xFF55, 0xFF58, 0xFF57, 0xFF60, 0xFF61
SOP, EPH = b"\xff\x91", b"\xff\x92"


def segments(b, pos, stop):
    """Marker segments from pos up to (not including) the marker stop."""
    out = []
    while True:
        m = struct.unpack(">H", b[pos:pos + 2])[0]
        if m == stop:
            return out, pos
        n = struct.unpack(">H", b[pos + 2:pos + 4])[0]
        if m in (TLM, PLT, PLM, PPM, PPT):
            sys.exit("marker 0x%04X: not supported by pack.py" % m)
        out.append((m, b[pos + 4:pos + 2 + n]))
        pos += 2 + n


def encode(segs):
    return b"".join(struct.pack(">HH", m, len(body) + 2) + body for m, body in segs)


def strip_cod(segs):
    return [(m, bytes([body[0] & ~0x06]) + body[1:]) if m == COD else (m, body) for m, body in segs]


def split_packets(data):
    """(header incl. EPH, body incl. its SOP) for every packet."""
    pkts = []
    pos = 0
    while pos < len(data):
        if data[pos:pos + 2] != SOP:
            sys.exit("packet without SOP at tile-part offset %d" % pos)
        sop = data[pos:pos + 6]
        eph = data.find(EPH, pos + 6)
        if eph < 0:
            sys.exit("packet without EPH")
        hdr = data[pos + 6:eph + 2]
        nxt = data.find(SOP, eph + 2)
        if nxt < 0:
            nxt = len(data)
        pkts.append((hdr, sop, data[eph + 2:nxt]))
        pos = nxt
    return pkts


def chunks(data, zmax_len):
    return [data[i:i + zmax_len] for i in range(0, len(data), zmax_len)] or [b""]


def main():
    src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    strip = len(sys.argv) > 4 and sys.argv[4] == "strip"
    b = open(src, "rb").read()
    assert struct.unpack(">H", b[:2])[0] == SOC
    main_segs, pos = segments(b, 2, SOT)
    parts = []  # (Isot, TPsot, TNsot, header segments, packets)
    while struct.unpack(">H", b[pos:pos + 2])[0] == SOT:
        isot, psot, tpsot, tnsot = struct.unpack(">HIBB", b[pos + 4:pos + 12])
        end = pos + psot if psot else len(b) - 2
        hsegs, p = segments(b, pos + 12, SOD)
        parts.append((isot, tpsot, tnsot, hsegs, split_packets(b[p + 2:end])))
        pos = end
    assert b[pos:pos + 2] == b"\xff\xd9", "codestream does not end with EOC"
    if strip:
        main_segs = strip_cod(main_segs)
    out = [b[:2]]
    if mode == "ppm":
        blocks = b""
        for _, _, _, _, pkts in parts:
            h = b"".join(hdr[:-2] if strip else hdr for hdr, _, _ in pkts)
            blocks += struct.pack(">I", len(h)) + h
        segs = [(PPM, bytes([z]) + c) for z, c in enumerate(chunks(blocks, 65000))]
        out.append(encode(main_segs + segs))
    else:
        out.append(encode(main_segs))
    zppt = {}  # per tile: the next Zppt; OpenJPEG counts across tile-parts
    for isot, tpsot, tnsot, hsegs, pkts in parts:
        if strip:
            hsegs = strip_cod(hsegs)
        if mode == "ppt":
            h = b"".join(hdr[:-2] if strip else hdr for hdr, _, _ in pkts)
            for c in chunks(h, 65000):
                z = zppt.get(isot, 0)
                hsegs = hsegs + [(PPT, bytes([z]) + c)]
                zppt[isot] = z + 1
        body = b"".join(data if strip else sop + data for _, sop, data in pkts)
        header = encode(hsegs)
        psot = 12 + len(header) + 2 + len(body)
        out.append(struct.pack(">HHHIBB", SOT, 10, isot, psot, tpsot, tnsot) + header + b"\xff\x93" + body)
    out.append(b"\xff\xd9")
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    main()
