#!/usr/bin/python3
"""Make enhanced_dwi.dcm.gz: a 4-frame enhanced MR diffusion object.

Run with Debian's python3 (python3-pydicom): /usr/bin/python3 make_enhanced_dwi.py

Source: ../nibabel_philips_mprage.dcm.gz (nibabel's Philips enhanced MR,
zeroed pixels), private tags removed. Its first two frames are kept twice: frames 0-1 get an MR
Diffusion Sequence (0018,9117) with b=0 (DiffusionDirectionality NONE),
frames 2-3 the same positions with b=1000 along (0, 1, 0) (DIRECTIONAL,
Diffusion Gradient Direction Sequence). That is a 2-slice, 2-volume DWI
whose b-values and gradients live only in the per-frame functional groups.
(dcm2niix v1.0.20220720 converts it to 256x256x2x2 but writes no
bval/bvec for two volumes, so the test checks the values written here.)
"""
import copy, gzip, io, os

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

here = os.path.dirname(os.path.abspath(__file__))
with gzip.open(os.path.join(here, "..", "nibabel_philips_mprage.dcm.gz")) as f:
    ds = pydicom.dcmread(f)
frames = ds.PerFrameFunctionalGroupsSequence
n = ds.Rows * ds.Columns * ds.BitsAllocated // 8
items = []
for b, grad in [(0, None), (1000, [0.0, 1.0, 0.0])]:
    for i in range(2):
        it = copy.deepcopy(frames[i])
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
ds.NumberOfFrames = 4
ds.remove_private_tags()  # Philips counts (2001,1018) would still say 176 slices
ds.PixelData = bytes(ds.PixelData[:2 * n]) * 2
buf = io.BytesIO()
ds.save_as(buf, write_like_original=True)
with gzip.GzipFile(os.path.join(here, "enhanced_dwi.dcm.gz"), "wb", mtime=0) as g:
    g.write(buf.getvalue())
