#!/usr/bin/python3
"""pydicom baseline for `medmd perf dicom`: read every file of a folder,
keep the images of the largest series that are not localizers, sort them
along the slice normal, stack them and apply the rescale (HU), the way a
Python pipeline would. Prints {"median_s": …, "shape": […]} as JSON.

usage: pydicom_ref.py DIR REPEATS
"""
import json, os, sys, time
import numpy as np
import pydicom


def load(folder):
    dss = []
    for name in sorted(os.listdir(folder)):
        try:
            ds = pydicom.dcmread(os.path.join(folder, name))
        except Exception:
            continue
        if "PixelData" not in ds or "LOCALIZER" in list(ds.get("ImageType", [])):
            continue
        dss.append(ds)
    uid = max({d.SeriesInstanceUID for d in dss}, key=lambda u: sum(d.SeriesInstanceUID == u for d in dss))
    dss = [d for d in dss if d.SeriesInstanceUID == uid]
    o = np.array(dss[0].ImageOrientationPatient, float)
    n = np.cross(o[:3], o[3:])
    dss.sort(key=lambda d: float(np.dot(n, np.array(d.ImagePositionPatient, float))))
    vol = np.stack([d.pixel_array for d in dss])
    slope = float(dss[0].get("RescaleSlope", 1))
    inter = float(dss[0].get("RescaleIntercept", 0))
    if slope == 1 and inter == int(inter):
        vol = (vol.astype(np.int32) + int(inter)).astype(np.int16)
    else:
        vol = vol * np.float32(slope) + np.float32(inter)
    return vol


def main():
    folder, repeats = sys.argv[1], int(sys.argv[2])
    load(folder)  # warm up the page cache and imports
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        vol = load(folder)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    print(json.dumps({"median_s": ts[len(ts) // 2], "shape": list(vol.shape)}))


if __name__ == "__main__":
    main()
