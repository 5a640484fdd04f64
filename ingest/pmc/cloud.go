package pmc

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medmd/medmd/ingest/storage"
)

// The PMC Cloud Service layout (the bucket's README.txt,
// https://pmc.ncbi.nlm.nih.gov/tools/cloud/): one folder per article
// version, PMC<id>.<v>/, holding PMC<id>.<v>.xml (JATS), .txt, .json
// (metadata), sometimes .pdf, and the media files under the publisher's
// names; the metadata again under metadata/PMC<id>.<v>.json; a daily S3
// Inventory of the metadata keys under InventoryPrefix.
const (
	// DefaultRoot is PMC's public bucket, read without credentials.
	DefaultRoot = "s3://pmc-oa-opendata?anonymous=true&region=us-east-1"
	// InventoryPrefix holds one folder per daily inventory,
	// <YYYY-MM-DDTHH-MMZ>/manifest.json, and their data files (kept 30 days).
	InventoryPrefix = "inventory-reports/pmc-oa-opendata/metadata/"
	metadataPrefix  = "metadata/"
)

// CloudMeta is an article version's metadata JSON (field names as PMC
// writes them). Object URLs are s3://pmc-oa-opendata/<key>?md5=<hex>.
type CloudMeta struct {
	PMCID           string          `json:"pmcid"`
	Version         int             `json:"version"`
	PMID            json.RawMessage `json:"pmid"`
	DOI             string          `json:"doi"`
	MID             string          `json:"mid"`
	Title           string          `json:"title"`
	Citation        string          `json:"citation"`
	IsOpenAccess    bool            `json:"is_pmc_openaccess"`
	IsManuscript    bool            `json:"is_manuscript"`
	IsHistoricalOCR bool            `json:"is_historical_ocr"`
	IsRetracted     bool            `json:"is_retracted"`
	// LicenseCode is "CC BY", "CC BY-NC-ND", "CC0", "TDM" (author
	// manuscripts) …, or null.
	LicenseCode *string  `json:"license_code"`
	XMLURL      string   `json:"xml_url"`
	TextURL     string   `json:"text_url"`
	PDFURL      string   `json:"pdf_url"`
	MediaURLs   []string `json:"media_urls"`
}

// pmidString renders the pmid, which PMC writes as a number (or null).
func (m *CloudMeta) pmidString() string {
	s := strings.Trim(string(m.PMID), `"`)
	if s == "null" {
		return ""
	}
	return s
}

// ObjectRef is an object named by a metadata URL: its key under the root
// and the MD5 the metadata promises ("" when the URL carries none).
type ObjectRef struct {
	Key string
	MD5 string
}

