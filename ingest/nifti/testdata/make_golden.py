#!/usr/bin/python3
"""Write golden.json: what nibabel makes of every NIfTI file in testdata/
(and testdata/derived/) after as_closest_canonical.

Per volume (a 4D file gives one entry per volume along t):
  file      path relative to testdata/
  volume    index along t (0 for 3D)
  nvols     number of volumes along t
  orig_axcodes  nibabel.aff2axcodes of the file's own affine, e.g. "LAS"
  ornt      nibabel.io_orientation of that affine: [[out_axis, flip], ...]
  shape     canonical (i, j, k) shape
  channels  1, or 3 / 4 for RGB24 / RGBA32
  dtype     medmd's output dtype (see below)
  affine    canonical affine, row-major 16 floats
  zooms     the header's zooms permuted to canonical axis order (what
            medmd stores as Spacing)
  sha256    SHA-256 of the canonical voxels as medmd stores them: the
            (k, j, i)-transposed array in C order (i fastest), little-endian,
            with RGB channels as planes in front: (c, k, j, i).

Output dtype, the rule ingest/nifti documents:
  * no scaling (scl_slope 0/NaN/inf, or slope 1 and inter 0): the raw dtype,
    as np.asanyarray(img.dataobj) gives it;
  * scaling: nibabel's get_fdata() values (float64 maths), stored as float32,
    except float64 for raw float64 / (u)int32 / (u)int64 whose values float32
    cannot hold exactly;
  * RGB24 / RGBA32: uint8 channels, scaling ignored (nibabel cannot scale
    structured dtypes either).

Run with Debian's interpreter: /usr/bin/python3 make_golden.py
"""
import glob
import hashlib
import json
import os

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WIDE = {"int32", "uint32", "int64", "uint64", "float64"}


def files():
    out = []
    for pat in ("*.nii", "*.nii.gz", "*.hdr", "*.hdr.gz"):
        out += glob.glob(os.path.join(HERE, pat))
        out += glob.glob(os.path.join(HERE, "derived", pat))
    return sorted(os.path.relpath(p, HERE) for p in out)


def entry(rel):
    img = nib.load(os.path.join(HERE, rel))
    hdr = img.header
    raw = hdr.get_data_dtype()
    # nib.load resets the in-memory header's scl_* to NaN; the proxy keeps
    # the file's values (1.0 / 0.0 where the file's scaling is invalid).
    slope, inter = img.dataobj.slope, img.dataobj.inter
    scaled = (slope, inter) != (1, 0)
    ornt = nib.io_orientation(img.affine)
    canon = nib.as_closest_canonical(img)
    if raw.names is not None:  # RGB24 / RGBA32
        arr = np.asanyarray(canon.dataobj)
        chans = [arr[n].astype("u1") for n in raw.names]
        dtype, channels = "uint8", len(chans)
    else:
        if scaled:
            dtype = "float64" if raw.newbyteorder("=").name in WIDE else "float32"
            arr = canon.get_fdata().astype(dtype)
        else:
            dtype = raw.newbyteorder("=").name
            arr = np.asanyarray(canon.dataobj).astype("<" + raw.newbyteorder("=").str[1:])
        chans = [arr]
        channels = 1
    shape = chans[0].shape
    nvols = shape[3] if len(shape) == 4 else 1
    out = []
    for v in range(nvols):
        h = hashlib.sha256()
        for c in chans:
            vol = c[..., v] if len(shape) == 4 else c
            h.update(np.ascontiguousarray(vol.transpose(2, 1, 0)).astype(c.dtype.newbyteorder("<")).tobytes())
        out.append(
            {
                "file": rel,
                "volume": v,
                "nvols": nvols,
                "orig_axcodes": "".join(nib.aff2axcodes(img.affine)),
                "ornt": [[int(a), int(f)] for a, f in ornt],
                "shape": [int(x) for x in shape[:3]],
                "channels": channels,
                "dtype": dtype,
                "affine": [float(x) for x in canon.affine.ravel()],
                "zooms": [float(abs(z)) for z in np.array(hdr.get_zooms()[:3])[np.argsort(ornt[:, 0])]],
                "sha256": h.hexdigest(),
            }
        )
    return out


def main():
    rows = []
    for rel in files():
        rows += entry(rel)
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
