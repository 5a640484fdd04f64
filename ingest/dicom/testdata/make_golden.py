#!/usr/bin/python3
"""Regenerate golden.json: what pydicom (+gdcm) decodes from each test file.

Run with Debian's interpreter (it sees python3-pydicom, python3-gdcm):

    cd ingest/dicom/testdata && /usr/bin/python3 make_golden.py

The dcmtk_*.dcm files are made first from pydicom's MR_small / CT_small /
SC_rgb_small_odd with DCMTK's dcmcjpeg (one JPEG-lossless file per selection
value 1..7 plus a point transform), when they are missing.

For each file golden.json records pydicom's pixel_array after medmd's
documented normalisation, which the Go test reproduces exactly:

* shape is always (frames, rows, columns, samples);
* dtype follows BitsAllocated/PixelRepresentation: 1 -> uint8, 8 -> (u)int8,
  16 -> (u)int16, 32 -> (u)int32;
* stored values keep only BitsStored bits ending at HighBit, and signed data
  are sign-extended from BitsStored (pydicom 2.3 leaves the unused high bits
  of native data as they are in the file; the DICOM standard says to ignore
  them);
* sha256 is over the C-contiguous little-endian bytes;
* rgb_sha256 (PALETTE COLOR, YBR_FULL, YBR_FULL_422) is pydicom's
  apply_color_lut / convert_color_space result, channels first
  (C, frames, rows, columns) as medmd stores images.

Files pydicom cannot decode record its error; lossy JPEG files also record
the raw reference pixels (lossy/<name>.u8.gz) since two conforming IDCTs may
differ by one grey level, and the Go test compares them with a tolerance.
"""
import gzip, hashlib, json, os, subprocess, sys
import numpy as np
import pydicom
from pydicom.pixel_data_handlers import gdcm_handler, numpy_handler, rle_handler
from pydicom.pixel_data_handlers.util import apply_color_lut, convert_color_space

pydicom.config.pixel_data_handlers = [numpy_handler, gdcm_handler, rle_handler]

HERE = os.path.dirname(os.path.abspath(__file__))
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}


def gen_dcmtk():
    jobs = [("dcmtk_mr_sv%d.dcm" % sv, "pydicom_MR_small.dcm", ["+el", "+sv", str(sv)]) for sv in range(1, 8)]
    jobs += [("dcmtk_mr_sv7_pt2.dcm", "pydicom_MR_small.dcm", ["+el", "+sv", "7", "--point-transform", "2"]),
             ("dcmtk_rgb_sv4.dcm", "pydicom_SC_rgb_small_odd.dcm", ["+el", "+sv", "4"]),
             ("dcmtk_ct_sv5.dcm", "pydicom_CT_small.dcm", ["+el", "+sv", "5"])]
    for out, src, args in jobs:
        if not os.path.exists(os.path.join(HERE, out)):
            subprocess.check_call(["dcmcjpeg"] + args + [os.path.join(HERE, src), os.path.join(HERE, out)])