// ParseObjectURL reads s3://<bucket>/<key>?md5=<hex>. The bucket is
// dropped: objects are located under whatever root is configured, so a
// mirror of the bucket reads the same metadata.
func ParseObjectURL(s string) (ObjectRef, error) {
	u, err := url.Parse(s)
	if err != nil {
		return ObjectRef{}, err
	}
	if u.Scheme != "s3" || u.Host == "" {
		return ObjectRef{}, fmt.Errorf("object URL %q: want s3://bucket/key", s)
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" || strings.Contains(key, "..") {
		return ObjectRef{}, fmt.Errorf("object URL %q: bad key", s)
	}
	md := strings.ToLower(u.Query().Get("md5"))
	if md != "" && !isHex(md, 32) {
		return ObjectRef{}, fmt.Errorf("object URL %q: md5 %q is not 32 hex digits", s, md)
	}
	return ObjectRef{Key: key, MD5: md}, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// versionRec is one article version seen while planning, in 16 bytes, so
// PMC's ~8 million metadata keys plan in ~130 MB, and the whole plan of a
// run is these records (units are made a shard at a time). key packs the
// article id (high 32 bits), the version (next 16) and the day of the
// last modification (low 16: days since 1970, enough until 2149; since
// is a date, so a day is all it compares), so that one integer sorts by
// id, then version.
type versionRec struct {
	key   uint64
	stamp uint64 // first 8 bytes of the metadata's ETag (its MD5)
}

func makeVersionRec(id uint32, ver uint16, day uint16, stamp uint64) versionRec {
	return versionRec{key: uint64(id)<<32 | uint64(ver)<<16 | uint64(day), stamp: stamp}
}

func (r versionRec) id() uint32  { return uint32(r.key >> 32) }
func (r versionRec) ver() uint16 { return uint16(r.key >> 16) }
func (r versionRec) day() uint16 { return uint16(r.key) }

// unixDay is t's day since 1970-01-01 UTC, clamped to what a versionRec
// holds.
func unixDay(t time.Time) uint16 {
	return uint16(min(max(t.Unix(), 0)/86400, 1<<16-1))
}

// parseVersionKey returns the article id and version of a metadata key,
// metadata/PMC<id>.<v>.json. It is called once per inventory row, so it
// parses by hand and allocates nothing.
func parseVersionKey(key string) (id uint32, ver uint16, ok bool) {
	rest, found := strings.CutPrefix(key, metadataPrefix+"PMC")
	if !found {
		return 0, 0, false
	}
	rest, found = strings.CutSuffix(rest, ".json")
	if !found {
		return 0, 0, false
	}
	is, vs, found := strings.Cut(rest, ".")
	if !found {
		return 0, 0, false
	}
	i, err1 := strconv.ParseUint(is, 10, 32)
	v, err2 := strconv.ParseUint(vs, 10, 16)
	if err1 != nil || err2 != nil || i == 0 || is[0] == '+' || vs[0] == '+' {
		return 0, 0, false
	}
	return uint32(i), uint16(v), true
}

// etagStamp folds an ETag (quoted or not; a multipart ETag has a "-N"
// suffix) into 8 bytes that change when the object does.
func etagStamp(etag string) uint64 {
	etag = strings.Trim(etag, `"`)
	var b [16]byte
	if len(etag) != 32 {
		b = md5.Sum([]byte(etag))
	} else if _, err := hex.Decode(b[:], []byte(etag)); err != nil {
		b = md5.Sum([]byte(etag))
	}
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	if v == 0 {
		v = 1 // 0 means "no stamp"
	}
	return v
}

// InventoryManifest is an S3 Inventory manifest.json (the fields read).
type InventoryManifest struct {
	SourceBucket string `json:"sourceBucket"`
	FileFormat   string `json:"fileFormat"`
	// FileSchema names the CSV columns, e.g. "Bucket, Key, LastModifiedDate, ETag".
	FileSchema string `json:"fileSchema"`
	Files      []struct {
		Key         string `json:"key"`
		Size        int64  `json:"size"`
		MD5Checksum string `json:"MD5checksum"`
	} `json:"files"`
}

// latestInventory finds the newest manifest.json under InventoryPrefix
// (folder names are ISO timestamps, so the greatest key is the newest).
func latestInventory(ctx context.Context, st storage.Store) (string, error) {
	var best string
	err := st.List(ctx, InventoryPrefix, func(o storage.Object) error {
		rest := strings.TrimPrefix(o.Key, InventoryPrefix)
		if dir, f, ok := strings.Cut(rest, "/"); ok && f == "manifest.json" && inventoryDirRe.MatchString(dir) && o.Key > best {
			best = o.Key
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("no inventory manifest under %s%s", st.Root(), InventoryPrefix)
	}
	return best, nil
}

var inventoryDirRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d-\d\dZ$`)

// inventoryRow is one CSV row of an inventory data file.
type inventoryRow struct {
	Key, LastModified, ETag string
}

// readInventory streams every row of the inventory's data files to fn:
// each file is read through gzip and csv one record at a time, so an
// inventory of millions of keys never sits in memory.
func readInventory(ctx context.Context, st storage.Store, manifestKey string, fn func(inventoryRow) error) error {
	data, err := st.ReadAll(ctx, manifestKey, 16<<20)
	if err != nil {
		return err
	}
	var m InventoryManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", manifestKey, err)
	}
	if m.FileFormat != "" && !strings.EqualFold(m.FileFormat, "CSV") {
		return fmt.Errorf("%s: inventory format %q, want CSV", manifestKey, m.FileFormat)
	}
	col := map[string]int{}
	for i, c := range strings.Split(m.FileSchema, ",") {
		col[strings.TrimSpace(c)] = i
	}
	kc, ok := col["Key"]
	if !ok {
		return fmt.Errorf("%s: fileSchema %q has no Key column", manifestKey, m.FileSchema)
	}
	mc, hasMod := col["LastModifiedDate"]
	ec, hasETag := col["ETag"]
	for _, f := range m.Files {
		if err := readInventoryFile(ctx, st, f.Key, func(rec []string) error {
			if kc >= len(rec) {
				return fmt.Errorf("row of %d fields, want Key in field %d", len(rec), kc+1)
			}
			// S3 Inventory URL-encodes keys in CSV.
			key := rec[kc]
			if strings.Contains(key, "%") {
				if k, err := url.QueryUnescape(key); err == nil {
					key = k
				}
			}
			r := inventoryRow{Key: key}
			if hasMod && mc < len(rec) {
				r.LastModified = rec[mc]
			}
			if hasETag && ec < len(rec) {
				r.ETag = rec[ec]
			}
			return fn(r)
		}); err != nil {
			return fmt.Errorf("inventory %s: %w", f.Key, err)
		}
	}
	return nil
}

func readInventoryFile(ctx context.Context, st storage.Store, key string, fn func([]string) error) error {
	rc, err := st.NewReader(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(rc, 1<<16))
	if err != nil {
		return err
	}
	cr := csv.NewReader(zr)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

// planState collects article versions and what planning left out.
type planState struct {
	recs     []versionRec
	since    time.Time
	excluded map[string]int
	skipped  int // keys that are not metadata/PMC<id>.<v>.json
}

// Exclusion reasons of planning and reading, as the run summary counts
// them.
const (
	ReasonOlderVersion  = "pmc: older version"
	ReasonBeforeSince   = "pmc: not updated since"
	ReasonRetracted     = "pmc: retracted"
	ReasonNotOA         = "pmc: not open access"
	ReasonManuscript    = "pmc: author manuscript"
	ReasonHistoricalOCR = "pmc: historical OCR scan"
	ReasonLicence       = "pmc: licence not allowed"
	ReasonNoLicence     = "pmc: no licence code"
	ReasonJournal       = "pmc: journal not selected"
	ReasonFigureMD5     = "pmc: figure md5 mismatch"
	ReasonFigureMissing = "pmc: figure missing"
)

func (ps *planState) add(key, lastModified, etag string) error {
	id, ver, ok := parseVersionKey(key)
	if !ok {
		ps.skipped++
		return nil
	}
	var day uint16
	if lastModified != "" {
		t, err := time.Parse(time.RFC3339, lastModified)
		if err != nil {
			return fmt.Errorf("%s: last-modified %q: %w", key, lastModified, err)
		}
		day = unixDay(t)
	}
	ps.recs = append(ps.recs, makeVersionRec(id, ver, day, etagStamp(etag)))
	return nil
}

// latest sorts the versions and keeps the newest of each article, counting
// the older ones and, with a since date, the articles not updated since.
func (ps *planState) latest() []versionRec {
	slices.SortFunc(ps.recs, func(a, b versionRec) int { return cmp.Compare(a.key, b.key) })
	out := ps.recs[:0]
	since := unixDay(ps.since)
	for i, r := range ps.recs {
		if i+1 < len(ps.recs) && ps.recs[i+1].id() == r.id() {
			if ps.recs[i+1].ver() != r.ver() {
				ps.excluded[ReasonOlderVersion]++
			}
			continue
		}
		if !ps.since.IsZero() && r.day() < since {
			ps.excluded[ReasonBeforeSince]++
			continue
		}
		out = append(out, r)
	}
	ps.recs = nil
	return slices.Clip(out)
}

// versionFolder is "PMC<id>.<v>", the unit id and the article's folder.
func versionFolder(id uint32, ver uint16) string {
	return "PMC" + strconv.FormatUint(uint64(id), 10) + "." + strconv.FormatUint(uint64(ver), 10)
}

// splitVersionFolder parses "PMC<id>.<v>".
func splitVersionFolder(s string) (pmcid string, ver int, ok bool) {
	p, v, found := strings.Cut(s, ".")
	n, err := strconv.Atoi(v)
	if !found || err != nil || !strings.HasPrefix(p, "PMC") {
		return "", 0, false
	}
	return p, n, true
}

// errMD5 reports a checksum mismatch.
var errMD5 = errors.New("md5 mismatch")

// checkMD5 compares data with the metadata's md5 (none given: accepted).
func checkMD5(data []byte, want string) error {
	if want == "" {
		return nil
	}
	sum := md5.Sum(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("%w: got %s, metadata says %s", errMD5, got, want)
	}
	return nil
}

// mediaName is the file name of a media key (its last path element).
func mediaName(key string) string { return path.Base(key) }

// throttled reports whether reads under root count against the rate
// limit. The limit spares a shared service (NCBI asks clients to stay
// under a few requests a second); a local folder, a file:// mirror or an
// S3-compatible server on loopback (s3://…?endpoint=http://127.0.0.1:…)
// is no one else's, so throttling it would only slow a local run down.
// A root that does not parse is throttled: opening it fails anyway.
func throttled(root string) bool {
	bucketURL, local, err := storage.ParseRoot(root)
	if err != nil {
		return true
	}
	if local != "" {
		return false
	}
	u, err := url.Parse(bucketURL)
	if err != nil {
		return true
	}
	ep := u.Query().Get("endpoint")
	if ep == "" {
		return true
	}
	host := ep
	if e, err := url.Parse(ep); err == nil && e.Host != "" {
		host = e.Hostname()
	} else if h, _, err := net.SplitHostPort(ep); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
