package shards

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Schema metadata keys written into every Arrow IPC and Parquet shard.
const (
	// MetaSchemaVersion holds SchemaVersion as a decimal string.
	MetaSchemaVersion = "medmd.schema_version"
	// MetaVoxelLayout documents the voxel byte order for foreign readers.
	MetaVoxelLayout = "medmd.voxel_layout"
	voxelLayoutDoc  = "C-contiguous [channels, depth, height, width], little-endian, dtype per image"
	// MetaParquetLayout holds the ParquetLayout of a Parquet part
	// ("metadata" or "full"); version 1 files lack it and are "full".
	MetaParquetLayout = "medmd.parquet_layout"
)

// ParquetLayout says what a shard's Parquet part holds (output.parquet in
// pipelines.yaml, WriteOptions.Parquet). The Arrow IPC part always holds
// every column, voxels included.
type ParquetLayout string

const (
	// ParquetMetadata (the default): every column except the voxel bytes;
	// each image instead says where its bytes live in the Arrow part
	// (voxel_file, voxel_row, voxel_image, voxel_offset, voxel_bytes,
	// voxel_sha256). Voxels are stored once.
	ParquetMetadata ParquetLayout = "metadata"
	// ParquetFull: the same rows as the Arrow part, voxels included
	// (zstd): a self-contained interchange copy, the version 1 layout.
	ParquetFull ParquetLayout = "full"
	// ParquetNone: no Parquet part; the Arrow part alone.
	ParquetNone ParquetLayout = "none"
)

// ParquetLayouts lists the layouts in documentation order.
var ParquetLayouts = []ParquetLayout{ParquetMetadata, ParquetFull, ParquetNone}

// ParseParquetLayout reads a layout name; "" is the default.
func ParseParquetLayout(s string) (ParquetLayout, error) {
	if s == "" {
		return ParquetMetadata, nil
	}
	for _, l := range ParquetLayouts {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown parquet layout %q (want %s)", s, joinNames(ParquetLayouts))
}

// ParquetCompression names the codec of Parquet pages
// (output.parquet_compression, WriteOptions.ParquetCompression).
type ParquetCompression string

// parquetCodecs is the one table of compression names: codec and level.
// lz4 is Parquet's LZ4_RAW (the framed LZ4 codec is deprecated in the
// Parquet format and some readers reject it).
var parquetCodecs = []struct {
	name  ParquetCompression
	codec compress.Compression
	level int
}{
	{"zstd", compress.Codecs.Zstd, compress.DefaultCompressionLevel}, // zstd level 3
	{"zstd-fast", compress.Codecs.Zstd, 1},
	{"lz4", compress.Codecs.Lz4Raw, compress.DefaultCompressionLevel},
	{"snappy", compress.Codecs.Snappy, compress.DefaultCompressionLevel},
	{"none", compress.Codecs.Uncompressed, compress.DefaultCompressionLevel},
}

// ParquetCompressions lists the accepted names, the default first.
var ParquetCompressions = func() []ParquetCompression {
	var out []ParquetCompression
	for _, c := range parquetCodecs {
		out = append(out, c.name)
	}
	return out
}()

// ParseParquetCompression reads a compression name; "" is the default
// (zstd).
func ParseParquetCompression(s string) (ParquetCompression, error) {
	if s == "" {
		return parquetCodecs[0].name, nil
	}
	for _, c := range parquetCodecs {
		if string(c.name) == s {
			return c.name, nil
		}
	}
	return "", fmt.Errorf("unknown parquet compression %q (want %s)", s, joinNames(ParquetCompressions))
}

func (c ParquetCompression) codec() (compress.Compression, int) {
	for _, e := range parquetCodecs {
		if e.name == c {
			return e.codec, e.level
		}
	}
	return parquetCodecs[0].codec, parquetCodecs[0].level
}

func joinNames[T ~string](xs []T) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(x))
	}
	return b.String()
}

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

	// locImageType is imageType with the voxel bytes replaced by where
	// they live: the image struct of a "metadata" Parquet part.
	locImageType = arrow.StructOf(func() []arrow.Field {
		var fs []arrow.Field
		for i, f := range imageType.Fields() {
			if i == imVoxels {
				fs = append(fs, locFields...)
				continue
			}
			fs = append(fs, f)
		}
		return fs
	}()...)
	locImagesType = listOf(locImageType)
)

// locFields replace "voxels" in a "metadata" Parquet part, in this order.
// INVARIANT: the order matches the loc* constants and locationArrays.
var locFields = []arrow.Field{
	// voxel_file: the Arrow part holding the bytes, relative to the
	// manifest's folder.
	{Name: "voxel_file", Type: arrow.BinaryTypes.String},
	// voxel_row: the sample's row in that file (0-based, over all
	// record batches).
	{Name: "voxel_row", Type: arrow.PrimitiveTypes.Int64},
	// voxel_image: the image's index within the sample (0-based).
	{Name: "voxel_image", Type: arrow.PrimitiveTypes.Int32},
	// voxel_offset: the first byte of the voxels within the file, so a
	// reader without Arrow (numpy.memmap, a seek) can read them.
	{Name: "voxel_offset", Type: arrow.PrimitiveTypes.Int64},
	{Name: "voxel_bytes", Type: arrow.PrimitiveTypes.Int64},
	// voxel_sha256: hex SHA-256 of exactly the voxel_bytes bytes.
	{Name: "voxel_sha256", Type: arrow.BinaryTypes.String},
}

const (
	locFile = iota
	locRow
	locImage
	locOffset
	locBytes
	locSHA256
	numLocFields
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

// locSchema is the schema of a "metadata" Parquet part: schema with
// locImagesType as the images column.
var locSchema = func() *arrow.Schema {
	fs := schema.Fields()
	fs[colImages] = arrow.Field{Name: "images", Type: locImagesType}
	md := arrow.NewMetadata(
		[]string{MetaSchemaVersion, MetaVoxelLayout, MetaParquetLayout},
		[]string{strconv.Itoa(SchemaVersion), voxelLayoutDoc, string(ParquetMetadata)},
	)
	return arrow.NewSchema(fs, &md)
}()

// fullSchema is the schema of a "full" Parquet part: schema, with the
// layout named in its metadata.
var fullSchema = func() *arrow.Schema {
	md := arrow.NewMetadata(
		[]string{MetaSchemaVersion, MetaVoxelLayout, MetaParquetLayout},
		[]string{strconv.Itoa(SchemaVersion), voxelLayoutDoc, string(ParquetFull)},
	)
	return arrow.NewSchema(schema.Fields(), &md)
}()

// Schema returns the Arrow schema of shards of SchemaVersion (callers must
// not modify it).
func Schema() *arrow.Schema { return schema }

// ParquetSchema returns the Arrow schema of a Parquet part of layout l
// (nil for ParquetNone; callers must not modify it).
func ParquetSchema(l ParquetLayout) *arrow.Schema {
	switch l {
	case ParquetMetadata:
		return locSchema
	case ParquetFull:
		return fullSchema
	}
	return nil
}

// elem is the child field of every list column. It is named "element", as
// the Parquet LIST convention names it, so that a shard read back from
// Parquet by pyarrow, Polars or arrow-go has exactly this schema.
func elem(t arrow.DataType) arrow.Field { return arrow.Field{Name: "element", Type: t} }

func listOf(t arrow.DataType) *arrow.ListType { return arrow.ListOfField(elem(t)) }
