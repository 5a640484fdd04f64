//go:build ignore

// make_mirror builds testdata/pmc-cloud: a small mirror of PMC's Cloud
// Service bucket (s3://pmc-oa-opendata) in its real key layout, made from
// the bundled article packages under testdata/pmc/oa_package.
//
// Run from the repository root:
//
//	go run testdata/pmc-cloud/make_mirror.go
//
// Output is deterministic (fixed times, gzip without name or time), so
// re-running it leaves the files unchanged. See README.md beside it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/medmd/medmd/ingest/pmc/jats"
)

const (
	out    = "testdata/pmc-cloud"
	bucket = "pmc-oa-opendata"
)

// version is one article version of the mirror and the metadata it gets.
type version struct {
	pkg                       string // package under testdata/pmc/oa_package (or "" for a synthetic article)
	pmcid                     string
	ver                       int
	pmid                      any
	citation                  string
	license                   any // string or nil (JSON null)
	oa, manuscript, retracted bool
	modified                  string // the metadata object's last-modified
	// namespaced serves the XML as OAI-PMH / eFetch do: a <pmc-articleset>
	// wrapper and the JATS 1.3 default namespace.
	namespaced bool
	// badMD5 names a media file whose metadata md5 is wrong.
	badMD5    string
	synthetic string // XML of a synthetic article
}

var versions = []version{
	{pkg: "63/08/PMC1790863", pmcid: "PMC1790863", ver: 1, pmid: 17299597, citation: "PLoS One. 2007 Feb 14; 2(2):e217", license: "CC BY", oa: true, modified: "2026-02-12T02:59:59.000Z"},
	{pkg: "65/97/PMC2599765", pmcid: "PMC2599765", ver: 1, pmid: 19079722, citation: "Environ Health Perspect. 2008 Dec; 116(12):1694-1699", license: nil, oa: true, modified: "2026-02-12T03:00:04.000Z"},
	{pkg: "77/62/PMC3166277", pmcid: "PMC3166277", ver: 1, pmid: 21810267, citation: "BMC Microbiol. 2011 Aug 2; 11:174", license: "CC BY", oa: true, modified: "2026-02-12T03:01:10.000Z"},
	{pkg: "77/62/PMC3166277", pmcid: "PMC3166277", ver: 2, pmid: 21810267, citation: "BMC Microbiol. 2011 Aug 2; 11:174", license: "CC BY", oa: true, modified: "2026-08-31T14:22:41.000Z"},
	{pkg: "67/08/PMC3460867", pmcid: "PMC3460867", ver: 1, pmid: 23029536, citation: "PLoS One. 2012 Sep 28; 7(9):e46493", license: "CC BY", oa: true, modified: "2026-02-12T03:02:00.000Z", namespaced: true, badMD5: "pone.0046493.g002.jpg"},
	{pkg: "50/45/PMC3574550", pmcid: "PMC3574550", ver: 1, pmid: 23149571, citation: "Ann Oncol. 2013 Mar; 24(3):843-850", license: "CC BY-NC", oa: true, modified: "2026-02-12T03:02:30.000Z"},
	{pkg: "41/50/PMC3585041", pmcid: "PMC3585041", ver: 1, pmid: 23469300, citation: "PLoS Negl Trop Dis. 2013 Feb 28; 7(2):e2065", license: "CC BY", oa: true, retracted: true, modified: "2026-03-03T09:12:00.000Z"},
	{pkg: "01/00/PMC9000001", pmcid: "PMC9000001", ver: 1, pmid: nil, citation: "Medmd Synth Case Rep. 2024 Jan 1; 1:1", license: "CC0", oa: true, modified: "2026-02-12T03:03:00.000Z"},
	{pmcid: "PMC9000002", ver: 1, pmid: nil, citation: "Medmd Synth Manuscr. 2024 Feb 1; 1:2", license: "TDM", manuscript: true, modified: "2026-02-12T03:03:30.000Z",
		synthetic: synthetic("PMC9000002", "manuscript", "Chest radiograph findings in a synthetic cohort (author manuscript)")},
	{pmcid: "PMC9000003", ver: 1, pmid: nil, citation: "Medmd Synth Rev. 2024 Mar 1; 1:3", license: "CC BY-ND", oa: false, modified: "2026-02-12T03:04:00.000Z",
		synthetic: synthetic("PMC9000003", "review-article", "A synthetic review outside the open-access subset")},
}

// inventories: the older one predates PMC3166277.2.
var inventories = []struct {
	dir, uuid string
	skip      string
}{
	{"2026-08-31T01-00Z", "0b7d2f4e-6c1a-4e53-9d3e-1f2a3b4c5d6e", "PMC3166277.2"},
	{"2026-09-01T01-00Z", "8c0d9b16-1216-4159-8ef3-ce544d9337a3", ""},
}

