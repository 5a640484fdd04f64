#!/usr/bin/python3
"""Reference timings for `medmd perf nifti` (run with Debian's /usr/bin/python3).

  nibabel_ref.py make OUT_DIR
      Writes OUT_DIR/t1_181x217x181.nii and .nii.gz: a 181×217×181 uint8
      volume at 1 mm, LAS orientation (so canonicalising flips an axis),
      resampled with scipy (trilinear) from nibabel's real anatomical.nii
      test volume. Nothing big is committed to the repository; the perf
      run makes it in its temp folder.

  nibabel_ref.py time FILE REPEATS
      Times two ways of reading FILE into canonical (RAS) voxels, REPEATS
      times each, alternating, after one warm-up of each, and prints
      {"fdata_median_s": ..., "dataobj_median_s": ..., "fdata_runs": [...],
      "dataobj_runs": [...]}:
        fdata    nibabel.load + as_closest_canonical + get_fdata(): float64,
                 what most scripts call;
        dataobj  nibabel.load + as_closest_canonical +
                 np.asanyarray(img.dataobj) in the file's dtype, made
                 contiguous with x fastest (medmd's voxel layout), so the
                 reorientation is carried out as medmd's reader does.
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
    def fdata():
        canon = nib.as_closest_canonical(nib.load(path))
        data = canon.get_fdata()
        assert data.dtype == np.float64 and data.shape[:3] == canon.shape[:3]

    def dataobj():
        canon = nib.as_closest_canonical(nib.load(path))
        data = np.asfortranarray(np.asanyarray(canon.dataobj))
        assert data.dtype == canon.get_data_dtype() and data.shape[:3] == canon.shape[:3]

    def timed(f):
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    fdata()  # warm-up: imports, page cache
    dataobj()
    runs = {"fdata": [], "dataobj": []}
    for _ in range(repeats):
        runs["fdata"].append(timed(fdata))
        runs["dataobj"].append(timed(dataobj))
    out = {k + "_median_s": statistics.median(v) for k, v in runs.items()}
    out.update({k + "_runs": v for k, v in runs.items()})
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "time":
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: nibabel_ref.py make OUT_DIR | time FILE REPEATS")
