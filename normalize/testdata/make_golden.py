#!/usr/bin/python3
"""Regenerates normalize's golden files from real volumes.

Run from anywhere with Debian's interpreter (numpy, scipy, skimage, nibabel,
pydicom):  /usr/bin/python3 normalize/testdata/make_golden.py

Inputs (see README.md): anatomical.nii (nibabel test data, LAS, big-endian
int16), aniso_vox.nii.gz (dipy test data, oblique LPS int16) and pydicom's
CT_small.dcm (read from the Debian package, dumped as HU int16).

Outputs go to golden/: raw little-endian arrays in medmd's voxel layout
(slices, rows, columns; i.e. the nibabel array transposed) and golden.json
describing each case.
"""
import json
import os
import warnings

import numpy as np
import nibabel as nib
import scipy.ndimage as ndi
import skimage.measure
import skimage.transform

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
os.makedirs(OUT, exist_ok=True)
warnings.simplefilter("ignore")

cases = []


def dump(name, arr_ijk, dtype="<f4"):
    """Writes an (i,j,k) array as medmd's (k,j,i) C-order raw file."""
    fn = name + (".f32" if dtype == "<f4" else ".u8" if dtype == "u1" else ".i16")
    np.ascontiguousarray(np.asarray(arr_ijk).T).astype(dtype).tofile(os.path.join(OUT, fn))
    return fn


def load(fn):
    img = nib.load(os.path.join(HERE, fn))
    return img, np.asanyarray(img.dataobj)


def resize_case(name, src, mode, shape_dhw, ref):
    img, data = load(src)
    ni, nj, nk = data.shape[:3]
    d, h, w = shape_dhw
    zooms = np.array(img.header.get_zooms()[:3]) * np.array([ni / w, nj / h, nk / d])
    # Pixel-centre convention: new index i' sits at old index (i'+0.5)s-0.5,
    # so the affine is A @ [diag(s) | (s-1)/2].
    s = np.array([ni / w, nj / h, nk / d])
    M = np.eye(4)
    M[:3, :3] = np.diag(s)
    M[:3, 3] = (s - 1) / 2
    aff = img.affine @ M
    cases.append(dict(name=name, op="resize", input=src, mode=mode,
                      depth=d, height=h, width=w, file=dump(name, ref(data.astype(np.float64), (w, h, d))),
                      affine=aff.ravel().tolist(), spacing=zooms.tolist(),
                      src_affine=img.affine.ravel().tolist()))


def zoom(order):
    def f(x, shape):
        z = [o / i for o, i in zip(shape, x.shape)]
        y = ndi.zoom(x, z, order=order, mode="nearest", grid_mode=True)
        assert y.shape == tuple(shape), (y.shape, shape)
        return y
    return f