def normalise(ds, arr):
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1))
    arr = arr.reshape(frames, ds.Rows, ds.Columns, spp)
    ba = int(ds.BitsAllocated)
    signed = int(getattr(ds, "PixelRepresentation", 0)) == 1
    if ba == 1:
        return arr.astype(np.uint8)
    kind = {8: "int8", 16: "int16", 32: "int32"}[ba]
    udt = np.dtype("u" + kind)
    u = arr.astype(np.int64).astype(udt)  # two's complement view
    width = int(getattr(ds, "BitsStored", ba))
    if width <= 0 or width > ba:
        width = ba
    shift = int(getattr(ds, "HighBit", width - 1)) + 1 - width
    if shift < 0 or shift + width > ba:
        shift = 0
    if (shift, width) != (0, ba):
        v = (u.astype(np.uint64) >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        if signed:
            v = v.astype(np.int64)
            v = np.where(v & (1 << (width - 1)), v - (1 << width), v)
        u = v.astype(np.int64).astype(udt)
    dt = np.dtype(kind) if signed else udt
    return u.view(dt).astype(dt.newbyteorder("<"))


CANDIDATES = {
    "uint8": ["uint8", "int8", "int16", "int32"], "int8": ["int8", "uint8", "int16", "int32"],
    "uint16": ["uint16", "int16", "int32"], "int16": ["int16", "uint16", "int32"],
    "uint32": ["uint32", "int32", "int64"], "int32": ["int32", "uint32", "int64"],
}


def modality_lut(ds, arr):
    """pydicom's apply_modality_lut, stored the way medmd stores volumes:
    with slope 1 and an integral intercept, in the first type of
    CANDIDATES that holds the rescaled range; otherwise float32."""
    from pydicom.pixel_data_handlers.util import apply_modality_lut
    out = apply_modality_lut(arr, ds)
    slope = float(getattr(ds, "RescaleSlope", 1) or 1)
    inter = float(getattr(ds, "RescaleIntercept", 0) or 0)
    if slope == 1 and inter == int(inter):
        lo, hi = int(out.min()), int(out.max())
        for c in CANDIDATES[arr.dtype.name]:
            info = np.iinfo(c)
            if info.min <= lo and hi <= info.max:
                v = out.astype(np.int64).astype(c)
                break
    else:
        v = out.astype(np.float64).astype(np.float32)
    v = np.ascontiguousarray(v.reshape(arr.shape[1], arr.shape[2]))
    return {"dtype": v.dtype.name, "sha256": hashlib.sha256(v.astype(v.dtype.newbyteorder("<")).tobytes()).hexdigest()}


def main():
    gen_dcmtk()
    out = {}
    os.makedirs(os.path.join(HERE, "lossy"), exist_ok=True)
    for name in sorted(os.listdir(HERE)):
        if not name.endswith(".dcm"):  # (.dcm.gz files are tested separately)
            continue
        rec = {}
        try:
            ds = pydicom.dcmread(os.path.join(HERE, name), force=True)
            if "TransferSyntaxUID" not in ds.file_meta:
                # No meta (or none naming the syntax): say what pydicom
                # inferred while reading, so it can decode the pixels.
                ds.file_meta.TransferSyntaxUID = (
                    pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR else
                    pydicom.uid.ExplicitVRLittleEndian if ds.is_little_endian else
                    pydicom.uid.ExplicitVRBigEndian)
            rec["transfer_syntax"] = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta else ""
            arr = normalise(ds, ds.pixel_array)
            rec["shape"] = list(arr.shape)
            rec["dtype"] = str(arr.dtype.name)
            rec["sha256"] = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
            rec["photometric"] = str(ds.PhotometricInterpretation)
            # Colour conversions medmd applies when it builds images
            # (channels first: C, frames, rows, columns).
            rgb = None
            if rec["photometric"] == "PALETTE COLOR":
                rgb = apply_color_lut(ds.pixel_array, ds)
            elif rec["photometric"] in ("YBR_FULL", "YBR_FULL_422") and ds.BitsAllocated == 8:
                rgb = convert_color_space(arr.reshape(-1, ds.Columns, 3), "YBR_FULL", "RGB")
            if (rec["photometric"].startswith("MONOCHROME") and arr.shape[0] == 1
                    and ds.BitsAllocated > 1 and rec["transfer_syntax"] not in LOSSY):
                rec["modality_lut"] = modality_lut(ds, arr)
            if rgb is not None:
                rgb = np.moveaxis(rgb.reshape(arr.shape[0], ds.Rows, ds.Columns, 3), -1, 0)
                rgb = np.ascontiguousarray(rgb.astype(rgb.dtype.newbyteorder("<")))
                rec["rgb_dtype"] = rgb.dtype.name
                rec["rgb_sha256"] = hashlib.sha256(rgb.tobytes()).hexdigest()
            if rec["transfer_syntax"] in LOSSY and arr.dtype == np.uint8:
                p = os.path.join(HERE, "lossy", name[:-4] + ".u8.gz")
                with gzip.GzipFile(p, "wb", mtime=0) as f:
                    f.write(arr.tobytes())
                rec["lossy"] = "lossy/" + name[:-4] + ".u8.gz"
        except Exception as e:  # noqa: BLE001 - record why pydicom failed
            rec["error"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        out[name] = rec
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
