// Package datasets reads the public labelled radiology datasets (VQA-RAD,
// SLAKE, PMC-VQA, MIMIC-CXR, ChestX-ray14, CheXpert, CheXpert Plus,
// VinDr-CXR, Radiopaedia cases in RadFM's release, MedPix 2.0 and RadFM's
// MedPix CSVs, and Hugging Face Parquet copies of the VQA sets) in the
// layouts their publishers distribute, and turns each into instruction
// samples: modality recognition, diagnosis, VQA, report generation and
// rationale.
//
// Each dataset is one file registering one source with ingest.RegisterSource.
// They share the row plumbing below, the instruction templates
// (templates.yaml, see templates.go) and the yes/no balancing (balance.go).
//
// Planning reads only the index files (CSV, JSON, report text is read at
// Read time): one unit per row or per image, so that a malformed row is
// quarantined on its own with its file and row number, never taking its
// neighbours with it.
package datasets

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

// RowError reports one bad row of an index file. Row is the 1-based line
// number for CSV files (the header is line 1) and the 1-based entry number
// for JSON lists.
type RowError struct {
	File   string
	Row    int
	Reason string
	Err    error // the underlying error, when Reason describes one
}

func (e *RowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Row, e.Reason) }

func (e *RowError) Unwrap() error { return e.Err }

// imageError is the error of a row whose image could not be read; it wraps
// err so the run can classify it (ingest.QuarantineClass).
func imageError(file string, row int, err error) *RowError {
	return &RowError{File: file, Row: row, Reason: "image: " + err.Error(), Err: err}
}

// rowErrorf builds a *RowError.
func rowErrorf(file string, row int, format string, args ...any) *RowError {
	return &RowError{File: file, Row: row, Reason: fmt.Sprintf(format, args...)}
}

// badUnit is the Data of a unit planned from a malformed row: Read returns
// Err, so the runner quarantines exactly that row.
type badUnit struct{ Err error }

// errUnit makes the unit for a malformed row.
func errUnit(id string, paths []string, err error) ingest.Unit {
	return ingest.Unit{ID: id, Paths: paths, Data: badUnit{err}}
}

// options are the parameters every dataset source shares.
type options struct {
	Root        string
	SampleRatio float64
	MaxPerLabel int
	YesNo       bool
	Seed        string
	Position    string
	License     string
}

// Names of the shared parameters.
const (
	pRoot        = "root"
	pSampleRatio = "sample_ratio"
	pMaxPerLabel = "max_per_label"
	pYesNo       = "yes_no"
	pSeed        = "seed"
	pPosition    = "image_position"
	pLicense     = "license"
	pTemplates   = "templates"
)

// commonFields returns the shared parameter declarations; example is the
// dataset's usual root folder, license its licence.
func commonFields(example, license string, labelled bool) []ingest.Field {
	f := []ingest.Field{
		{Name: pRoot, Type: ingest.TypeString, Required: true,
			Description: "folder holding the dataset exactly as its publisher distributes it (relative to the pipelines file), or the same tree in object storage (s3://bucket/prefix, gs://…, azblob://…)",
			Example:     example},
		{Name: pSampleRatio, Type: ingest.TypeFloat, Default: 1.0,
			Description: "per-source down-sampling: keep this fraction of rows (0 < r ≤ 1), chosen by a hash of the row id so reruns keep the same rows",
			Example:     "0.2"},
		{Name: pSeed, Type: ingest.TypeString, Default: "",
			Description: "salt for template choice, negative sampling and down-sampling; changing it reshuffles deterministically",
			Example:     "v2"},
		{Name: pPosition, Type: ingest.TypeString, Default: "start", Enum: []string{"start", "end", "mixed"},
			Description: "where images sit in the instruction: before the text, after it, or either (chosen by a hash of the sample id)",
			Example:     "mixed"},
		{Name: pLicense, Type: ingest.TypeString, Default: license,
			Description: "licence recorded on every sample, as an SPDX identifier (other text becomes LicenseRef-…)", Example: license},
		{Name: pTemplates, Type: ingest.TypeString, Default: "",
			Description: "instruction templates YAML replacing the built-in templates.yaml (same set names)",
			Example:     "my-templates.yaml"},
	}
	if labelled {
		f = append(f,
			ingest.Field{Name: pMaxPerLabel, Type: ingest.TypeInt, Default: 0,
				Description: "class balancing: keep at most this many rows per label (rows ranked by hash; a row is kept while any of its labels is under the cap); 0 keeps all",
				Example:     "5000"},
			ingest.Field{Name: pYesNo, Type: ingest.TypeBool, Default: true,
				Description: "also emit yes/no questions, balanced per label, negatives drawn from rows without that label",
				Example:     "false"})
	}
	return f
}

