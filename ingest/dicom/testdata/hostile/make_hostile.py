"""Builds the hostile DICOM files of this folder from real test files one
folder up. Run with Debian's /usr/bin/python3 (pydicom 2.3) from this folder.

Each file reproduces one way a real archive's file has stopped or swollen a
run; hostile_test.go names what each must produce.
"""
import struct
import zlib

import pydicom

UP = "../"


def element(group, elem, vr, value):
    """One explicit VR little endian element (PS3.5 §7.1.2)."""
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"):
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr.encode(), len(value)) + value


def pixel_offset(data):
    """Offset of the top-level (7FE0,0010) element header."""
    i = data.rfind(b"\xe0\x7f\x10\x00")
    assert i > 0
    return i


# Item 2 of the issue: NumberOfFrames 2147483647 in a 39 KB single-frame CT.
ds = pydicom.dcmread(UP + "pydicom_CT_small.dcm")
ds.NumberOfFrames = 2147483647
ds.save_as("frames_bomb.dcm", write_like_original=True)

# An SV element (PS3.5 2019) whose 4-byte length the header library reads
# from its 2 reserved bytes; the value then reads to it as a UT element
# with a length of 0xFFFFFFF0, which it would allocate before reading.
data = open(UP + "pydicom_liver_1frame.dcm", "rb").read()
i = pixel_offset(data)
sv = element(0x0072, 0x0082, "SV", b"UT\x00\x00\xf0\xff\xff\xff")
open("sv_length_desync.dcm", "wb").write(data[:i] + sv + data[i:])

# A short-VR string whose 16-bit length is 0xFFFF (the library reads it as
# the undefined length): the value really is 65535 bytes long.
ff = element(0x0008, 0x1030, "LO", b"") [:6] + b"\xff\xff" + b"A" * 0xFFFF
open("vr16_ffff.dcm", "wb").write(data[:i] + ff + data[i:])


def deflated(sop_class, rows, cols, frames, path):
    """A deflated explicit VR little endian file (transfer syntax
    1.2.840.10008.1.2.1.99) whose zero pixels inflate to rows*cols*frames
    bytes: about 1000 to 1."""
    body = b"".join([
        element(0x0008, 0x0016, "UI", sop_class.encode() + (b"\x00" if len(sop_class) % 2 else b"")),
        element(0x0008, 0x0018, "UI", b"1.2.3.4.5.6.7.8.9\x00"),
        element(0x0008, 0x0060, "CS", b"OT"),
        element(0x0020, 0x000D, "UI", b"1.2.3.4.5.6.7.1\x00"),
        element(0x0020, 0x000E, "UI", b"1.2.3.4.5.6.7.2\x00"),
        element(0x0028, 0x0002, "US", struct.pack("<H", 1)),
        element(0x0028, 0x0004, "CS", b"MONOCHROME2 "),
        element(0x0028, 0x0008, "IS", str(frames).encode().ljust(2 * ((len(str(frames)) + 1) // 2))),
        element(0x0028, 0x0010, "US", struct.pack("<H", rows)),
        element(0x0028, 0x0011, "US", struct.pack("<H", cols)),
        element(0x0028, 0x0100, "US", struct.pack("<H", 8)),
        element(0x0028, 0x0101, "US", struct.pack("<H", 8)),
        element(0x0028, 0x0102, "US", struct.pack("<H", 7)),
        element(0x0028, 0x0103, "US", struct.pack("<H", 0)),
    ])
    n = rows * cols * frames
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    z = c.compress(body + struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, n))
    zero = bytes(1 << 20)
    for _ in range(n >> 20):
        z += c.compress(zero)
    z += c.compress(bytes(n & ((1 << 20) - 1))) + c.flush()
    ts = b"1.2.840.10008.1.2.1.99"
    meta = element(0x0002, 0x0001, "OB", b"\x00\x01") + element(0x0002, 0x0002, "UI", sop_class.encode() + (b"\x00" if len(sop_class) % 2 else b"")) \
        + element(0x0002, 0x0003, "UI", b"1.2.3.4.5.6.7.8.9\x00") + element(0x0002, 0x0010, "UI", ts)
    meta = element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta))) + meta
    open(path, "wb").write(b"\x00" * 128 + b"DICM" + meta + z)


# A secondary capture that inflates to 256 MiB (a 1 GiB one is four times
# the file): excluded by default, it must be excluded from its header alone.
deflated("1.2.840.10008.5.1.4.1.1.7", 4096, 4096, 16, "deflate_bomb_sc.dcm")

# Item 14: a .dcm file that is empty, and one cut before the DICM magic.
open("empty.dcm", "wb").write(b"")
open("cut_before_magic.dcm", "wb").write(open(UP + "pydicom_CT_small.dcm", "rb").read()[:100])
