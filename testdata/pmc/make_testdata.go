//go:build ignore

// make_testdata builds the bundled PMC sample corpus input: an OA file list
// and one PMC-style package (.tar.gz: PMCID/ folder with the article .nxml
// and a generated image for every <graphic>) per article.
//
// Run from the repository root:
//
//	go run testdata/pmc/make_testdata.go
//
// Output is deterministic (fixed tar times, no gzip name or time), so
// re-running it leaves the files unchanged.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

type article struct {
	nxml, pmcid, pmid, license, citation, updated string
}

// The OA-list rows: citations and PMIDs as PMC lists them; EHP carries no
// CC code in the list (its article says public domain), the case report is
// synthetic.
var articles = []article{
	{"ingest/pmc/jats/testdata/pone.0000217.nxml", "PMC1790863", "17299597", "CC BY", "PLoS One. 2007 Feb 14; 2(2):e217", "2021-03-02 10:15:31"},
	{"ingest/pmc/jats/testdata/ehp-116-1694.nxml", "PMC2599765", "19079722", "NO-CC CODE", "Environ Health Perspect. 2008 Dec; 116(12):1694-1699", "2020-11-20 08:01:12"},
	{"ingest/pmc/jats/testdata/1471-2180-11-174.nxml", "PMC3166277", "21810267", "CC BY", "BMC Microbiol. 2011 Aug 2; 11:174", "2019-05-14 16:42:07"},
	{"ingest/pmc/jats/testdata/pone.0046493.nxml", "PMC3460867", "23029536", "CC BY", "PLoS One. 2012 Sep 28; 7(9):e46493", "2022-08-09 12:00:00"},
	{"ingest/pmc/jats/testdata/mds526.nxml", "PMC3574550", "23149571", "CC BY-NC", "Ann Oncol. 2013 Mar; 24(3):843-850", "2018-02-01 09:30:00"},
	{"ingest/pmc/jats/testdata/pntd.0002065.nxml", "PMC3585041", "23469300", "CC BY", "PLoS Negl Trop Dis. 2013 Feb 28; 7(2):e2065", "2023-01-17 11:11:11"},
	{"ingest/pmc/testdata/casereport.nxml", "PMC9000001", "", "CC0", "Medmd Synth Case Rep. 2024 Jan 1; 1:1", "2024-01-01 00:00:00"},
}

var hrefRe = regexp.MustCompile(`<graphic[^>]*xlink:href="([^"]+)"`)

// picture draws a grayscale "scan": a disc (the lesion) on a gradient,
// different per figure so images differ.
func picture(seed int, rgb bool) image.Image {
	w, h := 96, 72
	cx, cy, rad := 30+seed*7%40, 25+seed*5%25, 10+seed%8
	gray := image.NewGray(image.Rect(0, 0, w, h))
	col := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(40 + x + y/2)
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) < rad*rad {
				v = 230
			}
			gray.SetGray(x, y, color.Gray{v})
			col.Set(x, y, color.RGBA{v, uint8(int(v) * 3 / 4), uint8(seed * 30), 255})
		}
	}
	if rgb {
		return col
	}
	return gray
}

func main() {
	out := "testdata/pmc"
	var list bytes.Buffer
	cw := csv.NewWriter(&list)
	cw.Write([]string{"File", "Article Citation", "Accession ID", "Last Updated (YYYY-MM-DD HH:MM:SS)", "PMID", "License"})
	for _, a := range articles {
		xml, err := os.ReadFile(a.nxml)
		if err != nil {
			log.Fatal(err)
		}
		dir := a.pmcid + "/"
		type member struct {
			name string
			data []byte
		}
		ms := []member{{dir + filepath.Base(a.nxml), xml}}
		for i, m := range hrefRe.FindAllSubmatch(xml, -1) {
			href := string(m[1])
			var buf bytes.Buffer
			switch strings.ToLower(filepath.Ext(href)) {
			case ".gif", ".png":
				png.Encode(&buf, picture(i, false))
			case ".jpg":
				jpeg.Encode(&buf, picture(i, false), &jpeg.Options{Quality: 60})
			default: // PMC-style extension-less href: ship the web JPEG
				jpeg.Encode(&buf, picture(i, i%2 == 1), &jpeg.Options{Quality: 60})
				href += ".jpg"
			}
			ms = append(ms, member{dir + href, buf.Bytes()})
		}
		var tgz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&tgz, gzip.BestCompression)
		tw := tar.NewWriter(zw)
		mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime})
		for _, m := range ms {
			if err := tw.WriteHeader(&tar.Header{Name: m.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(m.data)), ModTime: mtime}); err != nil {
				log.Fatal(err)
			}
			tw.Write(m.data)
		}
		tw.Close()
		zw.Close()
		rel := fmt.Sprintf("oa_package/%s/%s/%s.tar.gz", a.pmcid[len(a.pmcid)-2:], a.pmcid[len(a.pmcid)-4:len(a.pmcid)-2], a.pmcid)
		p := filepath.Join(out, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, tgz.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
		cw.Write([]string{rel, a.citation, a.pmcid, a.updated, a.pmid, a.license})
	}
	cw.Flush()
	if err := os.WriteFile(filepath.Join(out, "oa_file_list.csv"), list.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
