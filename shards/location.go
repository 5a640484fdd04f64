package shards

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// voxelColumn returns the voxels child of a shard record batch's images.
func voxelColumn(rec arrow.RecordBatch) *array.LargeBinary {
	images := rec.Column(colImages).(*array.List)
	return images.ListValues().(*array.Struct).Field(imVoxels).(*array.LargeBinary)
}

// locationRecord returns rec as a row of a "metadata" Parquet part: the
// same columns, with each image's voxel bytes replaced by where they lie
// in the Arrow part: file name, row (firstRow + the row in rec), image
// index, byte offset (voxOffset is where rec's voxel buffer starts in the
// file), length and SHA-256 (sums, one per image). Every column but the
// new location fields shares rec's buffers: nothing is copied. The caller
// releases the result.
func locationRecord(rec arrow.RecordBatch, file string, firstRow, voxOffset int64, sums []string) arrow.RecordBatch {
	images := rec.Column(colImages).(*array.List)
	st := images.ListValues().(*array.Struct)
	vox := st.Field(imVoxels).(*array.LargeBinary)
	mem := memory.DefaultAllocator

	fileB := array.NewStringBuilder(mem)
	rowB := array.NewInt64Builder(mem)
	imgB := array.NewInt32Builder(mem)
	offB := array.NewInt64Builder(mem)
	lenB := array.NewInt64Builder(mem)
	shaB := array.NewStringBuilder(mem)
	builders := [numLocFields]array.Builder{locFile: fileB, locRow: rowB, locImage: imgB, locOffset: offB, locBytes: lenB, locSHA256: shaB}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	imOff := images.Offsets()
	var voxOff []int64
	if vox.Len() > 0 {
		voxOff = vox.ValueOffsets()
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		for j := int(imOff[r]); j < int(imOff[r+1]); j++ {
			fileB.Append(file)
			rowB.Append(firstRow + int64(r))
			imgB.Append(int32(j - int(imOff[r])))
			offB.Append(voxOffset + voxOff[j] - voxOff[0])
			lenB.Append(voxOff[j+1] - voxOff[j])
			shaB.Append(sums[j])
		}
	}
	var release []arrow.Array
	defer func() {
		for _, a := range release {
			a.Release()
		}
	}()
	children := make([]arrow.ArrayData, 0, numImFields-1+numLocFields)
	for f := 0; f < numImFields; f++ {
		if f != imVoxels {
			children = append(children, st.Field(f).Data())
			continue
		}
		for _, b := range builders {
			a := b.NewArray()
			release = append(release, a)
			children = append(children, a.Data())
		}
	}
	structData := array.NewData(locImageType, st.Len(), []*memory.Buffer{nil}, children, 0, 0)
	defer structData.Release()
	ld := images.Data()
	listData := array.NewData(locImagesType, images.Len(), ld.Buffers(), []arrow.ArrayData{structData}, 0, ld.Offset())
	defer listData.Release()
	locImages := array.MakeFromData(listData)
	defer locImages.Release()
	cols := make([]arrow.Array, numCols)
	for c := range cols {
		cols[c] = rec.Column(c)
	}
	cols[colImages] = locImages
	return array.NewRecordBatch(locSchema, cols, rec.NumRows())
}
