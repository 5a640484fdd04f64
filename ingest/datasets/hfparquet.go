package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/normalize"
	"github.com/medmd/medmd/shards"
)

// Hugging Face copies of the VQA datasets (flaviagiammarino/vqa-rad, SLAKE
// mirrors such as mdwiratathya/SLAKE-vqa-english) hold the images inside
// Parquet files: data/<split>-NNNNN-of-NNNNN[-hash].parquet with an image
// column in the datasets library's Image layout (a struct of bytes and
// path) beside question and answer strings; some mirrors add the original
// JSON's columns (qid, img_name, q_lang, modality, answer_type, …), which
// are kept as sample meta. The split is the file name's prefix.
//
// Planning reads only the text columns; Read reads the image bytes of one
// row group at a time and keeps the last few, so the rows of a row group
// (planned and read in order) decode it once.

// hfDataFolder is where the datasets library's uploads keep their files.
const hfDataFolder = "data"

// hfLayout names the layout in layout errors.
const hfLayout = "data/*.parquet (Hugging Face Parquet upload)"

// findHFParquet lists root's data/*.parquet files in name order.
func (t *tree) findHFParquet(ctx context.Context, root string) []string {
	files, _ := t.glob(ctx, joinPath(root, hfDataFolder, "*.parquet"))
	slices.Sort(files)
	return files
}

// hfSplit maps an upload's file name (train-00000-of-00001.parquet,
// validation-…, test-…) to a split.
func hfSplit(file string) string {
	name := filepath.Base(file)
	prefix, _, _ := strings.Cut(name, "-")
	switch prefix {
	case "train":
		return "train"
	case "validation", "valid", "val", "dev":
		return "val"
	case "test":
		return "test"
	}
	return splitFromName(name)
}

// hfParquet reads a Hugging Face Parquet upload of a VQA dataset as vqa
// samples.
type hfParquet struct {
	b       *builder
	dataset string
	// langs keeps the rows whose q_lang is listed (when the column exists
	// and langs is not empty).
	langs []string
	cache rowGroupCache
}

// hfRow is one planned row: where its image bytes are and its sample.
type hfRow struct {
	File     string // absolute path of the Parquet file
	Row      int    // 1-based row in the file (for messages)
	RowGroup int
	Index    int // row within its row group
	ImgPath  string
	Modality string
	Sample   draft
}

// hfColumns are the text columns read at plan time, beyond question and
// answer, kept as meta when present.
var hfColumns = []string{"qid", "img_name", "img_id", "q_lang", "location", "modality", "answer_type",
	"content_type", "base_type", "question_type", "phrase_type"}

func (h *hfParquet) plan(ctx context.Context, files []string) ([]ingest.Unit, error) {
	var units []ingest.Unit
	for _, f := range files {
		u, err := h.planFile(ctx, f)
		if err != nil {
			return nil, err
		}
		units = append(units, u...)
	}
	return units, nil
}