func synthetic(pmcid, typ, title string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and Interchange DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">
<article xmlns:xlink="http://www.w3.org/1999/xlink" article-type="` + typ + `" dtd-version="1.3">
<front><journal-meta><journal-title-group><journal-title>Medmd Synthetic</journal-title></journal-title-group></journal-meta>
<article-meta><article-id pub-id-type="pmc">` + strings.TrimPrefix(pmcid, "PMC") + `</article-id>
<title-group><article-title>` + title + `</article-title></title-group>
<pub-date pub-type="epub"><year>2024</year></pub-date></article-meta></front>
<body><sec><title>Introduction</title><p>This synthetic article was written for medmd's tests; it describes no patient.</p></sec></body>
</article>
`
}

type meta struct {
	PMCID       string   `json:"pmcid"`
	Version     int      `json:"version"`
	PMID        any      `json:"pmid"`
	DOI         any      `json:"doi"`
	MID         any      `json:"mid"`
	Title       string   `json:"title"`
	Citation    string   `json:"citation"`
	OA          bool     `json:"is_pmc_openaccess"`
	Manuscript  bool     `json:"is_manuscript"`
	HistoricOCR bool     `json:"is_historical_ocr"`
	Retracted   bool     `json:"is_retracted"`
	LicenseCode any      `json:"license_code"`
	XMLURL      string   `json:"xml_url"`
	TextURL     string   `json:"text_url"`
	PDFURL      any      `json:"pdf_url"`
	MediaURLs   []string `json:"media_urls"`
}

var (
	doctypeRe = regexp.MustCompile(`(?s)<!DOCTYPE[^>]*>\s*`)
	xmlDeclRe = regexp.MustCompile(`^<\?xml[^>]*\?>\s*`)
	articleRe = regexp.MustCompile(`<article(\s|>)`)
)

func main() {
	if err := os.RemoveAll(out + "/metadata"); err != nil {
		log.Fatal(err)
	}
	for _, d := range []string{"inventory-reports"} {
		os.RemoveAll(filepath.Join(out, d))
	}
	matches, _ := filepath.Glob(filepath.Join(out, "PMC*"))
	for _, m := range matches {
		os.RemoveAll(m)
	}
	etags := map[string]string{}
	for _, v := range versions {
		folder := fmt.Sprintf("%s.%d", v.pmcid, v.ver)
		var xml []byte
		media := map[string][]byte{}
		if v.pkg != "" {
			xml, media = readPackage(filepath.Join("testdata/pmc/oa_package", v.pkg+".tar.gz"))
		} else {
			xml = []byte(v.synthetic)
		}
		if v.namespaced {
			s := xmlDeclRe.ReplaceAllString(string(xml), "")
			s = doctypeRe.ReplaceAllString(s, "")
			s = articleRe.ReplaceAllString(s, `<article xmlns="https://jats.nlm.nih.gov/ns/archiving/1.3/"$1`)
			xml = []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<pmc-articleset>" + s + "</pmc-articleset>\n")
		}
		art, err := jats.Parse(xml, jats.Options{})
		if err != nil {
			log.Fatalf("%s: %v", folder, err)
		}
		m := meta{PMCID: v.pmcid, Version: v.ver, PMID: v.pmid, Title: art.Title, Citation: v.citation,
			OA: v.oa, Manuscript: v.manuscript, Retracted: v.retracted, LicenseCode: v.license, MediaURLs: []string{}}
		if art.DOI != "" {
			m.DOI = art.DOI
		}
		put := func(name string, data []byte) string {
			key := folder + "/" + name
			write(key, data)
			sum := md5.Sum(data)
			return "s3://" + bucket + "/" + key + "?md5=" + hex.EncodeToString(sum[:])
		}
		m.XMLURL = put(folder+".xml", xml)
		m.TextURL = put(folder+".txt", []byte(art.Title+"\n\n"+art.BodyText+"\n"))
		names := make([]string, 0, len(media))
		for n := range media {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			u := put(n, media[n])
			if n == v.badMD5 {
				// The metadata promises other bytes than the object holds.
				bad := md5.Sum(append([]byte("not "), media[n]...))
				u = u[:strings.Index(u, "?md5=")] + "?md5=" + hex.EncodeToString(bad[:])
			}
			m.MediaURLs = append(m.MediaURLs, u)
		}
		js, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			log.Fatal(err)
		}
		js = append(js, '\n')
		write(folder+"/"+folder+".json", js)
		write("metadata/"+folder+".json", js)
		sum := md5.Sum(js)
		etags[folder] = hex.EncodeToString(sum[:])
	}
	for i, inv := range inventories {
		var csv bytes.Buffer
		for _, v := range versions {
			folder := fmt.Sprintf("%s.%d", v.pmcid, v.ver)
			if folder == inv.skip {
				continue
			}
			// Every field quoted, as S3 Inventory writes CSV.
			fmt.Fprintf(&csv, "%q,%q,%q,%q\n", bucket, "metadata/"+folder+".json", v.modified, etags[folder])
		}
		gz := gzipBytes(csv.Bytes())
		dataKey := "inventory-reports/" + bucket + "/metadata/data/" + inv.uuid + ".csv.gz"
		write(dataKey, gz)
		sum := md5.Sum(gz)
		man := map[string]any{
			"sourceBucket":      bucket,
			"destinationBucket": "arn:aws:s3:::" + bucket,
			"version":           "2016-11-30",
			"creationTimestamp": fmt.Sprint(1788224400000 + int64(i)*86400000),
			"fileFormat":        "CSV",
			"fileSchema":        "Bucket, Key, LastModifiedDate, ETag",
			"files":             []map[string]any{{"key": dataKey, "size": len(gz), "MD5checksum": hex.EncodeToString(sum[:])}},
		}
		js, _ := json.MarshalIndent(man, "", "  ")
		write("inventory-reports/"+bucket+"/metadata/"+inv.dir+"/manifest.json", append(js, '\n'))
	}
}

// readPackage returns a bundled package's article XML and its images.
func readPackage(p string) ([]byte, map[string][]byte) {
	f, err := os.Open(p)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var xml []byte
	media := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasSuffix(h.Name, ".nxml") {
			xml = b
		} else {
			media[path.Base(h.Name)] = b
		}
	}
	return xml, media
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func write(key string, data []byte) {
	p := filepath.Join(out, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
