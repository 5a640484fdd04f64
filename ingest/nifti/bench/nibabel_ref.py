#!/usr/bin/python3
"""Reference timings for `medmd perf nifti` (run with Debian's /usr/bin/python3).

  nibabel_ref.py make OUT_DIR
      Writes OUT_DIR/t1_181x217x181.nii and .nii.gz: a 181×217×181 uint8
      volume at 1 mm, LAS orientation (so canonicalising flips an axis),
      resampled with scipy (trilinear) from nibabel's real anatomical.nii
      test volume. Nothing big is committed to the repository; the perf
      run makes it in its temp folder.

  nibabel_ref.py time FILE REPEATS
      Times nibabel.load + as_closest_canonical + get_fdata on FILE REPEATS
      times (after one warm-up) and prints {"median_s": ..., "runs": [...]}.
"""
import json
import os
import statistics
import sys
import time

import nibabel as nib
import numpy as np


def make(out_dir):
    from scipy import ndimage

    src = os.path.join(os.path.dirname(nib.__file__), "tests", "data", "anatomical.nii")
    img = nib.load(src)
    data = img.get_fdata()
    shape = (181, 217, 181)
    zoom = [t / s for t, s in zip(shape, data.shape)]
    big = ndimage.zoom(data, zoom, order=1)[: shape[0], : shape[1], : shape[2]]
    big = np.clip(big / max(big.max(), 1) * 255, 0, 255).astype(np.uint8)
    aff = np.array([[-1.0, 0, 0, 90], [0, 1.0, 0, -126], [0, 0, 1.0, -72], [0, 0, 0, 1]])
    out = nib.Nifti1Image(big, aff, dtype=np.uint8)
    out.set_qform(aff, 1)
    out.set_sform(aff, 1)
    nib.save(out, os.path.join(out_dir, "t1_181x217x181.nii"))
    nib.save(out, os.path.join(out_dir, "t1_181x217x181.nii.gz"))


def bench(path, repeats):
    def once():
        t0 = time.perf_counter()
        img = nib.load(path)
        canon = nib.as_closest_canonical(img)
        data = canon.get_fdata()
        assert data.shape[:3] == canon.shape[:3]
        return time.perf_counter() - t0

    once()  # warm-up: imports, page cache
    runs = [once() for _ in range(repeats)]
    print(json.dumps({"median_s": statistics.median(runs), "runs": runs}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "time":
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: nibabel_ref.py make OUT_DIR | time FILE REPEATS")