// openParquet opens one Parquet file for Arrow reads. The caller closes the
// returned *file.Reader.
func (t *tree) openParquet(ctx context.Context, path string) (*file.Reader, *pqarrow.FileReader, error) {
	ra, err := t.readerAt(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	// rdr.Close closes a local file; an object needs no closing.
	rdr, err := file.NewParquetReader(ra)
	if err != nil {
		if c, ok := ra.(io.Closer); ok {
			c.Close()
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		rdr.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return rdr, fr, nil
}

func (h *hfParquet) planFile(ctx context.Context, path string) ([]ingest.Unit, error) {
	rdr, fr, err := h.b.fs.openParquet(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	sc := rdr.MetaData().Schema
	rel := relPath(h.b.opts.Root, path)
	need := map[string]int{}
	for _, c := range []string{"image.bytes", "question", "answer"} {
		if need[c] = sc.ColumnIndexByName(c); need[c] < 0 {
			var have []string
			for i := 0; i < sc.NumColumns(); i++ {
				have = append(have, sc.Column(i).ColumnPath().String())
			}
			return nil, fmt.Errorf("%s: no column %q (has %s); want the datasets library's Image column (image.bytes) with question and answer",
				rel, c, strings.Join(have, ", "))
		}
	}
	names := []string{"question", "answer"}
	if i := sc.ColumnIndexByName("image.path"); i >= 0 {
		names = append(names, "image.path")
	}
	for _, c := range hfColumns {
		if sc.ColumnIndexByName(c) >= 0 {
			names = append(names, c)
		}
	}
	var idx []int
	for _, n := range names {
		idx = append(idx, sc.ColumnIndexByName(n))
	}
	// Row-group boundaries, to find a row's image at Read time, and each
	// group's bytes per row, for the unit sizes progress and sharding use.
	var groupStart []int
	var rowBytes []int64
	start := 0
	for g := 0; g < rdr.NumRowGroups(); g++ {
		rg := rdr.MetaData().RowGroup(g)
		groupStart = append(groupStart, start)
		rowBytes = append(rowBytes, rg.TotalCompressedSize()/max(rg.NumRows(), 1))
		start += int(rg.NumRows())
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer rr.Release()
	split := hfSplit(path)
	var units []ingest.Unit
	row := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		cols := map[string]arrow.Array{}
		for i := range names {
			cols[rec.ColumnName(i)] = rec.Column(i)
		}
		// A nested image.path comes back as the struct "image".
		pathCol := hfStructField(cols["image"], "path")
		for i := 0; i < int(rec.NumRows()); i++ {
			row++
			id := rel + ":" + strconv.Itoa(row)
			text := func(name string) string { return strings.TrimSpace(hfText(cols[name], i)) }
			if lang := text("q_lang"); lang != "" && len(h.langs) > 0 && !slices.Contains(h.langs, lang) {
				continue
			}
			if !h.b.opts.keep(id) {
				continue
			}
			q, a := text("question"), text("answer")
			var rerr error
			switch {
			case q == "":
				rerr = rowErrorf(rel, row, "no question")
			case a == "":
				rerr = rowErrorf(rel, row, "no answer")
			}
			if rerr != nil {
				units = append(units, errUnit(id, []string{path}, rerr))
				continue
			}
			g := slices.IndexFunc(groupStart, func(s int) bool { return s > row-1 }) - 1
			if g < 0 {
				g = len(groupStart) - 1
			}
			imgPath := strings.TrimSpace(hfText(pathCol, i))
			if imgPath == "" {
				imgPath = text("img_name")
			}
			meta := map[string]string{"row": id}
			for _, c := range hfColumns {
				if v := text(c); v != "" {
					meta[c] = v
				}
			}
			if imgPath != "" {
				meta["image_path"] = imgPath
			}
			r := &hfRow{File: path, Row: row, RowGroup: g, Index: row - 1 - groupStart[g], ImgPath: imgPath,
				Modality: modalityCode(text("modality")),
				Sample: draft{Task: shards.TaskVQA, Set: "vqa", Vars: map[string]string{"question": q}, Response: a,
					Split: split, Key: []string{rel, strconv.Itoa(row), q, a}, Meta: meta}}
			units = append(units, ingest.Unit{ID: id, Paths: []string{path}, Bytes: rowBytes[g], Data: r})
		}
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return units, nil
}

// hfStructField returns the named child of a struct array, or nil.
func hfStructField(a arrow.Array, name string) arrow.Array {
	s, ok := a.(*array.Struct)
	if !ok {
		return nil
	}
	if i, ok := s.DataType().(*arrow.StructType).FieldIdx(name); ok {
		return s.Field(i)
	}
	return nil
}

// hfText is row i of a string, integer or boolean column as text; "" for
// null or another type.
func hfText(a arrow.Array, i int) string {
	if a == nil || i >= a.Len() || a.IsNull(i) {
		return ""
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Int64:
		return strconv.FormatInt(c.Value(i), 10)
	case *array.Int32:
		return strconv.FormatInt(int64(c.Value(i)), 10)
	case *array.Boolean:
		return yesNoWord(c.Value(i))
	}
	return ""
}

func yesNoWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (h *hfParquet) read(ctx context.Context, r *hfRow) ([]shards.Sample, error) {
	rel := relPath(h.b.opts.Root, r.File)
	imgs, err := h.cache.get(ctx, h.b.fs, r.File, r.RowGroup)
	if err != nil {
		return nil, imageError(rel, r.Row, err)
	}
	if r.Index >= len(imgs) || imgs[r.Index] == nil {
		return nil, rowErrorf(rel, r.Row, "no image bytes")
	}
	data := imgs[r.Index]
	// Dataset images are whole radiographs and slices: no figure-size or
	// aspect filtering, only the pixel-count bound.
	im, err := normalize.DecodeImage(data, normalize.Image2DOptions{MinSize: -1, MaxAspect: -1, MaxPixels: maxPixels})
	if err != nil {
		return nil, imageError(rel, r.Row, err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	im.SourcePath = rel + ":" + strconv.Itoa(r.Row)
	if r.ImgPath != "" {
		im.SourcePath += ":" + r.ImgPath
	}
	im.SourceSHA256 = sha
	if im.Modality == "" {
		im.Modality = r.Modality
	}
	if im.Affine == ([16]float64{}) {
		im.Affine = shards.IdentityAffine()
	}
	d := r.Sample
	d.Images = []shards.Image{im}
	// The uploads drop the case ids: questions about the same image (same
	// bytes) form one group so splits never cut them; an img_name folder
	// (SLAKE's xmlabN) groups a source image with its derived files.
	key := "sha256:" + sha
	if n := r.Sample.Meta["img_name"]; n != "" && strings.Contains(n, "/") {
		key = filepath.ToSlash(filepath.Dir(n))
	}
	d.Group = group(h.dataset, key)
	return h.b.buildAll([]draft{d})
}

// rowGroupCache keeps the image bytes of the last few row groups read, so
// that the rows of one row group decode its image column once. Safe for
// concurrent use.
type rowGroupCache struct {
	mu    sync.Mutex
	order []rgKey
	data  map[rgKey][][]byte
}

type rgKey struct {
	file string
	rg   int
}

// rowGroupCacheSize bounds the row groups held: one per worker is enough for
// rows read in plan order.
const rowGroupCacheSize = 8

// get returns the image bytes of each row of one row group (nil for a null
// image). The slices are owned by the cache and must not be modified.
func (c *rowGroupCache) get(ctx context.Context, t *tree, path string, rg int) ([][]byte, error) {
	k := rgKey{path, rg}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.data[k]; ok {
		return d, nil
	}
	d, err := t.readImageColumn(ctx, path, rg)
	if err != nil {
		return nil, err
	}
	if c.data == nil {
		c.data = map[rgKey][][]byte{}
	}
	if len(c.order) >= rowGroupCacheSize {
		delete(c.data, c.order[0])
		c.order = c.order[1:]
	}
	c.order = append(c.order, k)
	c.data[k] = d
	return d, nil
}

// readImageColumn reads image.bytes of one row group, copying each value out
// of the Arrow buffers so the table can be released.
func (t *tree) readImageColumn(ctx context.Context, path string, rg int) ([][]byte, error) {
	rdr, fr, err := t.openParquet(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rdr.Close()
	ci := rdr.MetaData().Schema.ColumnIndexByName("image.bytes")
	if ci < 0 {
		return nil, fmt.Errorf("no column image.bytes")
	}
	if n := rdr.MetaData().RowGroup(rg).TotalByteSize(); n > maxImageFileBytes {
		return nil, fmt.Errorf("row group %d holds %d bytes, over the %d-byte limit", rg, n, int64(maxImageFileBytes))
	}
	tbl, err := fr.ReadRowGroups(ctx, []int{ci}, []int{rg})
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	var out [][]byte
	for _, chunk := range tbl.Column(0).Data().Chunks() {
		col := hfStructField(chunk, "bytes")
		for i := 0; i < chunk.Len(); i++ {
			var v []byte
			switch b := col.(type) {
			case *array.Binary:
				if b.IsValid(i) && !chunk.IsNull(i) {
					v = slices.Clone(b.Value(i))
				}
			case *array.LargeBinary:
				if b.IsValid(i) && !chunk.IsNull(i) {
					v = slices.Clone(b.Value(i))
				}
			default:
				return nil, fmt.Errorf("image.bytes is %s, want binary", chunk.DataType())
			}
			out = append(out, v)
		}
	}
	return out, nil
}
