// Package dicom turns folders (and zip/tar archives) of DICOM files into
// assembled volumes: the "dicom" ingest source, the `medmd inspect`
// support for .dcm files and the engine behind `medmd dicom2nii`.
//
// Reading (read.go). ReadImages reads a file, folder, zip or tar into
// assembled volumes in one call, like nifti.ReadFile; it is Scan (headers
// only, series.go) followed by ReadSeries (volume.go) for each series.
// The ingest source calls the two steps apart, planning series before
// reading them. Inputs are listed by Walk (walk.go): plain files, folders
// searched recursively, zip and tar members streamed. A tar's members are
// placed while planning (Ref.At), so reading a series seeks to them rather
// than streaming the archive again: in a plain tar directly, in a gzipped
// one within an inflated copy the source keeps (tarcache.go).
//
// Parsing. github.com/suyashkumar/dicom (v1.0.7) parses the header
// elements; medmd decodes pixels itself (its decoder is wrong for signed and
// 1-bit data and planar configuration, and never rescales). A small element
// walker (element.go, DICOM PS3.5 §7) finds the top-level Pixel Data element
// first, so the library only ever sees the bytes before it: header-only
// scans read growing prefixes of a file and never its pixels. The walker
// also inflates deflated datasets (PS3.5 §A.5, which the library treats as
// plain explicit VR), keeps the Basic Offset Table of encapsulated data
// (which the library drops) and leaves out elements the library would
// mis-handle (undefined-length private sequences in implicit VR make it
// allocate 4 GiB).
//
// Pixels (pixels.go). Native little and big endian, deflated, RLE Lossless
// (8/16/32-bit, any samples), JPEG baseline 8-bit (image/jpeg, with
// libjpeg's chroma upsampling), JPEG lossless process 14 with every
// predictor (package jpegll), JPEG-LS lossless and near-lossless
// (codec/jpegls), extended 8/12-bit DCT JPEG (codec/jpeg12) and JPEG 2000
// reversible and irreversible (codec/jpeg2000). Frames of encapsulated data
// are split by the Basic Offset Table, else one per fragment, else at JPEG
// SOI markers. Stored values are masked to BitsStored and sign-extended.
// Volume assembly decodes native frames straight into the volume, and a
// deflated file's pixels are inflated as they are decoded, so the inflated
// dataset is never held whole beside the volume.
// Video, HTJ2K and JPEG 2000 Part 2 are reported as
// `unsupported transfer syntax <UID> (<name>)`. Tests compare every file of
// testdata/ with pydicom+gdcm (testdata/make_golden.py).
//
// Series (series.go). Images are grouped by SeriesInstanceUID plus what
// dcm2niix compares (size, orientation, echo, image type, stack),
// localizers and derived secondary captures left out by default, and
// ordered by position along the slice normal. Duplicates, repeated
// positions (4D: one image per volume), non-uniform spacing and gantry
// tilt become warnings on the series, its images' Meta and the sidecar;
// nothing is resampled. The affine follows dcm2niix (slice axis = normal ×
// distance between the first two slices), converted from LPS to RAS.
//
// Siemens MOSAIC (mosaic.go, csa.go). An image whose ImageType says MOSAIC
// is unpacked into NumberOfImagesInMosaic slices, read from the CSA image
// header (private (0029,xx10), CSA2 "SV10" layout, parsed with every count
// checked against the bytes present), with the origin moved to the first
// tile and the slice direction signed by the CSA SliceNormalVector, as
// nibabel and dcm2niix do; each mosaic file is one volume of a 4D series.
// Diffusion b-values and gradients (per-frame MR Diffusion Sequence, the
// standard (0018,9087)/(0018,9089), or CSA B_value and
// DiffusionGradientDirection) go into each volume's Meta. Tests compare
// with dcm2niix voxel for voxel (testdata/mosaic/make_mosaic.py).
//
// Volumes (volume.go). A series is read one file at a time straight into
// the volume buffer; grey values are rescaled (Hounsfield units for CT)
// into the smallest integer type that holds them, or float32 when the
// rescale is fractional or varies by slice; palette and YBR images become
// RGB channels. Peak memory is about the volume plus its canonical copy.
package dicom
