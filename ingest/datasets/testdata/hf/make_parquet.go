//go:build ignore

// make_parquet writes the Hugging Face Parquet fixtures under
// ingest/datasets/testdata/hf/: the column layout the datasets library
// writes for an Image feature (a struct of bytes and path) beside string
// columns, with the file names of the uploads (data/<split>-NNNNN-of-NNNNN
// [-hash].parquet). Images are the fixtures' own VQA-RAD and SLAKE files,
// embedded as bytes. Run from the repository root:
//
//	go run ingest/datasets/testdata/hf/make_parquet.go
package main

import (
	"encoding/json"
	"log"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const td = "ingest/datasets/testdata"

type row struct {
	image    string // fixture file embedded as the image bytes ("" for junk bytes)
	path     string // image.path as uploaded (often null: "")
	question string
	answer   string
	extra    map[string]string
}

func main() {
	vqa := filepath.Join(td, "vqa-rad/VQA_RAD Image Folder")
	// flaviagiammarino/vqa-rad: image, question, answer.
	vqaCols := []string{"question", "answer"}
	write("hf/vqa-rad/data/train-00000-of-00001-eb8844602202be60.parquet", vqaCols, []row{
		{image: filepath.Join(vqa, "synpic54610.jpg"), question: "are regions of the brain infarcted?", answer: "yes"},
		{image: filepath.Join(vqa, "synpic54610.jpg"), question: "which side of the brain is abnormal?", answer: "right"},
		{image: filepath.Join(vqa, "synpic29265.jpg"), question: "is this a ct scan?", answer: "yes"},
	})
	write("hf/vqa-rad/data/test-00000-of-00001-e5bc3d208bb4deeb.parquet", vqaCols, []row{
		{image: filepath.Join(vqa, "synpic29265.jpg"), question: "what organ is shown?", answer: "brain"},
		{image: "", question: "is there a fracture?", answer: "no"},
	})
	// SLAKE English mirror (mdwiratathya/SLAKE-vqa-english): image,
	// question, answer; one row has an empty answer.
	slake := filepath.Join(td, "slake/SLAKE/imgs")
	write("hf/slake/data/train-00000-of-00002.parquet", vqaCols, []row{
		{image: filepath.Join(slake, "xmlab1/source.jpg"), question: "What modality is used to take this image?", answer: "MRI"},
		{image: filepath.Join(slake, "xmlab1/source.jpg"), question: "Which part of the body does this image belong to?", answer: ""},
	})
	write("hf/slake/data/train-00001-of-00002.parquet", vqaCols, []row{
		{image: filepath.Join(slake, "xmlab2/source.jpg"), question: "Is this a CT image?", answer: "Yes"},
	})
	write("hf/slake/data/validation-00000-of-00001.parquet", vqaCols, []row{
		{image: filepath.Join(slake, "xmlab2/source.jpg"), question: "Where is the abnormality?", answer: "Left Lung"},
	})
	write("hf/slake/data/test-00000-of-00001.parquet", vqaCols, []row{
		{image: filepath.Join(slake, "xmlab1/source.jpg"), question: "Does the picture contain liver?", answer: "No"},
	})
}

func write(rel string, cols []string, rows []row) {
	imgType := arrow.StructOf(
		arrow.Field{Name: "bytes", Type: arrow.BinaryTypes.Binary, Nullable: true},
		arrow.Field{Name: "path", Type: arrow.BinaryTypes.String, Nullable: true})
	fields := []arrow.Field{{Name: "image", Type: imgType, Nullable: true}}
	feats := map[string]any{"image": map[string]string{"_type": "Image"}}
	for _, c := range cols {
		fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
		feats[c] = map[string]string{"dtype": "string", "_type": "Value"}
	}
	// The datasets library records its features in the "huggingface"
	// schema metadata key.
	hf, _ := json.Marshal(map[string]any{"info": map[string]any{"features": feats}})
	schema := arrow.NewSchema(fields, func() *arrow.Metadata {
		m := arrow.NewMetadata([]string{"huggingface"}, []string{string(hf)})
		return &m
	}())
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	sb := b.Field(0).(*array.StructBuilder)
	for _, r := range rows {
		sb.Append(true)
		data := []byte("not an image")
		if r.image != "" {
			var err error
			if data, err = os.ReadFile(r.image); err != nil {
				log.Fatal(err)
			}
		}
		sb.FieldBuilder(0).(*array.BinaryBuilder).Append(data)
		if r.path == "" {
			sb.FieldBuilder(1).(*array.StringBuilder).AppendNull()
		} else {
			sb.FieldBuilder(1).(*array.StringBuilder).Append(r.path)
		}
		vals := map[string]string{"question": r.question, "answer": r.answer}
		for i, c := range cols {
			b.Field(i + 1).(*array.StringBuilder).Append(vals[c])
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	out := filepath.Join(td, rel)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithCreatedBy("medmd fixture"))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
}
