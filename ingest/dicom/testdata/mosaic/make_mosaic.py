#!/usr/bin/python3
"""Make the MOSAIC test files and their dcm2niix golden.

Run with Debian's python3 (python3-pydicom, python3-nibabel, dcm2niix):

    /usr/bin/python3 make_mosaic.py

Inputs are nibabel's siemens_dwi_0.dcm.gz and siemens_dwi_1000.dcm.gz
(nibabel/nicom/tests/data/): two real Siemens DWI mosaics (b=0 and
b=1000) of one series, 48 slices of 128x128 tiled on a 7x7 grid of
896x896, whose pixel data nibabel zeroed. Zeros cannot show a tile or
row order, so the pixel data is replaced by a pattern in which every
32x32 block of every tile has its own value; the header, CSA header
included, is kept byte for byte. dcm2niix converts the pair to a
128x128x48x2 NIfTI; golden.json records its affine and the SHA-256 of
each volume's voxels, both after nibabel's as_closest_canonical, the
voxels as little-endian int32.

A second case, "csa_normal_reversed", converts the same files with the
CSA SliceNormalVector negated in place (its two non-zero items rewritten
at the same length, see reverse_normal), so that the tiles run against
row x column: dcm2niix then stacks them the other way. A third,
"heudiconv_axasc35", converts heudiconv's axasc35.dcm (a real oblique
35-slice EPI mosaic with its pixels).
"""
import gzip, hashlib, json, os, shutil, subprocess, tempfile

import nibabel as nb
import numpy as np
import pydicom

SRC = "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"
N, GRID, TILE = 48, 7, 128


def pattern(vol):
    img = np.full((GRID * TILE, GRID * TILE), 4000, dtype=np.uint16)  # unused tiles
    for k in range(N):
        tr, tc = divmod(k, GRID)
        r, c = np.mgrid[0:TILE, 0:TILE]
        v = k * 64 + (r // 32) * 4 + (c // 32)
        img[tr * TILE:(tr + 1) * TILE, tc * TILE:(tc + 1) * TILE] = v if vol == 0 else 4095 - v
    return img


def reverse_normal(raw):
    """Negate the CSA SliceNormalVector (0, 0.00523632, 0.99998629)."""
    i = raw.index(b"SliceNormalVector")
    for old, new in [(b"0.00523632\x00", b"-0.0052363\x00"), (b"0.99998629\x00", b"-0.9999863\x00")]:
        j = raw.index(old, i)
        raw = raw[:j] + new + raw[j + len(old):]
    return raw


def convert(tmp, sub):
    out = subprocess.run(["dcm2niix", "-z", "n", "-b", "n", "-f", sub, "-o", tmp, os.path.join(tmp, sub)],
                         check=True, capture_output=True, text=True).stdout
    img = nb.as_closest_canonical(nb.load(os.path.join(tmp, sub + ".nii")))
    data = np.asanyarray(img.dataobj)
    if data.ndim == 3:
        data = data[..., np.newaxis]
    return {
        "dcm2niix": out.splitlines()[0],
        "shape": list(data.shape),
        "affine": [round(float(x), 6) for x in img.affine[:3].ravel()],
        "volumes_int32_sha256": [hashlib.sha256(data[..., v].astype("<i4").tobytes(order="F")).hexdigest()
                                 for v in range(data.shape[3])],
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    tmp = tempfile.mkdtemp()
    os.makedirs(os.path.join(tmp, "in"))
    for vol, b in enumerate(["0", "1000"]):
        with gzip.open(os.path.join(SRC, f"siemens_dwi_{b}.dcm.gz")) as f:
            ds = pydicom.dcmread(f)
        assert len(ds.PixelData) == GRID * TILE * GRID * TILE * 2
        ds.PixelData = pattern(vol).astype("<u2").tobytes()
        name = f"nibabel_siemens_dwi_{b}.dcm"
        ds.save_as(os.path.join(tmp, "in", name), write_like_original=True)
        with open(os.path.join(tmp, "in", name), "rb") as f, gzip.GzipFile(os.path.join(here, name + ".gz"), "wb", mtime=0) as g:
            shutil.copyfileobj(f, g)
    golden = {"as_stored": convert(tmp, "in")}
    os.makedirs(os.path.join(tmp, "rev"))
    for name in os.listdir(os.path.join(tmp, "in")):
        with open(os.path.join(tmp, "in", name), "rb") as f, open(os.path.join(tmp, "rev", name), "wb") as g:
            g.write(reverse_normal(f.read()))
    golden["csa_normal_reversed"] = convert(tmp, "rev")
    # A real oblique gradient-echo EPI mosaic with its pixel data (heudiconv's
    # axasc35.dcm, committed here gzipped).
    os.makedirs(os.path.join(tmp, "axasc35"))
    with gzip.open(os.path.join(here, "heudiconv_axasc35.dcm.gz")) as f, open(os.path.join(tmp, "axasc35", "axasc35.dcm"), "wb") as g:
        shutil.copyfileobj(f, g)
    golden["heudiconv_axasc35"] = convert(tmp, "axasc35")
    with open(os.path.join(here, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
