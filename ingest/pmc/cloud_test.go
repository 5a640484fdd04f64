package pmc

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/ingest/storage"
	"github.com/medmd/medmd/normalize"
)

const mirror = "../../testdata/pmc-cloud"

// s3Mirror serves testdata/pmc-cloud from an S3-compatible server on the
// loopback interface (real S3 HTTP, read through the AWS SDK gocloud uses)
// and returns its root URL.
func s3Mirror(t *testing.T) string {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket("pmc-oa-opendata"); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(mirror, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(mirror, p)
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, "PMC") && !strings.HasPrefix(key, "metadata/") && !strings.HasPrefix(key, "inventory-reports/") {
			return nil // the README and the generator are not part of the bucket
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = be.PutObject("pmc-oa-opendata", key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return "s3://pmc-oa-opendata?endpoint=" + srv.URL + "&region=us-east-1&use_path_style=true&anonymous=true&disable_https=true"
}

func cloudParams(root string, extra ingest.Params) ingest.Params {
	p := ingest.Params{
		"layout": LayoutCloud, "root": root, "plan_from": PlanInventory,
		"licences": DefaultLicences, "max_images_inline": 3, "max_images_case": 8,
		"max_image_pixels": 1 << 20, "min_image_size": 32, "max_image_aspect": 10.0,
		"retries": 2, "concurrency": 4, "max_member_bytes": 64 << 20,
		"emit": []string{EmitOA, EmitInline, EmitCaseReport},
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// outcome is what reading one unit gave.
type outcome struct {
	samples int
	drop    string   // DropError reason
	parts   []string // Partial reasons
	err     error
}

func readOutcomes(t *testing.T, src ingest.Source, units []ingest.Unit) map[string]outcome {
	t.Helper()
	out := map[string]outcome{}
	for _, u := range units {
		ss, err := src.Read(context.Background(), u)
		o := outcome{samples: len(ss)}
		var drop *normalize.DropError
		var part *ingest.Partial
		switch {
		case errors.As(err, &drop):
			o.drop = drop.Reason
		case errors.As(err, &part):
			for _, p := range part.Parts {
				o.parts = append(o.parts, p.Reason)
			}
		default:
			o.err = err
		}
		out[u.ID] = o
	}
	return out
}

func unitIDs(units []ingest.Unit) []string {
	var ids []string
	for _, u := range units {
		ids = append(ids, u.ID)
	}
	return ids
}

var wantLatest = []string{"PMC1790863.1", "PMC2599765.1", "PMC3166277.2", "PMC3460867.1", "PMC3574550.1", "PMC3585041.1", "PMC9000001.1", "PMC9000002.1", "PMC9000003.1"}

// TestCloudMirror plans and reads the mirror from a folder, a file:// URL
// and the S3 server, and checks every exclusion the PMC Cloud metadata
// can cause.
func TestCloudMirror(t *testing.T) {
	abs, _ := filepath.Abs(mirror)
	roots := map[string]string{"folder": mirror, "file URL": "file://" + filepath.ToSlash(abs), "s3": s3Mirror(t)}
	for name, root := range roots {
		t.Run(name, func(t *testing.T) {
			src, err := newSource(cloudParams(root, nil), ".")
			if err != nil {
				t.Fatal(err)
			}
			units, err := src.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := unitIDs(units); !slices.Equal(got, wantLatest) {
				t.Fatalf("planned %v, want %v", got, wantLatest)
			}
			if ex := src.(*Source).PlanExcluded(); ex[ReasonOlderVersion] != 1 || len(ex) != 1 {
				t.Errorf("plan exclusions %v, want one older version", ex)
			}
			got := readOutcomes(t, src, units)
			want := map[string]outcome{
				"PMC1790863.1": {samples: 4},
				"PMC2599765.1": {drop: ReasonNoLicence},
				"PMC3166277.2": {samples: 5},
				"PMC3460867.1": {samples: 4, parts: []string{ReasonFigureMD5}},
				"PMC3574550.1": {drop: ReasonLicence},
				"PMC3585041.1": {drop: ReasonRetracted},
				"PMC9000001.1": {samples: 4},
				"PMC9000002.1": {drop: ReasonManuscript},
				"PMC9000003.1": {drop: ReasonNotOA},
			}
			for id, w := range want {
				g := got[id]
				if g.err != nil || g.drop != w.drop || !slices.Equal(g.parts, w.parts) || (w.samples > 0) != (g.samples > 0) {
					t.Errorf("%s: got %+v, want %+v", id, g, w)
				}
			}
		})
	}
}

// TestCloudOptions: what the options let through.
func TestCloudOptions(t *testing.T) {
	tests := []struct {
		name  string
		extra ingest.Params
		id    string
		want  string // "" = read without error or drop
	}{
		{"noncommercial reads CC BY-NC", ingest.Params{"noncommercial": true}, "PMC3574550.1", ""},
		{"unlicensed judges a null code by the article's licence", ingest.Params{"unlicensed": true}, "PMC2599765.1", ReasonLicence},
		{"unlicensed reads a null code when the article's licence is listed", ingest.Params{"unlicensed": true, "licences": []string{"CC BY", "CC0", "public domain"}}, "PMC2599765.1", ""},
		{"manuscripts reads TDM author manuscripts", ingest.Params{"manuscripts": true}, "PMC9000002.1", ""},
		{"manuscripts keeps non-OA out", ingest.Params{"manuscripts": true}, "PMC9000003.1", ReasonNotOA},
		{"journals", ingest.Params{"journals": []string{"PLoS One"}}, "PMC9000001.1", ReasonJournal},
		{"licences CC0 only", ingest.Params{"licences": []string{"CC0"}}, "PMC1790863.1", ReasonLicence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := newSource(cloudParams(mirror, tc.extra), ".")
			if err != nil {
				t.Fatal(err)
			}
			got := readOutcomes(t, src, []ingest.Unit{{ID: tc.id}})[tc.id]
			if got.err != nil || got.drop != tc.want {
				t.Errorf("%s: %+v, want drop %q", tc.id, got, tc.want)
			}
		})
	}
}

// TestCloudPlanning: listing, pmcids, an older inventory, since.
func TestCloudPlanning(t *testing.T) {
	tests := []struct {
		name  string
		extra ingest.Params
		want  []string
		excl  map[string]int
	}{
		{"listing", ingest.Params{"plan_from": PlanListing}, wantLatest, map[string]int{ReasonOlderVersion: 1}},
		{"pmcids", ingest.Params{"pmcids": []string{"3166277", "PMC9000001", "PMC123"}}, []string{"PMC3166277.2", "PMC9000001.1"}, map[string]int{ReasonOlderVersion: 1}},
		{"older inventory", ingest.Params{"inventory": "2026-08-31T01-00Z"},
			[]string{"PMC1790863.1", "PMC2599765.1", "PMC3166277.1", "PMC3460867.1", "PMC3574550.1", "PMC3585041.1", "PMC9000001.1", "PMC9000002.1", "PMC9000003.1"}, map[string]int{}},
		{"since", ingest.Params{"since": "2026-03-01"}, []string{"PMC3166277.2", "PMC3585041.1"}, map[string]int{ReasonOlderVersion: 1, ReasonBeforeSince: 7}},
		{"max_articles", ingest.Params{"max_articles": 2}, wantLatest[:2], map[string]int{ReasonOlderVersion: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := newSource(cloudParams(mirror, tc.extra), ".")
			if err != nil {
				t.Fatal(err)
			}
			units, err := src.Plan(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := unitIDs(units); !slices.Equal(got, tc.want) {
				t.Errorf("planned %v, want %v", got, tc.want)
			}
			ex := src.(*Source).PlanExcluded()
			for k, v := range tc.excl {
				if ex[k] != v {
					t.Errorf("excluded %v, want %v", ex, tc.excl)
				}
			}
			for _, u := range units {
				if u.Stamp == 0 {
					t.Errorf("%s: no stamp", u.ID)
				}
			}
		})
	}
}

// corrupt serves the mirror with one object's bytes changed.
type corrupt struct {
	storage.Store
	key string
}

func (c corrupt) ReadAll(ctx context.Context, key string, limit int64) ([]byte, error) {
	b, err := c.Store.ReadAll(ctx, key, limit)
	if err == nil && key == c.key {
		b = append([]byte("<!-- changed -->"), b...)
	}
	return b, err
}

// TestCloudXMLChecksum: an article whose XML fails its md5 is bad input
// (quarantined by the runner), named with the key and both sums.
func TestCloudXMLChecksum(t *testing.T) {
	b, err := storage.Open(context.Background(), mirror, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cloud{Store: corrupt{b, "PMC1790863.1/PMC1790863.1.xml"}}
	_, err = c.Read(context.Background(), ingest.Unit{ID: "PMC1790863.1"}, Filter{Licences: DefaultLicences}, SampleOptions{OA: true})
	if !errors.Is(err, errMD5) || !strings.Contains(err.Error(), "PMC1790863.1/PMC1790863.1.xml") {
		t.Fatalf("err %v, want an md5 mismatch naming the XML", err)
	}
	// A missing article version is an error naming the key.
	_, err = c.Read(context.Background(), ingest.Unit{ID: "PMC1.1"}, Filter{}, SampleOptions{})
	if !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("err %v, want ErrNotExist", err)
	}
}

func TestParseObjectURL(t *testing.T) {
	tests := []struct {
		in      string
		want    ObjectRef
		wantErr bool
	}{
		{"s3://pmc-oa-opendata/PMC1.2/a-g001.jpg?md5=0123456789abcdef0123456789ABCDEF", ObjectRef{"PMC1.2/a-g001.jpg", "0123456789abcdef0123456789abcdef"}, false},
		{"s3://pmc-oa-opendata/PMC1.2/PMC1.2.xml", ObjectRef{"PMC1.2/PMC1.2.xml", ""}, false},
		{"https://pmc-oa-opendata.s3.amazonaws.com/PMC1.2/PMC1.2.xml", ObjectRef{}, true},
		{"s3://pmc-oa-opendata/../etc/passwd", ObjectRef{}, true},
		{"s3://pmc-oa-opendata/PMC1.2/x.jpg?md5=zz", ObjectRef{}, true},
	}
	for _, tc := range tests {
		got, err := ParseObjectURL(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseVersionKey(t *testing.T) {
	tests := []struct {
		key string
		id  uint32
		ver uint16
		ok  bool
	}{
		{"metadata/PMC3166277.2.json", 3166277, 2, true},
		{"metadata/PMC1.1.json", 1, 1, true},
		{"PMC3166277.2/PMC3166277.2.json", 0, 0, false},
		{"metadata/PMC3166277.json", 0, 0, false},
		{"metadata/PMC+1.1.json", 0, 0, false},
		{"metadata/PMC0.1.json", 0, 0, false},
		{"metadata/PMC99999999999.1.json", 0, 0, false},
		{"metadata/PMC12.x.json", 0, 0, false},
	}
	for _, tc := range tests {
		id, ver, ok := parseVersionKey(tc.key)
		if id != tc.id || ver != tc.ver || ok != tc.ok {
			t.Errorf("%s: %d %d %v, want %d %d %v", tc.key, id, ver, ok, tc.id, tc.ver, tc.ok)
		}
	}
}

// TestThrottled: the rate limit applies to remote roots only.
func TestThrottled(t *testing.T) {
	tests := []struct {
		root string
		want bool
	}{
		{DefaultRoot, true},
		{"https://pmc-oa-opendata.s3.amazonaws.com/", true},
		{"s3://mirror?endpoint=https://minio.example.org:9000&use_path_style=true", true},
		{"gs://a-mirror", true},
		{"testdata/pmc-cloud", false},
		{"/data/pmc-cloud", false},
		{"file:///data/pmc-cloud", false},
		{"s3://pmc-oa-opendata?endpoint=http://127.0.0.1:9000&use_path_style=true", false},
		{"s3://pmc-oa-opendata?endpoint=http://localhost:9000", false},
		{"s3://pmc-oa-opendata?endpoint=http://[::1]:9000", false},
		{"ftp://example.org/pmc", true},
	}
	for _, tc := range tests {
		if got := throttled(tc.root); got != tc.want {
			t.Errorf("throttled(%q) = %v, want %v", tc.root, got, tc.want)
		}
	}
}

// TestCloudLicences: a sample records the exact SPDX identifier when the
// article's XML names a versioned Creative Commons URL of the family
// PMC's license_code gives, and PMC's versionless LicenseRef otherwise.
func TestCloudLicences(t *testing.T) {
	tests := []struct {
		id    string
		extra ingest.Params
		want  string
	}{
		{"PMC3166277.2", nil, "CC-BY-2.0"},                                     // license_code CC BY, <license xlink:href=".../by/2.0">
		{"PMC3574550.1", ingest.Params{"noncommercial": true}, "CC-BY-NC-3.0"}, // CC BY-NC, .../by-nc/3.0
		{"PMC9000001.1", nil, "CC0-1.0"},                                       // CC0, .../publicdomain/zero/1.0/
		{"PMC3460867.1", nil, "LicenseRef-PMC-CC-BY"},                          // CC BY, <license> without a URL
		{"PMC1790863.1", nil, "LicenseRef-PMC-CC-BY"},                          // CC BY, no <license>
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			src, err := newSource(cloudParams(mirror, tc.extra), ".")
			if err != nil {
				t.Fatal(err)
			}
			samples, err := src.Read(context.Background(), ingest.Unit{ID: tc.id})
			var partial *ingest.Partial
			if err != nil && !errors.As(err, &partial) {
				t.Fatal(err)
			}
			if len(samples) == 0 {
				t.Fatal("no samples")
			}
			for _, s := range samples {
				if s.License != tc.want {
					t.Errorf("%s %s: licence %q, want %q", s.Source, s.ID, s.License, tc.want)
				}
			}
		})
	}
}
