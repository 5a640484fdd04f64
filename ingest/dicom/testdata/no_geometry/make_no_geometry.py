#!/usr/bin/python3
"""Make no_geometry.dcm and golden.json: an image without position or
orientation, as computed radiography (CR) and secondary captures store it.

Run with Debian's python3 (python3-pydicom, python3-nibabel, numpy,
dcm2niix): /usr/bin/python3 make_no_geometry.py

Source: ../pydicom_CT_small.dcm (pydicom's test file, MIT licensed) with
Image Position (Patient) (0020,0032) and Image Orientation (Patient)
(0020,0037) removed; everything else kept. dcm2niix then assumes the
orientation 1\\0\\0\\0\\1\\0 at the origin. golden.json holds what dcm2niix
wrote for it: shape, and after nibabel's as_closest_canonical the affine
(3x4, row-major) and the SHA-256 of the voxels as little-endian int32.
"""
import glob, hashlib, json, os, shutil, subprocess, tempfile

import nibabel
import numpy
import pydicom

here = os.path.dirname(os.path.abspath(__file__))
ds = pydicom.dcmread(os.path.join(here, "..", "pydicom_CT_small.dcm"))
del ds.ImagePositionPatient
del ds.ImageOrientationPatient
out = os.path.join(here, "no_geometry.dcm")
ds.save_as(out, write_like_original=True)

tmp = tempfile.mkdtemp()
try:
    os.mkdir(os.path.join(tmp, "in"))
    shutil.copy(out, os.path.join(tmp, "in"))
    ver = subprocess.run(["dcm2niix", "-v", "n"], capture_output=True, text=True).stdout.splitlines()[0]
    subprocess.run(["dcm2niix", "-b", "n", "-z", "n", "-f", "out", "-o", tmp, os.path.join(tmp, "in")], check=True, capture_output=True)
    img = nibabel.as_closest_canonical(nibabel.load(os.path.join(tmp, "out.nii")))
    vox = numpy.asarray(img.dataobj).astype("<i4")
    golden = {"dcm2niix": ver, "shape": list(img.shape),
              "affine": [round(float(x), 6) for x in img.affine[:3].ravel()],
              "voxels_int32_sha256": hashlib.sha256(vox.tobytes(order="F")).hexdigest()}
    with open(os.path.join(here, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
finally:
    shutil.rmtree(tmp)
