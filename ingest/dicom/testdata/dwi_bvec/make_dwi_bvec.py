#!/usr/bin/python3
"""Make enhanced_dwi4.dcm.gz and golden.json for the bval/bvec test.

Run with Debian's python3 (python3-pydicom, python3-nibabel, dcm2niix):
/usr/bin/python3 make_dwi_bvec.py

Source: ../nibabel_philips_mprage.dcm.gz (nibabel's Philips enhanced MR,
sagittal, zeroed pixels), private tags removed. Its first two frames are
kept four times, told apart by a Temporal Position Index dimension: a 2-slice, 4-volume DWI whose b-values and gradients
(patient LPS, oblique so that every axis matters) live only in the
per-frame MR Diffusion Sequence. dcm2niix writes bval/bvec only from
three volumes on, hence four. golden.json holds what dcm2niix -b n -z n
wrote: the bval and bvec rows and the NIfTI's sform, to compare gradients
in world space whatever voxel order the converter chose.
"""
import copy, glob, gzip, io, json, os, shutil, subprocess, tempfile

import nibabel
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

here = os.path.dirname(os.path.abspath(__file__))
VOLUMES = [(0, None), (1000, [0.6, 0.8, 0.0]), (1000, [0.0, 0.6, -0.8]), (2000, [-0.48, 0.6, 0.64])]

with gzip.open(os.path.join(here, "..", "nibabel_philips_mprage.dcm.gz")) as f:
    ds = pydicom.dcmread(f)
frames = ds.PerFrameFunctionalGroupsSequence
n = ds.Rows * ds.Columns * ds.BitsAllocated // 8
# A third dimension, Temporal Position Index, tells the volumes apart:
# dcm2niix orders enhanced frames by their Dimension Index Values.
tdim = copy.deepcopy(ds.DimensionIndexSequence[1])
tdim.DimensionIndexPointer = 0x00209128
tdim.DimensionDescriptionLabel = "Temporal Position Index"
ds.DimensionIndexSequence.append(tdim)
items = []
for v, (b, grad) in enumerate(VOLUMES):
    for i in range(2):
        it = copy.deepcopy(frames[i])
        fc = it.FrameContentSequence[0]
        fc.TemporalPositionIndex = v + 1
        fc.DimensionIndexValues = [1, i + 1, v + 1]
        d = Dataset()
        d.DiffusionBValue = b
        d.DiffusionDirectionality = "DIRECTIONAL" if grad else "NONE"
        if grad:
            g = Dataset()
            g.DiffusionGradientOrientation = grad
            d.DiffusionGradientDirectionSequence = Sequence([g])
        it.MRDiffusionSequence = Sequence([d])
        items.append(it)
ds.PerFrameFunctionalGroupsSequence = Sequence(items)
ds.NumberOfFrames = len(items)
ds.remove_private_tags()  # Philips counts (2001,1018) would still say 176 slices
ds.PixelData = bytes(ds.PixelData[:2 * n]) * len(VOLUMES)
buf = io.BytesIO()
ds.save_as(buf, write_like_original=True)
out = os.path.join(here, "enhanced_dwi4.dcm.gz")
with gzip.GzipFile(out, "wb", mtime=0) as g:
    g.write(buf.getvalue())

tmp = tempfile.mkdtemp()
try:
    os.mkdir(os.path.join(tmp, "in"))
    with open(os.path.join(tmp, "in", "e.dcm"), "wb") as f:
        f.write(buf.getvalue())
    ver = subprocess.run(["dcm2niix", "-v", "n"], capture_output=True, text=True).stdout.splitlines()[0]
    subprocess.run(["dcm2niix", "-b", "n", "-z", "n", "-f", "dwi", "-o", tmp, os.path.join(tmp, "in")], check=True, capture_output=True)
    img = nibabel.load(os.path.join(tmp, "dwi.nii"))
    bval = [float(x) for x in open(os.path.join(tmp, "dwi.bval")).read().split()]
    bvec = [[float(x) for x in line.split()] for line in open(os.path.join(tmp, "dwi.bvec")).read().splitlines()]
    golden = {"dcm2niix": ver, "shape": list(img.shape), "sform": [round(float(x), 6) for x in img.get_sform()[:3].ravel()],
              "bval": bval, "bvec": bvec}
    with open(os.path.join(here, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
finally:
    shutil.rmtree(tmp)
