package pmc

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// testArticle is one real article (plus the synthetic case report) with the
// OA-list row a test server lists for it.
type testArticle struct {
	nxml, pmcid, license, citation string
}

var testArticles = []testArticle{
	{"../pmc/jats/testdata/pone.0046493.nxml", "PMC3460867", "CC BY", "PLoS One. 2012 Sep 28; 7(9):e46493"},
	{"../pmc/jats/testdata/pone.0000217.nxml", "PMC1790863", "CC BY", "PLoS One. 2007 Feb 14; 2(2):e217"},
	{"../pmc/jats/testdata/pntd.0002065.nxml", "PMC3585041", "CC BY", "PLoS Negl Trop Dis. 2013 Feb 28; 7(2):e2065"},
	{"../pmc/jats/testdata/1471-2180-11-174.nxml", "PMC3166277", "CC BY", "BMC Microbiol. 2011 Aug 2; 11:174"},
	{"../pmc/jats/testdata/ehp-116-1694.nxml", "PMC2599765", "CC0", "Environ Health Perspect. 2008 Dec; 116(12):1694-1699"},
	{"../pmc/jats/testdata/mds526.nxml", "PMC3574550", "CC BY-NC", "Ann Oncol. 2013 Mar; 24(3):843-850"},
	{"testdata/casereport.nxml", "PMC9000001", "CC0", "Medmd Synth Case Rep. 2024 Jan 1; 1:1"},
}

var hrefRe = regexp.MustCompile(`<graphic[^>]*xlink:href="([^"]+)"`)

// figureImage draws a small deterministic picture: RGB for even i, gray
// for odd i, so both decoder paths run.
func figureImage(t testing.TB, i int, asPNG bool) []byte {
	w, h := 40+i%5, 34+i%3
	var img image.Image
	if i%2 == 0 {
		rgb := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				rgb.Set(x, y, color.RGBA{uint8(x * 10), uint8(y * 15), uint8(i * 40), 255})
			}
		}
		img = rgb
	} else {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x, y, color.Gray{uint8((x + y) * 8)})
			}
		}
		img = g
	}
	var buf bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type member struct {
	name     string
	data     []byte
	typeflag byte
	linkname string
}

// buildPackage makes a PMC-style .tar.gz: folder PMCID/ with the article,
// a JPEG per figure graphic (a PNG for formula graphics with extensions),
// a supplementary PDF stand-in, and any extra members.
func buildPackage(t testing.TB, a testArticle, extra ...member) []byte {
	xml, err := os.ReadFile(a.nxml)
	if err != nil {
		t.Fatal(err)
	}
	dir := a.pmcid + "/"
	ms := []member{{name: dir + filepath.Base(a.nxml), data: xml}}
	for i, m := range hrefRe.FindAllSubmatch(xml, -1) {
		href := string(m[1])
		if ext := filepath.Ext(href); ext == ".jpg" || ext == ".png" || ext == ".gif" {
			ms = append(ms, member{name: dir + href, data: figureImage(t, i, true)})
			continue
		}
		ms = append(ms, member{name: dir + href + ".jpg", data: figureImage(t, i, false)})
	}
	ms = append(ms, member{name: dir + "supplement.pdf", data: []byte("%PDF-1.4 stand-in")})
	ms = append(ms, extra...)
	return tarGz(t, ms)
}

func tarGz(t testing.TB, ms []member) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		hdr := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: m.typeflag, Linkname: m.linkname}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write(m.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