def block_mean(x, shape):
    f = tuple(i // o for i, o in zip(x.shape, shape))
    assert all(i == o * k for i, o, k in zip(x.shape, shape, f))
    return skimage.measure.block_reduce(x, f, np.mean)


def area_overlap(x, shape):
    # Exact footprint averaging, one separable weight matrix per axis.
    for ax, (n, m) in enumerate(zip(x.shape, shape)):
        s = n / m
        W = np.zeros((m, n))
        for o in range(m):
            x0, x1 = o * s, (o + 1) * s
            for i in range(int(np.floor(x0)), min(n, int(np.ceil(x1)))):
                W[o, i] = max(0.0, min(x1, i + 1) - max(x0, i)) / s
        x = np.moveaxis(np.tensordot(W, np.moveaxis(x, ax, 0), axes=(1, 0)), 0, ax)
    return x


def sk_antialias(x, shape):
    return skimage.transform.resize(x, shape, order=1, mode="edge", anti_aliasing=True,
                                    preserve_range=True)


resize_case("anat_linear_down", "anatomical.nii", "linear", (12, 20, 16), zoom(1))
resize_case("anat_linear_up", "anatomical.nii", "linear", (30, 50, 40), zoom(1))
resize_case("anat_nearest_down", "anatomical.nii", "nearest", (12, 20, 16), zoom(0))
resize_case("anat_nearest_up", "anatomical.nii", "nearest", (30, 50, 40), zoom(0))
resize_case("aniso_linear_down", "aniso_vox.nii.gz", "linear", (10, 20, 20), zoom(1))
resize_case("aniso_area_int", "aniso_vox.nii.gz", "area", (12, 29, 29), block_mean)
resize_case("aniso_area_frac", "aniso_vox.nii.gz", "area", (10, 20, 20), area_overlap)
resize_case("aniso_antialias", "aniso_vox.nii.gz", "antialias", (10, 20, 20), sk_antialias)
resize_case("anat_antialias", "anatomical.nii", "antialias", (8, 13, 11), sk_antialias)

# Canonical orientation (nibabel.as_closest_canonical), exact.
for src, name in (("anatomical.nii", "anat_canonical"), ("aniso_vox.nii.gz", "aniso_canonical")):
    img, data = load(src)
    can = nib.as_closest_canonical(img)
    arr = np.asanyarray(can.dataobj)
    cases.append(dict(name=name, op="canonical", input=src, file=dump(name, arr, "<i2"),
                      codes="".join(nib.aff2axcodes(img.affine)), src_affine=img.affine.ravel().tolist(),
                      depth=arr.shape[2], height=arr.shape[1], width=arr.shape[0],
                      affine=can.affine.ravel().tolist()))


# Percentile clip + scale to uint8 (numpy.percentile, method "linear").
def pct_case(name, src, lo, hi):
    img, data = load(src)
    x = data.astype(np.float64)
    plo, phi = np.percentile(x, [lo, hi])
    y = (np.clip(x, plo, phi) - plo) / (phi - plo)
    u8 = np.floor(y * 255 + 0.5)
    cases.append(dict(name=name, op="percentile", input=src, lo=lo, hi=hi,
                      plo=float(plo), phi=float(phi), file=dump(name, u8, "u1")))


pct_case("anat_pct", "anatomical.nii", 0.5, 99.5)
pct_case("aniso_pct", "aniso_vox.nii.gz", 2.0, 98.0)

# CT windows on a real CT slice (pydicom's CT_small.dcm, HU).
import pydicom
from pydicom.data import get_testdata_file
ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
hu_ijk = hu.T[:, :, None]  # (cols, rows, 1)
cases.append(dict(name="ct_hu", op="input", file=dump("ct_small_hu", hu_ijk, "<i2"),
                  depth=1, height=hu.shape[0], width=hu.shape[1]))
for preset, (level, width) in {"brain": (40, 80), "lung": (-600, 1500), "bone": (400, 1800),
                               "abdomen": (40, 400)}.items():
    lo, hi = level - width / 2, level + width / 2
    y = (np.clip(hu_ijk, lo, hi) - lo) / (hi - lo)
    cases.append(dict(name="ct_" + preset, op="window", input="ct_small_hu.i16", preset=preset,
                      level=level, width=width, file=dump("ct_" + preset, np.floor(y * 255 + 0.5), "u1")))

# 2D decoding (PIL as the reference decoder): planes C×H×W after EXIF
# transpose, alpha over white, grey-in-RGB folded to one channel.
import glob
import hashlib
from PIL import Image, ImageOps

for path in sorted(glob.glob(os.path.join(HERE, "images", "*"))):
    fn = os.path.basename(path)
    if fn.endswith(".md"):
        continue
    im = ImageOps.exif_transpose(Image.open(path))
    if im.mode in ("I;16", "I;16B", "I;16L"):
        a = np.array(im).astype("<u2")[None]
    elif im.mode in ("1", "L"):
        a = np.array(im.convert("L"))[None]
    else:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        a = np.array(Image.alpha_composite(white, rgba).convert("RGB")).transpose(2, 0, 1)
        if (a[0] == a[1]).all() and (a[1] == a[2]).all():
            a = a[:1]
    c, h, w = a.shape
    grid = [float(a[:, y * h // 4:(y + 1) * h // 4, x * w // 4:(x + 1) * w // 4].mean())
            for y in range(4) for x in range(4)]
    cases.append(dict(name="img_" + fn, op="decode2d", input="images/" + fn, channels=c,
                      height=h, width=w, dtype=str(a.dtype), mode=im.mode,
                      sha256=hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
                      grid=grid))

with open(os.path.join(OUT, "golden.json"), "w") as f:
    json.dump(dict(generator="make_golden.py", numpy=np.__version__,
                   scipy=__import__("scipy").__version__, skimage=skimage.__version__,
                   nibabel=nib.__version__, cases=cases), f, indent=1)
print("wrote", len(cases), "cases to", OUT)