// parseOptions reads the shared parameters.
func parseOptions(p ingest.Params, baseDir string) (options, error) {
	o := options{
		Root:        p.String(pRoot),
		SampleRatio: p.Float(pSampleRatio),
		MaxPerLabel: p.Int(pMaxPerLabel),
		YesNo:       p.Bool(pYesNo),
		Seed:        p.String(pSeed),
		Position:    p.String(pPosition),
		License:     shards.SPDXLicense(p.String(pLicense)),
	}
	if _, ok := p[pYesNo]; !ok {
		o.YesNo = true
	}
	if _, ok := p[pSampleRatio]; !ok {
		o.SampleRatio = 1
	}
	if o.Root == "" {
		return o, errors.New("root: required")
	}
	root, err := rootName(o.Root, baseDir)
	if err != nil {
		return o, fmt.Errorf("root: %w", err)
	}
	o.Root = root
	if o.SampleRatio <= 0 || o.SampleRatio > 1 || math.IsNaN(o.SampleRatio) {
		return o, fmt.Errorf("sample_ratio: %v not in (0, 1]", o.SampleRatio)
	}
	if o.MaxPerLabel < 0 {
		return o, fmt.Errorf("max_per_label: %d is negative", o.MaxPerLabel)
	}
	switch o.Position {
	case "":
		o.Position = "start"
	case "start", "end", "mixed":
	default:
		return o, fmt.Errorf("image_position: %q is not start, end or mixed", o.Position)
	}
	return o, nil
}

// newBuilder parses the shared options and templates of a source.
func newBuilder(source string, p ingest.Params, baseDir string) (*builder, error) {
	o, err := parseOptions(p, baseDir)
	if err != nil {
		return nil, err
	}
	t, err := loadTemplates(p.String(pTemplates), baseDir)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return &builder{source: source, opts: o, tmpl: t, fs: &tree{root: p.String(pRoot)}}, nil
}

// hash64 is the deterministic hash behind every seeded choice (template,
// negatives, down-sampling). FNV-1a: cheap enough to rank a million rows.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	// FNV's low bits mix poorly for short inputs; finish with a splitmix step.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keep reports whether a row survives down-sampling.
func (o *options) keep(id string) bool {
	if o.SampleRatio >= 1 {
		return true
	}
	return float64(hash64(o.Seed, "keep", id)>>11)/float64(1<<53) < o.SampleRatio
}

// group hashes a public case or image id (Radiopaedia and MedPix case
// numbers, VQA-RAD/SLAKE case keys, VinDr image ids) for Sample.Group. The
// dataset name is part of the hash so that case "1" of two datasets do not
// collide. The hash is unkeyed on purpose: these ids are published. Patient
// ids go through patientGroup instead.
func group(dataset, id string) string {
	if id == "" {
		return ""
	}
	return shards.HashString(dataset + ":" + id)
}

// patientGroup pseudonymises a patient or subject id (MIMIC-CXR subject,
// CheXpert and ChestX-ray14 patient) for Sample.Group with shards.Pseudonym:
// a keyed HMAC when MEDMD_PSEUDONYM_KEY is set, so short ids cannot be
// recovered by hashing every candidate; without a key the same plain
// SHA-256 as group, so corpora built before the key keep their groups.
// Image SourcePaths carry the same ids through pseudonymisePath.
func patientGroup(dataset, id string) string {
	if id == "" {
		return ""
	}
	return shards.Pseudonym("patient", dataset+":"+id)
}

// csvTable is a parsed CSV index file: its header and rows with their line
// numbers.
type csvTable struct {
	File   string // path as given (for messages)
	Header []string
	Rows   []csvRow
	col    map[string]int
}

type csvRow struct {
	Line   int
	Fields []string
	Err    error // set for a row the CSV parser rejected
}

// maxIndexBytes bounds an index file read into memory (MIMIC-CXR's split
// CSV is ~15 MB, ChestX-ray14's ~8 MB; 2 GiB is far beyond any of them).
const maxIndexBytes = 2 << 30

