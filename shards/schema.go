package shards

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// Schema metadata keys written into every Arrow IPC and Parquet shard.
const (
	// MetaSchemaVersion holds SchemaVersion as a decimal string.
	MetaSchemaVersion = "medmd.schema_version"
	// MetaVoxelLayout documents the voxel byte order for foreign readers.
	MetaVoxelLayout = "medmd.voxel_layout"
	voxelLayoutDoc  = "C-contiguous [channels, depth, height, width], little-endian, dtype per image"
)

// Column indexes of the top-level schema, in order.
const (
	colID = iota
	colSource
	colTask
	colGroup
	colSplit
	colLicense
	colInstruction
	colResponse
	colPlacements
	colImages
	colMeta
	numCols
)

// Field indexes inside the image struct, in order.
const (
	imModality = iota
	imPlane
	imDType
	imChannels
	imDepth
	imHeight
	imWidth
	imVoxels
	imSpacing
	imAffine
	imTransforms
	imSourcePath
	imSourceSHA256
	imMeta
	numImFields
)

var (
	placementType = arrow.StructOf(
		arrow.Field{Name: "image", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "field", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "offset", Type: arrow.PrimitiveTypes.Int32},
	)
	transformType = arrow.StructOf(
		arrow.Field{Name: "name", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "params", Type: arrow.BinaryTypes.String},
	)
	transformsType = listOf(transformType)
	spacingType    = arrow.FixedSizeListOfField(3, elem(arrow.PrimitiveTypes.Float64))
	affineType     = arrow.FixedSizeListOfNonNullable(16, arrow.PrimitiveTypes.Float64)
	imageType      = arrow.StructOf(
		arrow.Field{Name: "modality", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "plane", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "dtype", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "channels", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "depth", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "height", Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: "width", Type: arrow.PrimitiveTypes.Int32},
		// large_binary: 64-bit offsets, so one record batch may carry more
		// than 2 GiB of voxels; each value is one image's bytes, contiguous.
		arrow.Field{Name: "voxels", Type: arrow.BinaryTypes.LargeBinary},
		arrow.Field{Name: "spacing", Type: spacingType},
		arrow.Field{Name: "affine", Type: affineType},
		arrow.Field{Name: "transforms", Type: transformsType},
		arrow.Field{Name: "source_path", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "source_sha256", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "meta", Type: arrow.BinaryTypes.String},
	)
	placementsType = listOf(placementType)
	imagesType     = listOf(imageType)
)

// schema is the Arrow schema of every shard of SchemaVersion. See doc.go
// for the column-by-column description.
var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.BinaryTypes.String},
	{Name: "source", Type: arrow.BinaryTypes.String},
	{Name: "task", Type: arrow.BinaryTypes.String},
	{Name: "group", Type: arrow.BinaryTypes.String},
	{Name: "split", Type: arrow.BinaryTypes.String},
	{Name: "license", Type: arrow.BinaryTypes.String},
	{Name: "instruction", Type: arrow.BinaryTypes.String},
	{Name: "response", Type: arrow.BinaryTypes.String},
	{Name: "placements", Type: placementsType},
	{Name: "images", Type: imagesType},
	{Name: "meta", Type: arrow.BinaryTypes.String},
}, func() *arrow.Metadata {
	md := arrow.NewMetadata(
		[]string{MetaSchemaVersion, MetaVoxelLayout},
		[]string{strconv.Itoa(SchemaVersion), voxelLayoutDoc},
	)
	return &md
}())

// Schema returns the Arrow schema of shards of SchemaVersion (callers must
// not modify it).
func Schema() *arrow.Schema { return schema }

// elem is the child field of every list column. It is named "element", as
// the Parquet LIST convention names it, so that a shard read back from
// Parquet by pyarrow, Polars or arrow-go has exactly this schema.
func elem(t arrow.DataType) arrow.Field { return arrow.Field{Name: "element", Type: t} }

func listOf(t arrow.DataType) *arrow.ListType { return arrow.ListOfField(elem(t)) }
