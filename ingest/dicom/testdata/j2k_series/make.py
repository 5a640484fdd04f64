#!/usr/bin/python3
"""Writes a 6-slice JPEG 2000 lossless MR series from pydicom's MR_small:
slice i is the original pixels rolled i rows down and i columns right (so
every slice differs), with its own SOPInstanceUID, InstanceNumber and
ImagePositionPatient, then compressed with GDCM's `gdcmconv --j2k`.
Run with Debian's /usr/bin/python3 (python3-pydicom 2.3, libgdcm-tools)."""
import os, subprocess, tempfile
import numpy as np
import pydicom

SRC = os.path.join(os.path.dirname(__file__), "..", "pydicom_MR_small.dcm")
SERIES = "1.2.826.0.1.3680043.10.1234.77"

here = os.path.dirname(os.path.abspath(__file__))
with tempfile.TemporaryDirectory() as tmp:
    for i in range(6):
        ds = pydicom.dcmread(SRC)
        px = np.roll(ds.pixel_array, (i, i), axis=(0, 1))
        ds.PixelData = px.astype(ds.pixel_array.dtype).tobytes()
        ds.SeriesInstanceUID = SERIES
        ds.SOPInstanceUID = f"{SERIES}.{i + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [-34.0, -34.0, -40.0 + 2.5 * i]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceThickness = 2.5
        # The source says DERIVED\SECONDARY, which readers exclude.
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        native = os.path.join(tmp, f"{i}.dcm")
        ds.save_as(native)
        # Names not in slice order: the reader must order by position.
        out = os.path.join(here, f"mr_j2k_{(i * 5) % 6}.dcm")
        subprocess.run(["gdcmconv", "--j2k", native, out], check=True)