// openMaybeGzip opens path, transparently gunzipping a .gz file.
func (t *tree) openMaybeGzip(ctx context.Context, path string) (io.ReadCloser, error) {
	f, err := t.openFile(ctx, path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// readCSV reads a whole CSV file. A row the CSV parser rejects (bad quoting,
// wrong field count) is kept with Err set so it is quarantined on its own;
// only an unreadable file or header fails the whole call.
func (t *tree) readCSV(ctx context.Context, path string, comma rune) (*csvTable, error) {
	rc, err := t.openMaybeGzip(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	r := csv.NewReader(bufio.NewReader(io.LimitReader(rc, maxIndexBytes)))
	r.Comma = comma
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	tb := &csvTable{File: path, col: map[string]int{}}
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	tb.Header = header
	for i, h := range header {
		if _, dup := tb.col[h]; !dup {
			tb.col[h] = i
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				tb.Rows = append(tb.Rows, csvRow{Line: pe.StartLine, Err: rowErrorf(path, pe.StartLine, "%v", pe.Err)})
				continue
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		row := csvRow{Line: line, Fields: rec}
		if len(rec) < len(header) {
			// Trailing empty columns are sometimes omitted; more than that is a
			// broken row.
			row.Err = rowErrorf(path, line, "%d fields, header has %d", len(rec), len(header))
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb, nil
}

// has reports whether the header has column name.
func (t *csvTable) has(name string) bool { _, ok := t.col[name]; return ok }

// require checks that the header has every named column.
func (t *csvTable) require(names ...string) error {
	var missing []string
	for _, n := range names {
		if !t.has(n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: header lacks column(s) %s (has %s)", t.File, strings.Join(missing, ", "), strings.Join(t.Header, ","))
	}
	return nil
}

// get returns column name of row r, trimmed; "" if absent.
func (t *csvTable) get(r csvRow, name string) string {
	i, ok := t.col[name]
	if !ok || i >= len(r.Fields) {
		return ""
	}
	return strings.TrimSpace(r.Fields[i])
}

// relPath returns path relative to root for stable unit ids and messages;
// path itself when it is not under root.
func relPath(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return filepath.ToSlash(path)
}

// safeJoin joins a dataset-supplied relative path under dir, refusing
// absolute paths and paths that climb out of dir.
func safeJoin(dir, rel string) (string, error) {
	rel = filepath.FromSlash(strings.TrimSpace(rel))
	if rel == "" {
		return "", errors.New("empty image path")
	}
	if filepath.IsAbs(rel) {
		return "", fmt.Errorf("image path %q is absolute", rel)
	}
	clean := filepath.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("image path %q leaves the dataset folder", rel)
	}
	return joinPath(dir, clean), nil
}

// splitFromName maps a file or folder name to a split: train, val, test or
// "" when the name says nothing.
func splitFromName(name string) string {
	n := strings.ToLower(filepath.Base(name))
	switch {
	case strings.Contains(n, "train"):
		return "train"
	case strings.Contains(n, "valid"), strings.Contains(n, "val."), strings.HasPrefix(n, "val"), strings.Contains(n, "dev"):
		return "val"
	case strings.Contains(n, "test"):
		return "test"
	}
	return ""
}

// modalityCode maps a dataset's modality name ("MRI", "CT - noncontrast",
// "X-Ray", "US - Ultrasound", "XR - Plain Film"…) to the DICOM code stored
// on images; "" when the name is not a recognisable imaging modality.
func modalityCode(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch {
	case n == "":
		return ""
	case strings.HasPrefix(n, "PET"):
		return "PT"
	case strings.HasPrefix(n, "CT"), strings.Contains(n, "COMPUTED TOMOGRAPHY"):
		return "CT"
	case strings.HasPrefix(n, "MR"), strings.Contains(n, "MAGNETIC RESONANCE"):
		return "MR"
	case strings.HasPrefix(n, "US"), strings.Contains(n, "ULTRASOUND"):
		return "US"
	case strings.HasPrefix(n, "MAMMO"):
		return "MG"
	case strings.HasPrefix(n, "NM"), strings.Contains(n, "NUCLEAR"), strings.HasPrefix(n, "SPECT"):
		return "NM"
	case strings.HasPrefix(n, "AN "), strings.HasPrefix(n, "AN-"), strings.Contains(n, "ANGIOGRAM"):
		return "XA"
	case strings.HasPrefix(n, "X-RAY"), strings.HasPrefix(n, "XRAY"), strings.HasPrefix(n, "XR"),
		strings.Contains(n, "PLAIN FILM"), strings.Contains(n, "RADIOGRAPH"):
		return "DX"
	}
	return ""
}

// imageRows admits the rows of an image-per-row label table (ChestX-ray14's
// Data_Entry, CheXpert's train/valid CSVs) one at a time. A row is skipped
// when its key (the image column, or the row's id when that is empty) is
// not this run's (keep); it is quarantined, as a unit appended to bad, for
// a CSV error, an image named twice (seen maps each image met, across
// files, to its line) or an empty image column.
type imageRows struct {
	file, rel string // the table's path, and as the row ids name it
	col       string // the image column
	keep      func(string) bool
	seen      map[string]int
	bad       *[]ingest.Unit
}

// admit returns row r's image and id, and whether to read it.
func (g imageRows) admit(t *csvTable, r csvRow) (name, id string, ok bool) {
	id = g.rel + ":" + strconv.Itoa(r.Line)
	name = t.get(r, g.col)
	key := name
	if key == "" {
		key = id
	}
	if !g.keep(key) {
		return "", "", false
	}
	var err error
	first, dup := g.seen[key]
	switch {
	case dup && name != "":
		err = rowErrorf(g.file, r.Line, "duplicate image %s (first at line %d)", key, first)
	case r.Err != nil:
		err = r.Err
	case name == "":
		err = rowErrorf(g.file, r.Line, "no %s", g.col)
	}
	if !dup {
		g.seen[key] = r.Line
	}
	if err != nil {
		*g.bad = append(*g.bad, errUnit(id, []string{g.file}, err))
		return "", "", false
	}
	return name, id, true
}
