#!/usr/bin/python3
"""Write testdata/derived/: variants of the real files in testdata/ that cover
header features the real files lack (every datatype, scaling, qform-only,
pixdim-only, oblique affines, .hdr/.img pairs, big-endian NIfTI-2).

Every derived file takes its voxels from a real volume (anatomical.nii or
standard.nii.gz, both nibabel test data, MIT licence) and is written by
nibabel itself, so the bytes are what a real tool produces.

Run with Debian's interpreter: /usr/bin/python3 make_derived.py
"""
import gzip
import os
import struct

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "derived")
os.makedirs(OUT, exist_ok=True)

anat = nib.load(os.path.join(HERE, "anatomical.nii"))  # (33, 41, 25) >i2, LAS
std = nib.load(os.path.join(HERE, "standard.nii.gz"))  # (4, 5, 7) uint8, RAS
a = np.asanyarray(anat.dataobj).astype(np.int64)  # values 0..~900
s = np.asanyarray(std.dataobj)

# A crop keeps the derived files tiny while staying real image data.
crop = a[8:20, 10:26, 6:14]  # (12, 16, 8)


def save(img, name, **hdr):
    for k, v in hdr.items():
        img.header[k] = v
    nib.save(img, os.path.join(OUT, name))


def patch(name, fields):
    """Overwrite header fields in a saved file: nibabel recomputes scl_* and
    pixdim on save, so header-level cases are written byte-exactly here.
    fields: {offset: (struct format without byte order, value)}."""
    path = os.path.join(OUT, name)
    gz = path.endswith(".gz")
    raw = bytearray(gzip.open(path).read() if gz else open(path, "rb").read())
    bo = "<" if struct.unpack("<i", raw[:4])[0] in (348, 540) else ">"
    for off, (fmt, val) in fields.items():
        struct.pack_into(bo + fmt, raw, off, *val)
    if gz:
        with open(path, "wb") as f:
            f.write(gzip.compress(bytes(raw), mtime=0))
    else:
        open(path, "wb").write(raw)


# Every integer/float datatype nibabel reads, from the same real voxels.
cases = {
    "int8": crop // 8 - 60,
    "uint8": crop // 4,
    "int16": crop - 300,
    "uint16": crop * 50,
    "int32": crop * 100000 - 2**30,
    "uint32": crop * 4000000 + 2**31,
    "int64": crop * 10**12 - 2**62,
    "uint64": crop * 10**13 + 2**63 + 12345,
    "float32": crop.astype(np.float32) / 7.0,
    "float64": crop.astype(np.float64) / 7.0 - 1e-9,
}
for name, arr in cases.items():
    arr = arr.astype(name)
    img = nib.Nifti1Image(arr, anat.affine, dtype=name)
    img.header.set_slope_inter(1, 0)
    save(img, f"dtype_{name}.nii")

# Big-endian uint64 and float64 (byte swapping on 8-byte types).
for name in ("uint64", "float64"):
    arr = cases[name].astype(name)
    hdr = nib.Nifti1Header(endianness=">")
    img = nib.Nifti1Image(arr.astype(np.dtype(name).newbyteorder(">")), anat.affine, hdr)
    img.set_data_dtype(np.dtype(name).newbyteorder(">"))
    img.header.set_slope_inter(1, 0)
    save(img, f"dtype_{name}_be.nii")

# RGB24 and RGBA32: channels from three real crops.
rgb = np.zeros(crop.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
rgb["R"] = (crop // 4) % 256
rgb["G"] = (a[9:21, 10:26, 6:14] // 3) % 256
rgb["B"] = (a[8:20, 11:27, 6:14] // 5) % 256
save(nib.Nifti1Image(rgb, anat.affine), "rgb24.nii.gz")
rgba = np.zeros(crop.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1"), ("A", "u1")])
for c in "RGB":
    rgba[c] = rgb[c]
rgba["A"] = 255 - rgb["R"]
save(nib.Nifti1Image(rgba, anat.affine), "rgba32.nii")

# Scaling: int16 with slope and intercept; uint8 with slope only; float32
# with an intercept; int32 with a negative slope; NIfTI-2 with float64 scale.
for name, dt, slope, inter in (
    ("scaled_int16", "int16", 0.37, -12.5),
    ("scaled_uint8", "uint8", 2.5, 0.0),
    ("scaled_float32", "float32", 1.0, 3.25),
    ("scaled_int32", "int32", -1.5e-3, 7.0),
):
    arr = cases[dt].astype(dt)
    img = nib.Nifti1Image(arr, anat.affine, dtype=dt)
    save(img, name + ".nii.gz")
    patch(name + ".nii.gz", {112: ("ff", (slope, inter))})
img = nib.Nifti2Image(cases["int16"].astype("int16"), anat.affine)
img.set_data_dtype("int16")
save(img, "scaled_nifti2.nii")
patch("scaled_nifti2.nii", {176: ("dd", (0.123456789, 1000.0))})

# Big-endian NIfTI-2 with a 4D float32 series (functional.nii's volumes).
func = nib.load(os.path.join(HERE, "functional.nii"))
fdata = np.asanyarray(func.dataobj)[:, :, :, :3].astype(">f4")
hdr2 = nib.Nifti2Header(endianness=">")
img = nib.Nifti2Image(fdata, func.affine, hdr2)
img.set_data_dtype(">f4")
save(img, "nifti2_be_4d.nii")

# qform only (sform_code 0), oblique rotation; and pixdim only.
th = np.deg2rad(25)
rot = np.array([[np.cos(th), -np.sin(th), 0, 0], [np.sin(th), np.cos(th), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
obl = rot @ np.diag([-2.0, 2.5, 3.0, 1.0])
obl[:3, 3] = [40.5, -22.25, 10.0]
img = nib.Nifti1Image(crop.astype("int16"), obl, dtype="int16")
img.set_qform(obl, 1)
img.set_sform(None, 0)
save(img, "qform_only_oblique.nii")

img = nib.Nifti1Image(crop.astype("int16"), None, dtype="int16")
img.set_qform(None, 0)
img.set_sform(None, 0)
save(img, "pixdim_only.nii")
patch("pixdim_only.nii", {80: ("fff", (1.5, 2.0, 2.5))})

# sform with a permuted, flipped, sheared and rotated matrix (PIR-ish, 40°):
# the canonical axis choice comes from the SVD polar factor.
th = np.deg2rad(40)
m = np.array([[0, 0, -1.2, 0], [-0.9 * np.cos(th), 0.9 * np.sin(th), 0, 0], [0.9 * np.sin(th), 0.9 * np.cos(th), 0.1, 0], [0, 0, 0, 1]])
m[:3, 3] = [-3.0, 55.0, 17.5]
img = nib.Nifti1Image(crop.astype("uint16"), m, dtype="uint16")
img.set_sform(m, 2)
img.set_qform(None, 0)
save(img, "sform_pir_sheared.nii.gz")

# .hdr/.img pairs, plain and gzipped, from the real anatomical volume.
pair = nib.Nifti1Pair(np.asanyarray(anat.dataobj), anat.affine, anat.header)
nib.save(pair, os.path.join(OUT, "anat_pair.hdr"))
nib.save(pair, os.path.join(OUT, "anat_pairgz.hdr.gz"))
pair2 = nib.Nifti2Pair(s, std.affine)
nib.save(pair2, os.path.join(OUT, "standard_nifti2_pair.hdr"))
