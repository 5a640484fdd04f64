package nifti

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/medmd/medmd/ingest"
	"github.com/medmd/medmd/shards"
)

func newTestSource(t *testing.T, p ingest.Params) *Source {
	t.Helper()
	full := ingest.Params{"volumes_4d": "first", "max_voxels": DefaultMaxVoxels, "modality": "", "task": "modality",
		"instruction": "What imaging modality is shown in this image?", "group_by": "file", "license": ""}
	for k, v := range p {
		full[k] = v
	}
	src, err := newSource(full, ".")
	if err != nil {
		t.Fatal(err)
	}
	return src.(*Source)
}

func TestSourcePlan(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"files", []string{"testdata/standard.nii.gz", "testdata/anatomical.nii"}, []string{"testdata/anatomical.nii", "testdata/standard.nii.gz"}},
		{"glob", []string{"testdata/derived/anat_pair*.hdr*"}, []string{"testdata/derived/anat_pair.hdr", "testdata/derived/anat_pairgz.hdr.gz"}},
		{"dedupe", []string{"testdata/standard.nii.gz", "testdata/standard.nii.gz"}, []string{"testdata/standard.nii.gz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			units, err := newTestSource(t, ingest.Params{"paths": tc.paths}).Plan(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range units {
				got = append(got, u.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A folder: every NIfTI file, sorted, .img files folded into their .hdr.
	units, err := newTestSource(t, ingest.Params{"paths": []string{"testdata"}}).Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(units) != len(loadGolden(t)) {
		t.Fatalf("planned %d units, golden has %d files", len(units), len(loadGolden(t)))
	}
	for i, u := range units {
		if i > 0 && units[i-1].ID >= u.ID {
			t.Fatalf("not sorted: %s then %s", units[i-1].ID, u.ID)
		}
		if strings.HasSuffix(u.ID, ".img") || strings.HasSuffix(u.ID, ".img.gz") {
			t.Fatalf("unit %s is an .img", u.ID)
		}
		if u.ID == "testdata/derived/anat_pair.hdr" && (len(u.Paths) != 2 || u.Bytes != 348+67650) {
			t.Fatalf("pair unit %+v", u)
		}
	}
	if _, err := newTestSource(t, ingest.Params{"paths": []string{"testdata/nope*.nii"}}).Plan(ctx); err == nil {
		t.Fatal("empty glob should fail")
	}
}

func TestSourceRead(t *testing.T) {
	src := newTestSource(t, ingest.Params{"paths": []string{"testdata/small_25.nii.gz"}, "volumes_4d": "all", "modality": "MR", "group_by": "dir"})
	units, err := src.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := src.Read(ctx, units[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 26 {
		t.Fatalf("%d samples, want 26", len(samples))
	}
	sum, _ := hashFiles("testdata/small_25.nii.gz")
	seen := map[string]bool{}
	for v, s := range samples {
		if s.ID != shards.MakeID("nifti", sum, strconv.Itoa(v)) {
			t.Errorf("sample %d id %s", v, s.ID)
		}
		if seen[s.ID] {
			t.Fatalf("duplicate id %s", s.ID)
		}
		seen[s.ID] = true
		im := s.Images[0]
		if s.Task != "modality" || s.Response != "MRI" || s.Group != "nifti:testdata" || im.Modality != "MR" ||
			im.SourceSHA256 != sum || im.SourcePath != "testdata/small_25.nii.gz" || len(s.Placements) != 1 {
			t.Fatalf("sample %d: %+v", v, s)
		}
	}
	// Same input ⇒ same samples.
	again, _ := src.Read(ctx, units[0])
	if !reflect.DeepEqual(again, samples) {
		t.Fatal("reading twice differs")
	}
	// Unknown modality: empty response, group = file stem, first volume only.
	src = newTestSource(t, ingest.Params{"paths": []string{"testdata/small_25.nii.gz"}})
	samples, err = src.Read(ctx, units[0])
	if err != nil || len(samples) != 1 || samples[0].Response != "" || samples[0].Group != "nifti:testdata/small_25" {
		t.Fatalf("%v %+v", err, samples)
	}
}

func TestSourceSpecRegistered(t *testing.T) {
	for _, s := range ingest.SourceSpecs() {
		if s.Name == "nifti" {
			return
		}
	}
	t.Fatal("nifti source not registered")
}

func TestInspect(t *testing.T) {
	head := func(p string) []byte {
		b, _ := os.ReadFile(p)
		return b[:min(len(b), 1024)]
	}
	if !Sniff("x.bin", head("testdata/anatomical.nii")) || !Sniff("y.nii.gz", nil) || Sniff("z.txt", []byte("hello")) {
		t.Fatal("sniff")
	}
	tests := []struct{ file, orient, format, dtype string }{
		{"testdata/anatomical.nii", "LAS", "nifti1", "int16"},
		{"testdata/small_64D.nii", "PLS", "nifti1", "int16"},
		{"testdata/derived/nifti2_be_4d.nii", "LAS", "nifti2", "float32"},
		{"testdata/derived/anat_pairgz.hdr.gz", "LAS", "nifti1", "int16"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := inspect(ctx, tc.file, ingest.InspectOptions{JSON: true}, &buf); err != nil {
			t.Fatal(err)
		}
		var s Summary
		if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		if s.Orientation != tc.orient || s.Format != tc.format || s.OutputDType != tc.dtype || s.ReadError != "" {
			t.Errorf("%s: %+v", tc.file, s)
		}
		buf.Reset()
		if err := inspect(ctx, tc.file, ingest.InspectOptions{}, &buf); err != nil || !strings.Contains(buf.String(), "orientation "+tc.orient) {
			t.Errorf("%s: %v\n%s", tc.file, err, buf.String())
		}
	}
	// A header whose voxels are missing still inspects, with the reason.
	dir := t.TempDir()
	b, _ := os.ReadFile("testdata/anatomical.nii")
	p := filepath.Join(dir, "cut.nii")
	os.WriteFile(p, b[:1000], 0o644)
	var buf bytes.Buffer
	if err := inspect(ctx, p, ingest.InspectOptions{JSON: true}, &buf); err != nil || !strings.Contains(buf.String(), "read_error") {
		t.Fatalf("%v %s", err, buf.String())
	}
}
