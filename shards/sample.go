package shards

// SchemaVersion is the version of the sample schema written into every shard
// and manifest. Bump it on any change to the columns or their meaning.
//
// Version 2 added the Parquet layouts (ParquetLayout): by default the
// Parquet part holds no voxel bytes, only where they live in the Arrow
// part. The Arrow IPC columns are those of version 1.
//
// Version 3 changed how an Arrow part's checksum is computed
// (DigestVoxelTree): each image's voxels enter it as their SHA-256. The
// columns are those of version 2; readers of version 2 would report the
// new checksums as mismatches, hence the bump.
const SchemaVersion = 3

// oldestSchemaVersion is the oldest version the readers still open.
// Version 1 corpora are the "full" Parquet layout (see doc.go).
const oldestSchemaVersion = 1

// readableVersion reports whether this medmd reads schema version v.
func readableVersion(v int) bool { return v >= oldestSchemaVersion && v <= SchemaVersion }

// Sample is one training example: interleaved text and images plus the
// provenance needed to audit and split it.
//
// Text offsets (Placement.Offset) count Unicode code points, not bytes, so
// that Python and JavaScript readers index the same characters.
type Sample struct {
	// ID is stable: derived from the source and the content, so the same
	// input always yields the same id (see ID helpers in id.go).
	ID string
	// Source names where the sample came from, e.g. "nifti", "dicom",
	// "pmc-oa", "pmc-inline", "pmc-casereport", "vqa-rad".
	Source string
	// Task is one of the Task* constants.
	Task string
	// Group is the patient / case / article key that splits must never cut.
	// Patient identifiers are hashed before they get here, never stored raw.
	Group   string
	Split   string // "", "train", "val" or "test"
	License string

	Instruction string
	Response    string
	// Placements says where each image sits in the text.
	Placements []Placement
	Images     []Image
	// Meta holds free-form provenance (template id, citation, warnings…).
	// It is stored as JSON with sorted keys, so it never breaks determinism.
	Meta map[string]string
}

// Tasks a sample can carry.
const (
	TaskCaption   = "caption"
	TaskInline    = "inline"
	TaskVQA       = "vqa"
	TaskReport    = "report"
	TaskDiagnosis = "diagnosis"
	TaskModality  = "modality"
	TaskRationale = "rationale"
)

// Fields a Placement may point into.
const (
	FieldInstruction = "instruction"
	FieldResponse    = "response"
)

// Placement puts image Images[Image] into text field Field ("instruction" or
// "response") before the code point at Offset (0 = start of the field,
// len([]rune(field)) = end).
type Placement struct {
	Image  int    `json:"image"`
	Field  string `json:"field"`
	Offset int    `json:"offset"`
}

// DType names the element type of an image's voxels. Voxels are always
// stored little-endian.
type DType string

const (
	Uint8   DType = "uint8"
	Int8    DType = "int8"
	Uint16  DType = "uint16"
	Int16   DType = "int16"
	Uint32  DType = "uint32"
	Int32   DType = "int32"
	Uint64  DType = "uint64"
	Int64   DType = "int64"
	Float16 DType = "float16"
	Float32 DType = "float32"
	Float64 DType = "float64"
)

// Size returns the number of bytes of one element, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case Uint8, Int8:
		return 1
	case Uint16, Int16, Float16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

// Image is one 2D image or 3D volume.
//
// Voxel layout, fixed for the whole project: channels, then depth (slices,
// NIfTI k), then rows (NIfTI j), then columns (NIfTI i), C-contiguous,
// little-endian. A 2D image has Depth 1. This is exactly NIfTI's on-disk
// order for a 3D volume (i fastest), so Affine is a NIfTI-style affine.
type Image struct {
	// Modality uses DICOM codes: CT, MR, CR, DX, MG, US, PT, NM, XA, RF, OT;
	// "" when unknown.
	Modality string
	// Plane is "axial", "coronal", "sagittal" or "" when unknown.
	Plane string

	DType                          DType
	Channels, Depth, Height, Width int
	// Voxels holds Channels*Depth*Height*Width*DType.Size() bytes. In a
	// sample read from a mapped shard it aliases the mapping (see reader.go).
	Voxels []byte

	// Spacing is the voxel size in mm along columns, rows and slices
	// (NIfTI pixdim[1..3]); 0 where unknown (e.g. most 2D figures).
	Spacing [3]float64
	// Affine maps a voxel index (column i, row j, slice k, 1) to RAS+ world
	// millimetres; row-major 4×4. Identity-like where unknown.
	Affine [16]float64

	// Transforms lists, in order, every transform applied to the voxels
	// since they were read, with its parameters.
	Transforms []Transform

	SourcePath   string
	SourceSHA256 string
	// Meta holds image metadata (series description, window, warnings…),
	// stored as JSON with sorted keys.
	Meta map[string]string
}

// NumVoxels returns Channels*Depth*Height*Width.
func (im *Image) NumVoxels() int {
	return im.Channels * im.Depth * im.Height * im.Width
}

// Is3D reports whether the image is a volume (Depth > 1).
func (im *Image) Is3D() bool { return im.Depth > 1 }

// Transform records one applied transform: its registered name and its
// parameters as canonical JSON (sorted keys), e.g.
// {Name: "resize", Params: `{"depth":32,"height":256,"mode":"linear","width":256}`}.
type Transform struct {
	Name   string `json:"name"`
	Params string `json:"params"`
}

// IdentityAffine returns the 4×4 identity, row-major.
func IdentityAffine() [16]float64 {
	return [16]float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}
}
