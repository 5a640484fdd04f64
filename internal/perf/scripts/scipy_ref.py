#!/usr/bin/python3
"""Reference for `medmd perf normalize` (run with Debian's /usr/bin/python3).

  scipy_ref.py make OUT_DIR [NI NJ NK]
      Writes OUT_DIR/ct_NIxNJxNK.nii (default 301×370×316): an int16 volume
      (0.8 × 0.8 × 1.0 mm, LAS orientation so canonicalising flips an axis),
      trilinearly upsampled with scipy from nibabel's real anatomical.nii and
      scaled to a CT-like −1000…2000 range. Nothing big is committed; the
      perf run makes it in its temp folder.

  scipy_ref.py time FILE REPEATS [TI TJ TK]
      Times, after one warm-up, REPEATS runs of
        nibabel.load → as_closest_canonical → get_fdata(float32)
        → scipy.ndimage.zoom(order=1, grid_mode=True, mode="nearest") to TI×TJ×TK (default 256×256×64)
        → numpy.percentile(0.5, 99.5) → clip, scale → uint8
      and separately the in-memory part (zoom + percentile + scale) on the
      already-loaded canonical array. Prints one JSON object with medians and
      the output's mean (a parity check for the Go side).
"""
import json
import os
import statistics
import sys
import time

import nibabel as nib
import numpy as np
from scipy import ndimage

SHAPE = (301, 370, 316)
TARGET = (256, 256, 64)


def make(out_dir, shape=SHAPE):
    src = os.path.join(os.path.dirname(nib.__file__), "tests", "data", "anatomical.nii")
    data = nib.load(src).get_fdata(dtype=np.float32)
    zoom = [t / s for t, s in zip(shape, data.shape)]
    big = ndimage.zoom(data, zoom, order=1, grid_mode=True, mode="nearest")[: shape[0], : shape[1], : shape[2]]
    big = (big / max(float(big.max()), 1.0) * 3000 - 1000).astype(np.int16)
    aff = np.array([[-0.8, 0, 0, 120], [0, 0.8, 0, -148], [0, 0, 1.0, -158], [0, 0, 0, 1]])
    out = nib.Nifti1Image(big, aff, dtype=np.int16)
    out.set_qform(aff, 1)
    out.set_sform(aff, 1)
    nib.save(out, os.path.join(out_dir, "ct_%dx%dx%d.nii" % tuple(shape)))


def normalise(data):
    z = ndimage.zoom(data, [t / s for t, s in zip(TARGET, data.shape)], order=1, grid_mode=True, mode="nearest")
    assert z.shape == tuple(TARGET), z.shape
    lo, hi = np.percentile(z, [0.5, 99.5])
    return np.floor((np.clip(z, lo, hi) - lo) / (hi - lo) * 255 + 0.5).astype(np.uint8)


def full(path):
    canon = nib.as_closest_canonical(nib.load(path))
    return normalise(canon.get_fdata(dtype=np.float32))


def bench(path, repeats):
    def timed(f, *a):
        t0 = time.perf_counter()
        out = f(*a)
        return time.perf_counter() - t0, out

    timed(full, path)  # warm-up: imports, page cache
    runs = [timed(full, path)[0] for _ in range(repeats)]
    canon = nib.as_closest_canonical(nib.load(path)).get_fdata(dtype=np.float32)
    mem = []
    for _ in range(repeats):
        t, out = timed(normalise, canon)
        mem.append(t)
    print(json.dumps({"median_s": statistics.median(runs), "runs": runs,
                      "median_mem_s": statistics.median(mem), "mean_u8": float(out.mean())}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], tuple(int(x) for x in sys.argv[3:6]) if len(sys.argv) >= 6 else SHAPE)
    elif sys.argv[1] == "time":
        if len(sys.argv) >= 7:
            TARGET = tuple(int(x) for x in sys.argv[4:7])
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: scipy_ref.py make OUT_DIR | time FILE REPEATS")
